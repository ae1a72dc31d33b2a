"""One seam for modal answers: every question or notice the window puts to a person.

The window never builds a QMessageBox itself; it calls these functions through the module
(``messages.confirm(...)``), so tests answer them by replacing the function, and automation
meets standard QMessageBox dialogs whose accept button is named ``confirmButton``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox

    from desktop.gui.refresh_dialog import GraceChoice

# QMessageBox and QInputDialog are imported where a question is asked: making their Python
# types (and enums) costs milliseconds the window's first paint does not need.


def _box(
    parent: QWidget | None,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    informative: str,
) -> QMessageBox:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("messageBox")
    if informative:
        box.setInformativeText(informative)
    return box


def confirm(
    parent: QWidget | None,
    title: str,
    text: str,
    informative: str = "",
    *,
    accept: str = "OK",
    destructive: bool = False,
) -> bool:
    """Ask before acting. *accept* names the action on its button (``Delete``, ``Refresh``);
    for a destructive action the safe answer, Cancel, is the default."""
    from PySide6.QtWidgets import QMessageBox

    box = _box(
        parent,
        QMessageBox.Icon.Warning if destructive else QMessageBox.Icon.Question,
        title,
        text,
        informative,
    )
    ok = box.addButton(accept, QMessageBox.ButtonRole.AcceptRole)
    ok.setObjectName("confirmButton")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("cancelButton")
    box.setDefaultButton(cancel if destructive else ok)
    box.setEscapeButton(cancel)
    box.exec()
    return box.clickedButton() is ok


def confirm_refresh(
    parent: QWidget | None,
    title: str,
    text: str,
    fate: Callable[[timedelta | None], str],
    choices: Sequence[GraceChoice],
    preset: int,
) -> GraceChoice | None:
    """Ask before issuing new secrets, and how long the old ones keep working: the grace
    chosen among *choices* (*preset* first), or None when the person cancels. *fate* words
    what becomes of the old secret under a grace (None: each token's own)."""
    from desktop.gui.refresh_dialog import RefreshDialog

    return RefreshDialog.ask(title, text, fate, choices, preset, parent)


SaveAnswer = Literal["save", "discard", "cancel"]


def ask_save(parent: QWidget | None, title: str, text: str, informative: str = "") -> SaveAnswer:
    """Ask what becomes of unsaved changes before they would be lost: Save (the default),
    Discard, or Cancel (also Esc), which keeps them and stays."""
    from PySide6.QtWidgets import QMessageBox

    box = _box(parent, QMessageBox.Icon.Question, title, text, informative)
    button = QMessageBox.StandardButton
    save = box.addButton(button.Save)
    save.setObjectName("saveButton")
    discard = box.addButton(button.Discard)
    discard.setObjectName("discardButton")
    cancel = box.addButton(button.Cancel)
    cancel.setObjectName("cancelButton")
    box.setDefaultButton(save)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is save:
        return "save"
    return "discard" if clicked is discard else "cancel"


def inform(parent: QWidget | None, title: str, text: str, informative: str = "") -> None:
    from PySide6.QtWidgets import QMessageBox

    box = _box(parent, QMessageBox.Icon.Information, title, text, informative)
    box.addButton(QMessageBox.StandardButton.Ok).setObjectName("confirmButton")
    box.exec()


def error(parent: QWidget | None, title: str, text: str, informative: str = "") -> None:
    from PySide6.QtWidgets import QMessageBox

    box = _box(parent, QMessageBox.Icon.Critical, title, text, informative)
    box.addButton(QMessageBox.StandardButton.Ok).setObjectName("confirmButton")
    box.exec()


def show_secret(
    parent: QWidget | None,
    secret: str,
    title: str,
    message: str,
    copy: Callable[[str], None],
) -> None:
    """Show a new secret as it is issued, with a Copy button (it stays in the keyring, where
    Copy and Reveal find it again)."""
    from desktop.gui.secret_dialog import SecretDialog

    SecretDialog.show_once(secret, title, message, copy, parent)
