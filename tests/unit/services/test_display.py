"""The display module: every text a person reads about dates, intervals and statuses."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QDate, QDateTime, QLocale, QTime, QTimeZone

from desktop.domain.table import Column, Names, TokenRow
from desktop.services import display
from desktop.services.views import token_view
from tests.helpers.locales import in_locale

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NAMES = Names({1: "Production"}, {1: ("Ada", "Reader")})


def row(**fields: Any) -> TokenRow:
    base = TokenRow(3, 1, 1, "Dashboard", 1, "AbCd", 0, None, None, 0, None, None, None, None, 0)
    return base._replace(**fields)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Berlin's for the test (a zone with an offset and daylight saving)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    display.reset_local_times()
    yield
    monkeypatch.undo()
    time.tzset()
    display.reset_local_times()


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kathmandu"]
)
def test_local_minutes_match_the_standard_library(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table's own local-time formatting (fast, cached) says what datetime says, across
    daylight-saving changes, half-hour zones and Lord Howe's half-hour shift."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    display.reset_local_times()
    try:
        generator = random.Random(zone)
        minutes = [generator.randrange(0, 40_000_000) for _ in range(5_000)]
        # Every minute around the 2026 changes in the southern and northern hemispheres.
        for start in (29_540_000, 29_560_000, 29_830_000, 29_880_000):
            minutes += range(start, start + 60 * 24 * 40, 7)
        for minute in minutes:
            expected = datetime.fromtimestamp(minute * 60).isoformat(" ", "minutes")
            assert display.minute_text(minute) == expected, minute
    finally:
        monkeypatch.undo()
        time.tzset()
        display.reset_local_times()


@pytest.mark.usefixtures("zone")
def test_times_to_the_minute() -> None:
    assert display.format_time(START) == "2026-01-05 10:00"
    assert display.format_time(START + timedelta(seconds=59)) == "2026-01-05 10:00"
    assert display.format_time(None) == "—"
    assert display.epoch_text(int(START.timestamp())) == "2026-01-05 10:00"
    assert display.epoch_text(None) == "—"
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert display.format_time(summer) == "2026-07-02 00:30"


@pytest.mark.usefixtures("zone")
def test_one_spelling_of_a_local_time_and_one_for_scripts() -> None:
    assert display.format_local_time(datetime(2026, 12, 1, 8, 0, tzinfo=UTC)) == (
        "2026-12-01 09:00"
    )
    # A naive time is UTC, as everywhere in TokenDesk.
    assert display.format_time(datetime(2026, 12, 1, 8, 0)) == "2026-12-01 09:00"
    assert display.date_time_format() == "yyyy-MM-dd HH:mm"
    assert display.format_utc(START + timedelta(seconds=7)) == "2026-01-05T09:00:07Z"
    assert display.format_utc(None) == "-"
    # to the second: microseconds are dropped, not rounded
    assert display.format_utc(START.replace(second=1, microsecond=500)) == "2026-01-05T09:00:01Z"
    assert display.format_utc(None, missing="never") == "never"


def test_durations() -> None:
    assert display.format_duration(timedelta(hours=1)) == "1 hour"
    assert display.format_duration(timedelta(days=3)) == "3 days"
    assert display.format_duration(timedelta(weeks=2)) == "2 weeks"
    assert display.format_duration(timedelta(minutes=90)) == "90 minutes"
    assert display.format_duration(timedelta(seconds=30)) == "30 seconds"


def test_intervals() -> None:
    assert display.rotation_text(None) == "Never"
    assert display.rotation_text(0) == "Never"
    assert display.rotation_text(86_400) == "Every day"
    assert display.rotation_text(7 * 86_400) == "Every week"
    assert display.rotation_text(30 * 86_400) == "Every 30 days"
    assert display.rotation_text(12 * 3600) == "Every 12 hours"
    assert display.describe_interval(timedelta(days=30)) == "every 30 days"
    assert display.rotation_name(None) == "never"
    assert display.rotation_name("12h") == "12h"
    assert display.rotation_phrase(None, None) == "never"
    assert display.rotation_phrase("weekly", timedelta(weeks=1)) == "weekly (every week)"
    assert display.grace_text(3600) == (
        "After each rotation the previous secret keeps working for 1 hour"
    )
    assert display.grace_text(0) == "After each rotation the previous secret stops working at once"


def test_describe_interval_in_words() -> None:
    assert display.describe_interval(None) == "never"
    assert display.describe_interval(timedelta(days=1)) == "every day"
    assert display.describe_interval(timedelta(days=30)) == "every 30 days"
    assert display.describe_interval(timedelta(hours=12)) == "every 12 hours"
    assert display.describe_interval(timedelta(weeks=2)) == "every 2 weeks"


@pytest.mark.usefixtures("zone")
def test_schedule_in_a_sentence() -> None:
    assert display.schedule_text(None, None) == "Not rotated automatically"
    assert display.schedule_text(timedelta(days=30), None) == "Every 30 days"
    assert display.schedule_text(timedelta(hours=12), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)) == (
        "Every 12 hours; next 2026-12-01 09:00"
    )


def test_yes_no() -> None:
    assert (display.yes_no(True), display.yes_no(False)) == ("yes", "no")


@pytest.mark.usefixtures("zone")
def test_statuses() -> None:
    assert display.status_text(True) == display.status_text(1) == "Active"
    assert display.status_text(False) == display.status_text(0) == "Inactive"
    due = int(START.timestamp())
    assert display.next_rotation_text(row(next_rotation=due)) == "2026-01-05 10:00"
    assert display.next_rotation_text(row(next_rotation=due, active=0)) == (
        "2026-01-05 10:00 (paused)"
    )
    assert display.next_rotation_text(row(active=0)) == "—"
    assert display.rotation_failed_text("the keyring is locked") == (
        "The last scheduled rotation failed: the keyring is locked\n"
        "It is tried again automatically."
    )


@pytest.mark.usefixtures("zone")
def test_cell_texts_in_the_columns_order() -> None:
    data = row(rotation_seconds=86_400, next_rotation=int(START.timestamp()), created=0)
    assert display.cell_texts(data, NAMES) == (
        "tdk_••••••••AbCd",
        "Ada",
        "Dashboard",
        "Reader",
        "Active",
        "#3",
        "Every day",
        "2026-01-05 10:00",
        "Never",
        "1970-01-01 01:00",
        "Production",
        "Never",
    )
    unknown = display.cell_texts(row(agent_id=9, environment_id=9), NAMES)
    assert (unknown[1], unknown[3], unknown[Column.ENVIRONMENT]) == ("?", "?", "?")
    expiring = display.cell_texts(row(expires=int(START.timestamp())), NAMES)
    assert expiring[Column.EXPIRES] == "2026-01-05 10:00"
    used = display.cell_texts(row(last_used=int(START.timestamp()), use_count=3), NAMES)
    assert used[Column.LAST_USED] == "2026-01-05 10:00"


@pytest.mark.usefixtures("zone")
def test_a_tokens_use_in_words() -> None:
    """The Last used cell, its tooltip and the details pane's line: local time and a count, or
    never."""
    never = row()
    assert display.last_used_text(never) == "Never" == display.usage_phrase(None, 0)
    assert "No request has presented this token" in display.usage_tip(never)
    used = row(last_used=int(START.timestamp()), use_count=1204)
    assert display.usage_tip(used).startswith("1,204 requests in all")
    assert display.usage_phrase(START, 1204) == "2026-01-05 10:00 · 1,204 requests"
    assert display.usage_phrase(START, 1) == "2026-01-05 10:00 · 1 request"


def test_naming_a_token() -> None:
    assert display.token_choice(row(), NAMES) == "#3 — Ada — Dashboard"
    assert display.token_choice(row(label=""), NAMES) == "#3 — Ada — (no label)"
    assert display.token_choice_masked(row(), NAMES) == "#3 — Ada — Dashboard (tdk_••••••••AbCd)"
    assert display.token_choice_masked(row(label="", active=0), NAMES) == (
        "#3 — Ada (tdk_••••••••AbCd, inactive)"
    )
    assert display.describe_token(token_view(row(), NAMES)) == ("#3 (agent Ada, label “Dashboard”)")
    assert display.describe_token(token_view(row(label=""), NAMES)) == "#3 (agent Ada, no label)"
    assert display.token_ref(3) == "#3"
    assert display.token_title("Rotation Schedule", 3) == "Rotation Schedule — Token #3"


def test_a_previous_secret_is_valid_until_a_local_time() -> None:
    """The time alone while it is today, with the date when it is not (a grace of days)."""
    now = int(START.timestamp())
    later = now + 3 * 3600
    assert display.previous_secret_text(later, now) == (
        f"Previous secret valid until {display.epoch_text(later)[11:]}"
    )
    days = now + 7 * 86_400
    assert display.previous_secret_text(days, now) == (
        f"Previous secret valid until {display.epoch_text(days)}"
    )


@pytest.mark.usefixtures("zone")
@pytest.mark.parametrize(
    ("locale", "shown", "searched", "pattern"),
    [
        ("de_DE", "05.01.26 10:00", "05.01.26 10:00", "dd.MM.yy HH:mm"),
        ("en_US", "1/5/26 10:00\u202fAM", "1/5/26 10:00 am", "M/d/yy h:mm\u202fAp"),
        ("en_GB", "05/01/2026 10:00", "05/01/2026 10:00", "dd/MM/yyyy HH:mm"),
    ],
)
def test_local_times_follow_the_locale(
    locale: str, shown: str, searched: str, pattern: str
) -> None:
    """Every local time, in the table and elsewhere, is the locale's short date and time."""
    with in_locale(locale):
        minute = int(START.timestamp()) // 60
        assert display.format_time(START) == shown
        assert display.minute_text(minute) == shown
        assert display.minute_key(minute) == searched  # as the table's filter reads it
        assert display.date_time_format() == pattern
        texts = display.cell_texts(row(next_rotation=int(START.timestamp())), NAMES)
        assert texts[Column.NEXT_ROTATION] == shown
        assert display.schedule_text(timedelta(days=1), START) == f"Every day; next {shown}"
    assert display.format_time(START) == "2026-01-05 10:00"  # the C locale's: ISO 8601


