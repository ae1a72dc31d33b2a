"""The dialog that shows a new secret as it is issued: copied only through the window's
clipboard, never selectable, never in its repr or the log; it says where the secret stays."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from desktop.domain import tokens
from desktop.gui.secret_dialog import SecretDialog
from tests.helpers.widgets import click, find


def test_secret_dialog_shows_the_secret_and_copies_it(qtbot: QtBot) -> None:
    secret = tokens.generate()
    copied: list[str] = []
    dialog = SecretDialog(secret, "Token Created", "Token #1 for Ada is ready.", copied.append)
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "SecretDialog"
    assert dialog.windowTitle() == "Token Created"
    field = find(dialog, QLineEdit, "secretField")
    assert field.text() == secret
    assert field.isReadOnly()
    # One story: the secret stays in this user's keyring and can be had again from here.
    kept = find(dialog, QLabel, "secretKept").text()
    assert kept == (
        "The secret stays in this desktop user's keyring: you can copy or reveal it again here "
        "at any time, and nobody else can read it."
    )
    shown = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "once" not in shown and "only time" not in shown

    click(qtbot, dialog, "copySecretButton")
    assert copied == [secret]
    assert find(dialog, QPushButton, "copySecretButton").text() == "Copied"
    assert find(dialog, QLabel, "copyFeedback").text() == "Copied to the clipboard."


def test_copying_from_the_secret_field_goes_through_the_window(qtbot: QtBot) -> None:
    """Ctrl+C in the focused field must not copy the secret plainly: it goes through the same
    copy as the button, which marks it for clipboard managers and clears it later."""
    secret = tokens.generate()
    copied: list[str] = []
    QApplication.clipboard().setText("before")
    dialog = SecretDialog(secret, "Token Created", "ready", copied.append)
    qtbot.addWidget(dialog)
    dialog.show()
    field = find(dialog, QLineEdit, "secretField")
    dialog.activateWindow()
    qtbot.waitUntil(field.hasFocus)

    qtbot.keySequence(field, QKeySequence(QKeySequence.StandardKey.Copy))
    qtbot.keySequence(field, QKeySequence(QKeySequence.StandardKey.Cut))

    assert copied == [secret, secret]
    assert QApplication.clipboard().text() == "before"
    assert field.text() == secret
    assert field.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    assert [a.objectName() for a in field.actions()] == ["secretFieldCopy"]
    field.actions()[0].trigger()
    assert copied == [secret, secret, secret]


def test_the_secret_cannot_be_selected(qtbot: QtBot) -> None:
    """On X11 selecting text copies it to the primary selection, unmarked and never cleared."""
    secret = tokens.generate()
    dialog = SecretDialog(secret, "Token Created", "ready", lambda _text: None)
    qtbot.addWidget(dialog)
    dialog.show()
    field = find(dialog, QLineEdit, "secretField")
    dialog.activateWindow()
    qtbot.waitUntil(field.hasFocus)
    assert not field.hasSelectedText()

    QTest.keyClick(field, Qt.Key.Key_Home)
    QTest.keyClick(field, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    assert not field.hasSelectedText()
    qtbot.keySequence(field, QKeySequence(QKeySequence.StandardKey.SelectAll))
    assert not field.hasSelectedText()
    qtbot.mouseDClick(field, Qt.MouseButton.LeftButton)
    assert not field.hasSelectedText()
    field.selectAll()
    assert field.selectedText() == ""


def test_secret_dialog_never_puts_the_secret_in_its_repr_or_the_log(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tokens.generate()
    with caplog.at_level(logging.DEBUG):
        dialog = SecretDialog(secret, "Token Created", "ready", lambda _text: None)
        qtbot.addWidget(dialog)
        logging.getLogger("tokendesk.test").debug("dialog: %r", dialog)
    assert secret not in repr(dialog)
    assert secret not in str(dialog)
    assert secret not in caplog.text


def test_show_once_runs_the_dialog_and_clears_the_field(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tokens.generate()
    seen: list[str] = []

    def run(self: SecretDialog) -> int:
        seen.append(find(self, QLineEdit, "secretField").text())
        self.reject()
        return self.result()

    monkeypatch.setattr(SecretDialog, "exec", run)
    SecretDialog.show_once(secret, "Token Refreshed", "New secret", lambda _text: None)
    assert seen == [secret]


def test_secret_dialog_closes_with_escape(qtbot: QtBot) -> None:
    dialog = SecretDialog(tokens.generate(), "t", "m", lambda _text: None)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
