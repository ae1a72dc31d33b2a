"""RotationDialog: change how often one token's secret is replaced, its grace period, and the
command that delivers each new secret (see :mod:`desktop.services.delivery`)."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.domain import delivery
from desktop.domain.errors import TokenDeskError
from desktop.gui.rotation_picker import RotationIntervalPicker
from desktop.gui.widgets import (
    ERROR_STYLE,
    WARNING_STYLE,
    FormGrid,
    fit_to_contents,
    message_label,
)
from desktop.services.display import schedule_text, token_title
from desktop.services.tokens import TokenService
from desktop.services.views import TokenView

DELIVERY_HELP = (
    "Run by your TokenDesk after every refresh and scheduled rotation of this token, as "
    "/bin/sh -c COMMAND: the new secret on its standard input (never in its arguments or "
    "environment), and TOKENDESK_TOKEN_ID, TOKENDESK_ENVIRONMENT and TOKENDESK_AGENT in its "
    "environment. A failure is tried again while the old secret stays valid. Empty: none."
)


class RotationDialog(QDialog):
    """OK applies ``set_rotation(token_id, interval, grace)`` and, when the delivery command
    was edited, ``set_delivery``; errors stay inline, and a bad command changes nothing."""

    def __init__(self, service: TokenService, token_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RotationDialog")
        self.setWindowTitle(token_title("Rotation Schedule", token_id))
        self._service = service
        self._token_id = token_id
        self.applied = False

        token: TokenView | None = None
        problem: str | None = None
        try:
            token = service.token(token_id)
        except TokenDeskError as error:
            problem = str(error)
        schedule = schedule_text(token.rotation_interval, token.next_rotation_at) if token else "—"

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        masked = QLabel(token.masked if token else "—", self)
        masked.setObjectName("rotationTokenMasked")
        masked.setFont(mono)
        info = FormGrid()
        info.add_row("Token:", masked)
        for name, caption, text in (
            ("rotationTokenAgent", "Agent:", token.agent if token else "—"),
            ("rotationTokenEnvironment", "Environment:", token.environment if token else "—"),
            ("rotationTokenLabel", "Label:", (token.label or "(no label)") if token else "—"),
            ("rotationCurrent", "Currently:", schedule),
        ):
            value = QLabel(text, self)
            value.setObjectName(name)
            value.setWordWrap(True)
            info.add_row(caption, value)

        self._picker = RotationIntervalPicker(self, clock=service.clock)
        # The schedule as it was: a delivery command edited alone leaves the schedule's clock be.
        self._schedule = (token.rotation_interval, token.grace) if token else None
        if token is not None:
            self._picker.setInterval(token.rotation_interval)
            self._picker.setGrace(token.grace)
        box = QGroupBox("New schedule", self)
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self._picker)
        note = QLabel(
            "Saving starts the interval afresh: the next rotation is one interval from now "
            "(a new delivery command alone leaves it as it is).",
            box,
        )
        note.setWordWrap(True)
        box_layout.addWidget(note)

        self._delivery = QLineEdit((token.delivery_command or "") if token else "", self)
        self._delivery.setObjectName("deliveryCommand")
        self._delivery.setPlaceholderText("umask 077; cat > ~/.config/loans-app/token")
        self._delivery.setAccessibleDescription(DELIVERY_HELP)
        self._delivery.setClearButtonEnabled(True)
        self._delivery.setMaxLength(delivery.MAX_COMMAND)
        self._delivery_edited = False
        self._delivery.textEdited.connect(self._delivery_changed)
        delivery_box = QGroupBox("Delivery", self)
        delivery_form = FormGrid()
        delivery_form.add_row("&Delivery command:", self._delivery)
        delivery_layout = QVBoxLayout(delivery_box)
        delivery_layout.addLayout(delivery_form)
        help_text = QLabel(DELIVERY_HELP, delivery_box)
        help_text.setObjectName("deliveryHelp")
        help_text.setWordWrap(True)
        delivery_layout.addWidget(help_text)
        self._set_by = message_label("deliverySetBy", WARNING_STYLE, delivery_box)
        delivery_layout.addWidget(self._set_by)
        if (
            token is not None
            and token.delivery_command is not None
            and delivery.refusal(token.delivery_set_by, service.person) is not None
        ):
            self._set_by.setText(
                f"Set by {token.delivery_set_by or 'someone unknown'}, so it never runs with a "
                "secret of yours. Edit it to make it yours, or clear it."
            )
            self._set_by.show()

        self._error = message_label("errorLabel", ERROR_STYLE, self)
        self._picker.intervalChanged.connect(self._clear_error)
        self._picker.graceChanged.connect(self._clear_error)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.setObjectName("buttonBox")
        self._ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._ok.setText("Save schedule")
        self._ok.setObjectName("saveScheduleButton")
        self._ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(info)
        layout.addWidget(box)
        layout.addWidget(delivery_box)
        layout.addWidget(self._error)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(540, 1)
        fit_to_contents(self, 540)

        if token is None:
            self._picker.setEnabled(False)
            self._delivery.setEnabled(False)
            self._ok.setEnabled(False)
            self._show_error(problem or "the token no longer exists")
        else:
            self._picker.setFocus()

    @property
    def picker(self) -> RotationIntervalPicker:
        return self._picker

    @property
    def delivery_edit(self) -> QLineEdit:
        return self._delivery

    def _delivery_changed(self) -> None:
        self._delivery_edited = True
        self._clear_error()

    def _show_error(self, text: str) -> None:
        self._error.setText(f"The schedule was not changed: {text}.")
        self._error.show()
        fit_to_contents(self, 540)

    def _clear_error(self) -> None:
        self._error.clear()
        self._error.hide()

    def accept(self) -> None:
        if not self._ok.isEnabled():
            return
        try:
            command = delivery.clean_command(self._delivery.text())  # before anything changes
            schedule = (self._picker.interval(), self._picker.grace())
            if not self._delivery_edited or schedule != self._schedule:
                self._service.set_rotation(self._token_id, *schedule)
            if self._delivery_edited:
                self._service.set_delivery(self._token_id, command)
        except TokenDeskError as error:
            self._show_error(str(error))
            return
        self.applied = True
        super().accept()

    @classmethod
    def ask(cls, service: TokenService, token_id: int, parent: QWidget | None = None) -> bool:
        """Show the dialog; True when the new schedule was saved."""
        dialog = cls(service, token_id, parent)
        try:
            dialog.exec()
            return dialog.applied
        finally:
            dialog.deleteLater()
