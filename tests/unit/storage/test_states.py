"""The Peewee-free reading of stored times agrees with the models' own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from desktop.storage.models import Token
from desktop.storage.states import naive, parse_stored_time


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "2026-03-01 12:30:45",
        "2026-03-01 12:30:45.123456",
        "2026-03-01 12:30:45.5",
        "2026-03-01",
        "2026-03-01 12:30:45+02:00",
        "2026-03-01T12:30:45Z",
        "not a time",
        1_700_000_000,
    ],
)
def test_a_stored_time_reads_as_the_model_reads_it(stored: object) -> None:
    assert parse_stored_time(stored) == Token.last_rotated_at.python_value(stored)


def test_what_the_driver_writes_reads_back() -> None:
    when = datetime(2026, 3, 1, 12, 30, 45, 250_000)
    assert parse_stored_time(when.isoformat(" ")) == when


def test_naive_is_utc_without_its_zone() -> None:
    aware = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert naive(aware) == datetime(2026, 3, 1, 12, 0)
    assert naive(datetime(2026, 3, 1, 12, 0, tzinfo=UTC)).tzinfo is None
