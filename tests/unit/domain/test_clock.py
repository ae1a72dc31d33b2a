"""The wall clock's seam and the two conversions every layer uses to keep times in UTC: SQLite
hands datetimes back naive, and the JSON output always ends in ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from desktop.domain.clock import Clock, SystemClock, isoformat, utc
from tests.helpers.clock import FakeClock


def test_the_system_clock_is_aware_and_in_utc() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    after = datetime.now(UTC)
    assert now.tzinfo is UTC
    assert before <= now <= after


def test_the_fake_clock_fits_the_seam() -> None:
    clocks: list[Clock] = [SystemClock(), FakeClock()]
    assert all(clock.now().utcoffset() == timedelta(0) for clock in clocks)


def test_a_naive_datetime_is_taken_as_utc() -> None:
    naive = datetime(2026, 3, 1, 12, 30, 15)
    assert utc(naive) == datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
    assert utc(naive).tzinfo is UTC


def test_an_aware_datetime_is_converted_not_relabelled() -> None:
    berlin = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 1, 13, 30, tzinfo=berlin)
    assert utc(local) == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert utc(local).hour == 12 and utc(local).tzinfo is UTC


def test_isoformat_is_utc_to_the_second_with_a_z() -> None:
    assert isoformat(datetime(2026, 1, 5, 9, 0, 59, 999_999)) == "2026-01-05T09:00:59Z"
    newyork = timezone(timedelta(hours=-5))
    assert isoformat(datetime(2026, 1, 5, 23, 0, tzinfo=newyork)) == "2026-01-06T04:00:00Z"
    assert isoformat(None) is None
