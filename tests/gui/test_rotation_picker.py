"""RotationIntervalPicker: presets, custom values, Never, grace, signals and the next-rotation
text, on a real widget with the fake clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox
from pytestqt.qtbot import QtBot

from desktop.domain.intervals import MAXIMUM
from desktop.gui.rotation_picker import RotationIntervalPicker
from desktop.services import display
from desktop.services.display import format_time
from tests.helpers.clock import FakeClock

HOUR = timedelta(hours=1)
T = TypeVar("T", bound=QObject)


@pytest.fixture
def picker(qtbot: QtBot, clock: FakeClock) -> RotationIntervalPicker:
    widget = RotationIntervalPicker(clock=clock)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def utc_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time = UTC for the duration of a test, so local times can be written down."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    display.reset_local_times()
    yield
    monkeypatch.undo()
    time.tzset()
    display.reset_local_times()


def recorder(signal: SignalInstance) -> list[object]:
    seen: list[object] = []
    signal.connect(seen.append)
    return seen


def child(widget: RotationIntervalPicker, kind: type[T], name: str) -> T:
    found = widget.findChild(kind, name)
    assert found is not None, name
    return found


def test_starts_at_never_with_no_grace(picker: RotationIntervalPicker) -> None:
    assert picker.objectName() == "rotationPicker"
    assert picker.interval() is None
    assert picker.grace() == timedelta(0)
    assert child(picker, QComboBox, "rotationMode").currentText() == "Never"
    assert child(picker, QLabel, "nextRotationLabel").text() == "Never rotated automatically"
    assert not child(picker, QSpinBox, "rotationCount").isEnabled()
    assert not child(picker, QComboBox, "rotationUnit").isEnabled()


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (timedelta(days=1), "Daily"),
        (timedelta(weeks=1), "Weekly"),
        (timedelta(days=30), "Every 30 days"),
        (timedelta(days=90), "Every 90 days"),
    ],
)
def test_a_preset_value_selects_the_preset(
    picker: RotationIntervalPicker, value: timedelta, mode: str
) -> None:
    picker.setInterval(value)
    assert picker.interval() == value
    assert child(picker, QComboBox, "rotationMode").currentText() == mode
    assert not child(picker, QSpinBox, "rotationCount").isEnabled()


@pytest.mark.parametrize(
    ("value", "count", "unit"),
    [
        (timedelta(hours=36), 36, "hours"),
        (timedelta(hours=48), 2, "days"),
        (timedelta(days=10), 10, "days"),
        (timedelta(weeks=2), 2, "weeks"),
        (timedelta(hours=1), 1, "hours"),
        (MAXIMUM, 3660, "days"),
    ],
)
def test_other_values_select_custom_in_the_largest_exact_unit(
    picker: RotationIntervalPicker, value: timedelta, count: int, unit: str
) -> None:
    picker.setInterval(value)
    assert child(picker, QComboBox, "rotationMode").currentText() == "Custom…"
    assert child(picker, QSpinBox, "rotationCount").value() == count
    assert child(picker, QComboBox, "rotationUnit").currentText() == unit
    assert child(picker, QSpinBox, "rotationCount").isEnabled()
    assert picker.interval() == value


def test_none_selects_never(picker: RotationIntervalPicker) -> None:
    picker.setInterval(timedelta(hours=5))
    picker.setInterval(None)
    assert picker.interval() is None
    assert child(picker, QComboBox, "rotationMode").currentText() == "Never"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.integers(min_value=1, max_value=int(MAXIMUM / HOUR)))
def test_every_whole_hour_interval_round_trips(picker: RotationIntervalPicker, hours: int) -> None:
    picker.setInterval(hours * HOUR)
    assert picker.interval() == hours * HOUR


def test_custom_count_and_unit_make_the_interval(picker: RotationIntervalPicker) -> None:
    mode = child(picker, QComboBox, "rotationMode")
    mode.setCurrentIndex(mode.findData("custom"))
    child(picker, QComboBox, "rotationUnit").setCurrentText("hours")
    child(picker, QSpinBox, "rotationCount").setValue(12)
    assert picker.interval() == timedelta(hours=12)
    child(picker, QComboBox, "rotationUnit").setCurrentText("weeks")
    assert picker.interval() == timedelta(weeks=12)


def test_a_custom_count_never_exceeds_the_longest_interval(picker: RotationIntervalPicker) -> None:
    picker.setInterval(timedelta(days=3000))
    child(picker, QComboBox, "rotationUnit").setCurrentText("weeks")
    value = picker.interval()
    assert value is not None
    assert value <= MAXIMUM


def test_interval_changed_fires_once_per_change_and_not_for_no_ops(
    picker: RotationIntervalPicker,
) -> None:
    seen = recorder(picker.intervalChanged)
    picker.setInterval(timedelta(weeks=1))
    assert seen == [timedelta(weeks=1)]
    picker.setInterval(timedelta(weeks=1))
    assert seen == [timedelta(weeks=1)]

    # Switching a preset to Custom keeps the same value in count + unit: not a change.
    mode = child(picker, QComboBox, "rotationMode")
    mode.setCurrentIndex(mode.findData("custom"))
    assert picker.interval() == timedelta(weeks=1)
    assert seen == [timedelta(weeks=1)]

    child(picker, QSpinBox, "rotationCount").setValue(3)
    assert seen == [timedelta(weeks=1), timedelta(weeks=3)]
    child(picker, QComboBox, "rotationUnit").setCurrentText("days")
    assert seen[-1] == timedelta(days=3)
    assert len(seen) == 3

    picker.setInterval(timedelta(hours=36))  # unit and count both move: still one signal
    assert seen[-1] == timedelta(hours=36)
    assert len(seen) == 4

    mode.setCurrentIndex(mode.findData("never"))
    assert seen[-1] is None
    assert len(seen) == 5
    picker.setInterval(None)
    assert len(seen) == 5


def test_the_next_rotation_text_follows_the_fake_clock(
    picker: RotationIntervalPicker, clock: FakeClock, utc_zone: None
) -> None:
    label = child(picker, QLabel, "nextRotationLabel")
    picker.setInterval(timedelta(weeks=1))  # the fake clock starts on Mon 5 Jan 2026 09:00 UTC
    assert label.text() == "Next rotation: 2026-01-12 09:00 (local time)"
    assert picker.nextRotationText() == label.text()

    clock.advance(timedelta(days=1, hours=2))
    picker.refreshNextRotation()
    assert label.text() == "Next rotation: 2026-01-13 11:00 (local time)"

    picker.setInterval(timedelta(hours=36))
    assert label.text() == "Next rotation: 2026-01-07 23:00 (local time)"
    picker.setInterval(None)
    assert label.text() == "Never rotated automatically"


def test_the_next_rotation_is_shown_in_local_time(
    picker: RotationIntervalPicker, clock: FakeClock
) -> None:
    picker.setInterval(timedelta(days=30))
    expected = format_time(clock.now() + timedelta(days=30))
    assert picker.nextRotationText() == f"Next rotation: {expected} (local time)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "None (old secret stops at once)"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=7), "7 days"),
    ],
)
def test_grace_presets_round_trip(
    picker: RotationIntervalPicker, value: timedelta, text: str
) -> None:
    picker.setGrace(value)
    assert picker.grace() == value
    assert child(picker, QComboBox, "graceCombo").currentText() == text
    assert child(picker, QSpinBox, "graceHours").isHidden()


def test_custom_grace_is_in_whole_hours(picker: RotationIntervalPicker) -> None:
    picker.setGrace(timedelta(hours=5))
    assert picker.grace() == timedelta(hours=5)
    hours = child(picker, QSpinBox, "graceHours")
    assert not hours.isHidden()
    assert hours.value() == 5
    hours.setValue(30)
    assert picker.grace() == timedelta(hours=30)
    picker.setGrace(timedelta(minutes=90))  # rounded up: the schedule works in hours
    assert picker.grace() == timedelta(hours=2)


def test_grace_changed_fires_once_per_change(picker: RotationIntervalPicker) -> None:
    seen = recorder(picker.graceChanged)
    picker.setGrace(timedelta(hours=1))
    picker.setGrace(timedelta(hours=1))
    assert seen == [timedelta(hours=1)]
    child(picker, QComboBox, "graceCombo").setCurrentText("7 days")
    assert seen == [timedelta(hours=1), timedelta(days=7)]
    picker.setGrace(timedelta(hours=9))
    assert seen[-1] == timedelta(hours=9)
    assert len(seen) == 3


def test_grace_stays_available_when_rotation_is_off(picker: RotationIntervalPicker) -> None:
    picker.setInterval(None)
    grace = child(picker, QComboBox, "graceCombo")
    assert grace.isEnabled()
    assert "manual refresh" in grace.toolTip()


def test_labels_have_buddies_for_keyboard_use(picker: RotationIntervalPicker) -> None:
    buddies = {label.buddy() for label in picker.findChildren(QLabel) if label.buddy()}
    assert child(picker, QComboBox, "rotationMode") in buddies
    assert child(picker, QComboBox, "graceCombo") in buddies