def test_a_locale_that_puts_the_time_after_a_long_date_keeps_its_order() -> None:
    """Korean spells the date, then a morning/afternoon word before the hour: the parts keep
    the locale's order and whatever it puts between them."""
    with in_locale("ko_KR") as locale:
        assert display.date_time_format() == locale.dateTimeFormat(QLocale.FormatType.ShortFormat)
        when = datetime(2026, 12, 28, 22, 58, tzinfo=UTC)
        expected = locale.toString(
            QDateTime(QDate(2026, 12, 28), QTime(22, 58), QTimeZone.utc()).toLocalTime(),
            display.date_time_format(),
        )
        assert display.format_time(when) == expected


def test_the_widest_times_are_as_wide_as_any() -> None:
    """The samples a column is sized by have two-digit days and hours in every month."""
    with in_locale("en_US"):
        samples = display.widest_times()
        assert "12/28/26 10:58\u202fPM" in samples
        assert len(samples) == 24
        generator = random.Random(11)
        widest = max(len(text) for text in samples)
        for _ in range(2_000):
            assert len(display.minute_text(generator.randrange(0, 40_000_000))) <= widest


class _TimeFirst(QLocale):
    """British formats, with the time first and a word between: ``22:58 on 28/12/2026``."""

    def dateTimeFormat(self, format: QLocale.FormatType = QLocale.FormatType.LongFormat) -> str:
        return f"{self.timeFormat(format)} 'on' {self.dateFormat(format)}"


def test_a_format_with_the_time_first_and_words_between_keeps_both() -> None:
    spelling = display._Spelling(_TimeFirst("en_GB"))
    local = (date(2026, 12, 28) - date(1970, 1, 1)).days * 1440 + 22 * 60 + 58
    assert spelling.text(local, 0) == "22:58 on 28/12/2026"
    assert spelling.date_time_format() == "HH:mm' on 'dd/MM/yyyy"
