"""When a token expires: the field the create dialog and :class:`ExpiryDialog` share, and the
dialog that sets or clears one token's expiry.

From its expiry on, every request with the token gets 401 and it is no longer rotated; its
Status stays Active or Inactive. An expiry must be in the future (the service refuses one that
is not): the field says so as the person types, and OK stays off until it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDate, QDateTime, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.clock import Clock
from desktop.domain.errors import TokenDeskError
from desktop.gui.widgets import ERROR_STYLE, FormGrid, fit_to_contents, message_label
from desktop.services.display import date_time_format, expiry_phrase, format_local_time
from desktop.services.tokens import TokenService
from desktop.services.views import TokenView

DEFAULT_DAYS = 90  # what a new expiry is preset to: the midnight that ends the 90th day
PAST = "The expiry must be in the future; to stop a token at once, deactivate it"


def _midnight_after(clock: Clock, days: int) -> QDateTime:
    """The local midnight that ends the day *days* days from the clock's today."""
    local = clock.now().astimezone()
    day = local.date() + timedelta(days=days + 1)
    return QDateTime(QDate(day.year, day.month, day.day), QTime(0, 0))


class ExpiryField(QWidget):
    """ "Expires" (a check box, off by default) and the date and time it expires at (local,
    to the minute). :meth:`expires` is the instant, or None; :meth:`problem` says why the
    value cannot be used (in the past), live as the person types; :attr:`changed` says that
    either may differ now. :attr:`error` is the line that shows the problem: the owner lays it
    out where it belongs."""

    changed = Signal()

    def __init__(self, clock: Clock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("expiryField")
        self._clock = clock
        self.check = QCheckBox("E&xpires", self)
        self.check.setObjectName("expiresCheck")
        self.check.setToolTip(
            "From this time on every request with the token gets 401 and it is not rotated"
        )
        self.edit = QDateTimeEdit(_midnight_after(clock, DEFAULT_DAYS), self)
        self.edit.setObjectName("expiresEdit")
        self.edit.setDisplayFormat(date_time_format())  # as the table shows times
        self.edit.setCalendarPopup(True)
        self.edit.setAccessibleName("Expires at")
        self.edit.setToolTip("When the token expires, local time (00:00: as the day begins)")
        self.edit.setEnabled(False)
        self.error = message_label("expiresError", ERROR_STYLE, parent or self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.check)
        layout.addWidget(self.edit, 1)
        self.setFocusProxy(self.check)
        self.check.toggled.connect(self._toggled)
        self.edit.dateTimeChanged.connect(lambda _value: self._update())

    def _toggled(self, on: bool) -> None:
        self.edit.setEnabled(on)
        if on:
            self.edit.setFocus()
        self._update()

    def _update(self) -> None:
        problem = self.problem()
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)
        self.changed.emit()

    def set_expires(self, value: datetime | None) -> None:
        """Show *value* (None: does not expire; the date edit keeps its preset)."""
        if value is not None:
            seconds = int(value.timestamp())
            self.edit.setDateTime(QDateTime.fromSecsSinceEpoch(seconds))
        self.check.setChecked(value is not None)
        self._update()

    def expires(self) -> datetime | None:
        """The instant chosen (aware, UTC), or None when the token is not to expire."""
        if not self.check.isChecked():
            return None
        return datetime.fromtimestamp(self.edit.dateTime().toSecsSinceEpoch(), UTC)

    def problem(self) -> str | None:
        """Why the chosen expiry cannot be used, or None."""
        value = self.expires()
        if value is not None and value <= self._clock.now():
            return PAST
        return None


class ExpiryDialog(QDialog):
    """Sets or clears one token's expiry; OK applies ``set_expiry``, errors stay inline."""

    def __init__(self, service: TokenService, token: TokenView, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ExpiryDialog")
        self.setWindowTitle(f"Expiry — Token #{token.id}")
        self._service = service
        self._token = token
        self.applied: TokenView | None = None

        info = FormGrid()
        for name, caption, text in (
            ("expiryToken", "Token:", token.masked),
            ("expiryAgent", "Agent:", token.agent),
            ("expiryCurrent", "Currently:", self._current_text()),
        ):
            value = QLabel(text, self)
            value.setObjectName(name)
            value.setWordWrap(True)
            info.add_row(caption, value)

        self.field = ExpiryField(service.clock, self)
        self.field.set_expires(token.expires_at if not self._expired() else None)
        note = QLabel(
            "An expired token gets 401 for every request and is not rotated; a later expiry "
            "(or none) gives it back its use.",
            self,
        )
        note.setWordWrap(True)
        self._error = message_label("errorLabel", ERROR_STYLE, self)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.setObjectName("buttonBox")
        self._ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._ok.setText("Save expiry")
        self._ok.setObjectName("saveExpiryButton")
        self._ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(info)
        layout.addWidget(self.field)
        layout.addWidget(self.field.error)
        layout.addWidget(note)
        layout.addWidget(self._error)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.field.changed.connect(self._changed)
        self._changed()
        self.resize(480, 1)
        fit_to_contents(self, 480)
        self.field.setFocus()

    def _expired(self) -> bool:
        return self._token.expired(self._service.clock.now())

    def _current_text(self) -> str:
        expires = self._token.expires_at
        if expires is None:
            return "Never expires"
        phrase = expiry_phrase(expires, self._service.clock.now())
        return phrase[:1].upper() + phrase[1:] if self._expired() else format_local_time(expires)

    def _changed(self) -> None:
        problem = self.field.problem()
        self._ok.setEnabled(problem is None)
        self._ok.setToolTip(problem or "")
        self._error.hide()
        fit_to_contents(self, 480)

    def accept(self) -> None:
        if not self._ok.isEnabled():
            return
        try:
            view = self._service.set_expiry(self._token.id, self.field.expires())
        except TokenDeskError as error:
            self._error.setText(f"The expiry was not changed: {error}.")
            self._error.show()
            fit_to_contents(self, 480)
            return
        self.applied = view
        super().accept()

    @classmethod
    def ask(
        cls, service: TokenService, token: TokenView, parent: QWidget | None = None
    ) -> TokenView | None:
        """Show the dialog; the token as saved, or None when cancelled."""
        dialog = cls(service, token, parent)
        try:
            dialog.exec()
            return dialog.applied
        finally:
            dialog.deleteLater()


__all__ = ["ExpiryDialog", "ExpiryField"]
