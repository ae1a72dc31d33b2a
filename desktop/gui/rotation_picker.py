"""RotationIntervalPicker: how often a token's secret is replaced, and for how long the old one
keeps working afterwards (the grace period)."""

from __future__ import annotations

import math
from datetime import timedelta

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from desktop.domain.clock import Clock, SystemClock
from desktop.domain.intervals import MAXIMUM
from desktop.services.display import format_time

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(weeks=1)

NEVER = "never"
CUSTOM = "custom"
# (key, text shown, interval)
PRESETS: tuple[tuple[str, str, timedelta], ...] = (
    ("daily", "Daily", DAY),
    ("weekly", "Weekly", WEEK),
    ("monthly", "Every 30 days", timedelta(days=30)),
    ("quarterly", "Every 90 days", timedelta(days=90)),
)
# (text shown, unit); the spin box's maximum keeps every custom interval within MAXIMUM.
UNITS: tuple[tuple[str, timedelta], ...] = (("hours", HOUR), ("days", DAY), ("weeks", WEEK))

GRACE_PRESETS: tuple[tuple[str, timedelta], ...] = (
    ("None (old secret stops at once)", timedelta(0)),
    ("1 hour", HOUR),
    ("1 day", DAY),
    ("7 days", timedelta(days=7)),
)
GRACE_CUSTOM = "Custom (hours)…"
MAX_GRACE_HOURS = 24 * 90

GRACE_TOOLTIP = (
    "After the secret is replaced, by an automatic rotation or a manual refresh, the previous "
    "secret keeps working for this long, so clients can switch over without downtime.\n"
    "It applies even when automatic rotation is off."
)
# How often the "Next rotation" text is brought up to date while the widget is shown.
_REFRESH_MS = 30_000


def _whole_hours(value: timedelta) -> int:
    """The value in hours, rounded up to a whole hour (the schedule works in hours)."""
    return max(1, math.ceil(value / HOUR))


