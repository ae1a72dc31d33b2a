"""LabelDialog: edit one token's label, checked as it is typed.

The rules are the ones the create dialog checks (:func:`~desktop.domain.validation.clean_label`):
a label the service would refuse is named under the field while it is typed, and Save waits.
A refusal that comes only from saving (the token went meanwhile) is shown in the dialog, which
stays open with the text as typed: nothing typed is ever lost to an error.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import InvalidInput, TokenDeskError
from desktop.domain.validation import MAX_LABEL, clean_label
from desktop.gui.widgets import ERROR_STYLE, FormGrid, fit_to_contents, message_label, sentence
from desktop.services.display import describe_token, token_title
from desktop.services.tokens import TokenService
from desktop.services.views import TokenView

WIDTH = 460


class LabelDialog(QDialog):
    """Save applies ``set_label``; :attr:`saved` says whether it did."""

    def __init__(self, service: TokenService, token: TokenView, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("LabelDialog")
        self.setWindowTitle(token_title("Edit Label", token.id))
        self._service = service
        self._token = token
        self.saved = False

        about = QLabel(f"Token {describe_token(token)}", self)
        about.setObjectName("labelToken")
        about.setWordWrap(True)
        self._edit = QLineEdit(token.label, self)
        self._edit.setObjectName("labelEdit")
        self._edit.setPlaceholderText("Optional, e.g. Nightly payments import")
        self._edit.setToolTip(f"What the token is for; at most {MAX_LABEL} characters")
        self._edit.setClearButtonEnabled(True)
        self._problem = message_label("labelError", ERROR_STYLE, self)
        self._error = message_label("errorLabel", ERROR_STYLE, self)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.setObjectName("buttonBox")
        self._save = buttons.button(QDialogButtonBox.StandardButton.Save)
        self._save.setObjectName("saveButton")
        self._save.setDefault(True)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        form = FormGrid()
        form.add_row("&Label:", self._edit)
        form.add_row(None, self._problem)
        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(self._error)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self._edit.textChanged.connect(self._changed)
        self._changed()
        self._edit.selectAll()
        self._edit.setFocus()
        self.resize(WIDTH, 1)
        fit_to_contents(self, WIDTH)

    @property
    def edit(self) -> QLineEdit:
        return self._edit

    def problem(self) -> str | None:
        """Why the label as typed would be refused, or None."""
        try:
            clean_label(self._edit.text())
        except InvalidInput as error:
            return sentence(str(error))
        return None

    def _changed(self) -> None:
        problem = self.problem()
        self._problem.setText(problem or "")
        self._problem.setVisible(problem is not None)
        self._save.setEnabled(problem is None)
        self._save.setToolTip(problem or "")
        self._error.hide()
        fit_to_contents(self, WIDTH)

    def accept(self) -> None:
        if self.problem() is not None:
            return
        text = self._edit.text()
        if text.strip() != self._token.label:
            try:
                self._service.set_label(self._token.id, text)
            except TokenDeskError as error:
                self._error.setText(f"The label was not saved: {error}.")
                self._error.show()
                fit_to_contents(self, WIDTH)
                return
            self.saved = True
        super().accept()

    @classmethod
    def ask(cls, service: TokenService, token: TokenView, parent: QWidget | None = None) -> bool:
        """Show the dialog; True when a new label was saved."""
        dialog = cls(service, token, parent)
        try:
            dialog.exec()
            return dialog.saved
        finally:
            dialog.deleteLater()
