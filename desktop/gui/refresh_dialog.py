"""RefreshDialog: the confirmation before a token gets a new secret, which also asks how long the
old secret keeps working (the grace period), preset from the token's own.

A plain QMessageBox cannot hold the choice, so this is a small dialog that reads like one: the
question, what happens to the old secret under the grace chosen (updated as it changes), and
Refresh or Cancel, with Cancel the default as for every destructive confirmation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.rotation_picker import GRACE_PRESETS, GRACE_TOOLTIP
from desktop.gui.widgets import FormGrid, fit_to_contents
from desktop.services.display import format_duration


class GraceChoice(NamedTuple):
    """One entry of the grace combo: its text and the grace it sets for this refresh."""

    text: str
    grace: timedelta | None  # None: each token keeps its own configured grace


EACH_OWN = "Each token's own grace period"


def grace_choices(graces: Sequence[timedelta]) -> tuple[list[GraceChoice], int]:
    """The grace periods a refresh of tokens configured with *graces* offers, and which one is
    preset: their own grace when they share one (added when it is no preset), else "each
    token's own"."""
    choices = [GraceChoice(text, value) for text, value in GRACE_PRESETS]
    own = set(graces)
    if len(own) > 1:
        return [GraceChoice(EACH_OWN, None), *choices], 0
    grace = own.pop() if own else timedelta(0)
    for n, choice in enumerate(choices):
        if choice.grace == grace:
            return choices, n
    choices.append(GraceChoice(format_duration(grace), grace))
    choices.sort(key=lambda choice: choice.grace or timedelta(0))
    return choices, next(n for n, choice in enumerate(choices) if choice.grace == grace)


class RefreshDialog(QDialog):
    """Asks before issuing new secrets; :attr:`choice` is the grace chosen once accepted.

    *fate* words what becomes of the old secret(s) under a grace (None: each token's own).
    """

    def __init__(
        self,
        title: str,
        text: str,
        fate: Callable[[timedelta | None], str],
        choices: Sequence[GraceChoice],
        preset: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("refreshDialog")
        self.setWindowTitle(title)
        self._fate = fate
        self._choices = list(choices)
        self.choice: GraceChoice | None = None

        icon = QLabel(self)
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize, None, self)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        question = QLabel(text, self)
        question.setObjectName("refreshText")
        question.setWordWrap(True)
        self._informative = QLabel(self)
        self._informative.setObjectName("refreshInformative")
        self._informative.setWordWrap(True)

        self._grace = QComboBox(self)
        self._grace.setObjectName("refreshGrace")
        self._grace.setAccessibleName("Old secret valid for")
        self._grace.setToolTip(GRACE_TOOLTIP)
        for choice in self._choices:
            self._grace.addItem(choice.text)
        self._grace.setCurrentIndex(preset)
        form = FormGrid()
        form.add_row("Old secret &valid for:", self._grace)

        buttons = QDialogButtonBox(self)
        buttons.setObjectName("buttonBox")
        self._refresh = buttons.addButton("&Refresh", QDialogButtonBox.ButtonRole.AcceptRole)
        self._refresh.setObjectName("confirmButton")
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("cancelButton")
        # Destructive: Enter answers Cancel unless Refresh is chosen on purpose.
        self._refresh.setAutoDefault(False)
        cancel.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        texts = QVBoxLayout()
        texts.addWidget(question)
        texts.addWidget(self._informative)
        texts.addLayout(form)
        top = QHBoxLayout()
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(texts, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self._grace.currentIndexChanged.connect(self._chosen)
        self._chosen()
        self._grace.setFocus()

    @property
    def grace_choice(self) -> GraceChoice:
        """The grace chosen in the combo."""
        return self._choices[self._grace.currentIndex()]

    def _chosen(self) -> None:
        self._informative.setText(self._fate(self.grace_choice.grace))
        fit_to_contents(self, 460)

    def accept(self) -> None:
        self.choice = self.grace_choice
        super().accept()

    @classmethod
    def ask(
        cls,
        title: str,
        text: str,
        fate: Callable[[timedelta | None], str],
        choices: Sequence[GraceChoice],
        preset: int,
        parent: QWidget | None = None,
    ) -> GraceChoice | None:
        """The grace chosen, or None when the person cancels."""
        dialog = cls(title, text, fate, choices, preset, parent)
        try:
            dialog.exec()
            return dialog.choice
        finally:
            dialog.deleteLater()
