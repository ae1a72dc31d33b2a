"""RotationDialog: change how often one token's secret is replaced, and its grace period."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import TokenDeskError
from desktop.gui.rotation_picker import RotationIntervalPicker
from desktop.gui.widgets import ERROR_STYLE, FormGrid, fit_to_contents, message_label
from desktop.services.display import schedule_text, token_title
from desktop.services.tokens import TokenService
from desktop.services.views import TokenView


class RotationDialog(QDialog):
    """OK applies ``set_rotation(token_id, interval, grace)``; errors stay inline."""

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
        if token is not None:
            self._picker.setInterval(token.rotation_interval)
            self._picker.setGrace(token.grace)
        box = QGroupBox("New schedule", self)
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self._picker)
        note = QLabel(
            "Saving starts the interval afresh: the next rotation is one interval from now.", box
        )
        note.setWordWrap(True)
        box_layout.addWidget(note)

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
        layout.addWidget(self._error)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(540, 1)
        fit_to_contents(self, 540)

        if token is None:
            self._picker.setEnabled(False)
            self._ok.setEnabled(False)
            self._show_error(problem or "the token no longer exists")
        else:
            self._picker.setFocus()

    @property
    def picker(self) -> RotationIntervalPicker:
        return self._picker

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
            self._service.set_rotation(
                self._token_id, self._picker.interval(), self._picker.grace()
            )
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
