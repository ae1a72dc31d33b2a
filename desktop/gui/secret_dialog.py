"""SecretDialog: shows a new secret in full as it is issued, with a Copy button, and says where it
stays: in this desktop user's keyring, to be copied or revealed again from the window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontDatabase, QFontMetrics, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.widgets import fit_to_contents
from desktop.services.display import KEPT_IN_KEYRING


class _SecretField(QLineEdit):
    """A read-only field whose Copy (Ctrl+C, Ctrl+X or its context menu) goes through *copy*, so
    the secret is marked for clipboard managers and cleared again like every other copy.

    Its text cannot be selected: on X11 a selection is copied at once to the primary selection
    (middle-click paste), unmarked and never cleared. Dragging and the standard context menu,
    which would copy it plainly, are not offered either."""

    def __init__(self, secret: str, copy: Callable[[], None], parent: QWidget) -> None:
        super().__init__(secret, parent)
        self._copy = copy
        self.setReadOnly(True)
        self.setDragEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        copy_action = QAction("&Copy", self)
        copy_action.setObjectName("secretFieldCopy")
        copy_action.triggered.connect(lambda _checked=False: self._copy())
        self.addActions([copy_action])
        self.selectionChanged.connect(self._no_selection)

    def _no_selection(self) -> None:
        if self.hasSelectedText():
            self.deselect()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy) or event.matches(
            QKeySequence.StandardKey.Cut
        ):
            event.accept()
            self._copy()
            return
        super().keyPressEvent(event)


class SecretDialog(QDialog):
    """The secret sits in a read-only field; its repr and any log line never include it."""

    def __init__(
        self,
        secret: str,
        title: str,
        message: str,
        copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("SecretDialog")
        self.setWindowTitle(title)
        self.__secret = secret
        self._copy = copy

        intro = QLabel(message, self)
        intro.setObjectName("secretMessage")
        intro.setWordWrap(True)
        kept = QLabel(KEPT_IN_KEYRING, self)
        kept.setObjectName("secretKept")
        kept.setWordWrap(True)

        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._field = _SecretField(secret, self._copy_secret, self)
        self._field.setObjectName("secretField")
        self._field.setFont(font)
        self._field.setAccessibleName("Secret")
        self._field.setToolTip("Read-only; use Copy (the clipboard is cleared after a while)")
        width = QFontMetrics(font).horizontalAdvance(secret + "MM")
        self._field.setMinimumWidth(min(max(width, 200), 800))
        field_label = QLabel("&Secret:", self)
        field_label.setBuddy(self._field)

        self._copy_button = QPushButton("&Copy", self)
        self._copy_button.setObjectName("copySecretButton")
        self._copy_button.setToolTip("Copy the secret to the clipboard")
        self._copy_button.setAutoDefault(False)
        self._copy_button.clicked.connect(self._copy_secret)

        self._feedback = QLabel(self)
        self._feedback.setObjectName("copyFeedback")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("buttonBox")
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeButton")
        close.setDefault(True)
        buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(field_label)
        row.addWidget(self._field, 1)
        row.addWidget(self._copy_button)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(kept)
        layout.addSpacing(6)
        layout.addLayout(row)
        layout.addWidget(self._feedback)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.resize(1, 1)
        fit_to_contents(self, 480)
        self._field.setFocus()

    def __repr__(self) -> str:
        return f"<SecretDialog {self.windowTitle()!r}>"

    def _copy_secret(self) -> None:
        self._copy(self.__secret)
        self._copy_button.setText("Copied")
        self._feedback.setText("Copied to the clipboard.")

    @classmethod
    def show_once(
        cls,
        secret: str,
        title: str,
        message: str,
        copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        dialog = cls(secret, title, message, copy, parent)
        try:
            dialog.exec()
        finally:
            dialog._field.clear()
            dialog.deleteLater()
