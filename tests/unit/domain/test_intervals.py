from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.domain.errors import InvalidInput
from desktop.domain.intervals import (
    format_interval,
    parse_grace,
    parse_interval,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("36h", timedelta(hours=36)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        ("daily", timedelta(days=1)),
        ("weekly", timedelta(weeks=1)),
        ("monthly", timedelta(days=30)),
        ("quarterly", timedelta(days=90)),
        (" Weekly ", timedelta(weeks=1)),
        ("12H", timedelta(hours=12)),
    ],
)
def test_parse_interval(text: str, expected: timedelta) -> None:
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "0h", "0", "-1d", "1.5d", "1m", "1y", "d", "01d", "1 d", "yearly", "1h2h", "99999w"],
)
def test_parse_interval_rejects_with_a_readable_message(text: str) -> None:
    with pytest.raises(InvalidInput, match="interval"):
        parse_interval(text)


def test_grace_allows_zero_but_not_negative() -> None:
    assert parse_grace("0") == timedelta(0)
    assert parse_grace("0h") == timedelta(0)
    assert parse_grace("2h") == timedelta(hours=2)
    with pytest.raises(InvalidInput):
        parse_grace("-1h")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "never"),
        (timedelta(0), "0"),
        (timedelta(days=1), "daily"),
        (timedelta(days=30), "monthly"),
        (timedelta(weeks=3), "3w"),
        (timedelta(days=3), "3d"),
        (timedelta(hours=5), "5h"),
    ],
)
def test_format_interval_round_trips(value: timedelta | None, text: str) -> None:
    assert format_interval(value) == text
    if value:
        assert parse_interval(text) == value