class RotationIntervalPicker(QWidget):
    """Never, a preset or a custom count of hours/days/weeks; plus the grace for the old secret.

    ``intervalChanged`` and ``graceChanged`` fire once per change of the effective value
    (``timedelta | None`` and ``timedelta``), never for a change that leaves it as it was.
    """

    intervalChanged = Signal(object)
    graceChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None, clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rotationPicker")
        self._clock: Clock = clock or SystemClock()
        self._updating = False

        self._mode = QComboBox(self)
        self._mode.setObjectName("rotationMode")
        self._mode.addItem("Never", NEVER)
        for key, text, _value in PRESETS:
            self._mode.addItem(text, key)
        self._mode.addItem("Custom…", CUSTOM)
        self._mode.setToolTip("How often TokenDesk replaces the secret with a new one")
        self.setFocusProxy(self._mode)

        self._count = QSpinBox(self)
        self._count.setObjectName("rotationCount")
        self._count.setRange(1, 999)
        self._count.setAccessibleName("Rotation interval count")
        self._count.setToolTip("Rotate every this many hours, days or weeks")

        self._unit = QComboBox(self)
        self._unit.setObjectName("rotationUnit")
        for text, unit in UNITS:
            self._unit.addItem(text, unit)
        self._unit.setAccessibleName("Rotation interval unit")
        self._unit.setCurrentIndex(1)

        self._next = QLabel(self)
        self._next.setObjectName("nextRotationLabel")
        self._next.setToolTip(
            "When the next automatic rotation would happen if you saved now; later rotations "
            "follow at the same interval after each one completes"
        )

        self._grace = QComboBox(self)
        self._grace.setObjectName("graceCombo")
        for text, value in GRACE_PRESETS:
            self._grace.addItem(text, value)
        self._grace.addItem(GRACE_CUSTOM, None)
        self._grace.setToolTip(GRACE_TOOLTIP)

        self._grace_hours = QSpinBox(self)
        self._grace_hours.setObjectName("graceHours")
        self._grace_hours.setRange(1, MAX_GRACE_HOURS)
        self._grace_hours.setSuffix(" h")
        self._grace_hours.setValue(2)
        self._grace_hours.setAccessibleName("Grace period in hours")
        self._grace_hours.setToolTip(GRACE_TOOLTIP)

        interval_row = QHBoxLayout()
        interval_row.addWidget(self._mode, 1)
        interval_row.addWidget(self._count)
        interval_row.addWidget(self._unit)
        grace_row = QHBoxLayout()
        grace_row.addWidget(self._grace, 1)
        grace_row.addWidget(self._grace_hours)

        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("&Rotate automatically:", interval_row)
        form.addRow("", self._next)
        form.addRow("Old secret &valid for:", grace_row)
        for row, buddy in ((0, self._mode), (2, self._grace)):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            label = item.widget() if item is not None else None
            if isinstance(label, QLabel):
                label.setBuddy(buddy)
                if buddy is self._grace:
                    label.setToolTip(GRACE_TOOLTIP)

        self._last_interval: timedelta | None = self.interval()
        self._last_grace: timedelta = self.grace()

        self._mode.currentIndexChanged.connect(self._mode_changed)
        self._count.valueChanged.connect(self._changed)
        self._unit.currentIndexChanged.connect(self._unit_changed)
        self._grace.currentIndexChanged.connect(self._grace_changed)
        self._grace_hours.valueChanged.connect(self._grace_changed)

        self._timer = QTimer(self)
        self._timer.setInterval(_REFRESH_MS)
        self._timer.timeout.connect(self.refreshNextRotation)
        self._timer.start()

        self._unit_changed()
        self._sync_enabled()
        self.refreshNextRotation()

    # ----------------------------------------------------------------- public API

    def interval(self) -> timedelta | None:
        key = self._mode.currentData()
        if key == NEVER:
            return None
        for preset_key, _text, value in PRESETS:
            if key == preset_key:
                return value
        unit = self._unit.currentData()
        return int(self._count.value()) * (unit if isinstance(unit, timedelta) else DAY)

    def setInterval(self, value: timedelta | None) -> None:
        """Select Never (None), the matching preset, or Custom in the largest exact unit.

        A custom value that is not a whole number of hours is rounded up to one.
        """
        self._updating = True
        try:
            if value is None:
                self._select_mode(NEVER)
            else:
                for key, _text, preset in PRESETS:
                    if value == preset:
                        self._select_mode(key)
                        self._show_in_custom(value)
                        break
                else:
                    self._select_mode(CUSTOM)
                    self._show_in_custom(min(value, MAXIMUM))
        finally:
            self._updating = False
        self._changed()

    def grace(self) -> timedelta:
        value = self._grace.currentData()
        if isinstance(value, timedelta):
            return value
        return int(self._grace_hours.value()) * HOUR

    def setGrace(self, value: timedelta) -> None:
        """Select the matching choice, or a custom number of hours (rounded up to whole hours)."""
        self._updating = True
        try:
            for index, (_text, preset) in enumerate(GRACE_PRESETS):
                if value == preset:
                    self._grace.setCurrentIndex(index)
                    break
            else:
                self._grace.setCurrentIndex(len(GRACE_PRESETS))
                self._grace_hours.setValue(min(_whole_hours(value), MAX_GRACE_HOURS))
        finally:
            self._updating = False
        self._grace_changed()

    def nextRotationText(self) -> str:
        return self._next.text()

    def refreshNextRotation(self) -> None:
        """Recompute "Next rotation" from the clock (done on every change and twice a minute)."""
        interval = self.interval()
        if interval is None:
            self._next.setText("Never rotated automatically")
            return
        try:
            when = self._clock.now() + interval
        except OverflowError:  # only near the end of the calendar
            self._next.setText("Next rotation: too far in the future to show")
            return
        self._next.setText(f"Next rotation: {format_time(when)} (local time)")

    # ----------------------------------------------------------------- internals

    def _select_mode(self, key: str) -> None:
        index = self._mode.findData(key)
        if index >= 0:
            self._mode.setCurrentIndex(index)

    def _show_in_custom(self, value: timedelta) -> None:
        """Put a value into count + unit, using the largest unit that divides it exactly."""
        hours = _whole_hours(value)
        for index in reversed(range(len(UNITS))):
            unit_hours = int(UNITS[index][1] / HOUR)
            if hours % unit_hours == 0:
                self._unit.setCurrentIndex(index)
                self._unit_changed()
                self._count.setValue(hours // unit_hours)
                return

    def _mode_changed(self) -> None:
        interval = self.interval()
        if interval is not None and self._mode.currentData() != CUSTOM:
            # Show the preset in count + unit, so switching to Custom starts from it.
            was = self._updating
            self._updating = True
            try:
                self._show_in_custom(interval)
            finally:
                self._updating = was
        self._sync_enabled()
        self._changed()

    def _unit_changed(self) -> None:
        unit = self._unit.currentData()
        if isinstance(unit, timedelta):
            self._count.setMaximum(max(1, int(MAXIMUM / unit)))
        self._changed()

    def _sync_enabled(self) -> None:
        custom = self._mode.currentData() == CUSTOM
        self._count.setEnabled(custom)
        self._unit.setEnabled(custom)
        self._grace_hours.setVisible(self._grace.currentData() is None)

    def _changed(self) -> None:
        if self._updating:
            return
        self.refreshNextRotation()
        interval = self.interval()
        if interval != self._last_interval:
            self._last_interval = interval
            self.intervalChanged.emit(interval)

    def _grace_changed(self) -> None:
        if self._updating:
            return
        self._sync_enabled()
        grace = self.grace()
        if grace != self._last_grace:
            self._last_grace = grace
            self.graceChanged.emit(grace)
