"""What the directory dialog's tests share: the seeded directory, the dialog, and reaching its
widgets by object name as a user reaches them by sight."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton, QTableView, QWidget
from pytestqt.qtbot import QtBot

from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService


def seed(service: TokenService) -> TokenService:
    """Two environments (Sandbox without API access), two roles and three agents: Ada and Wes
    may get tokens, Newbie has neither logged in nor signed the agreement."""
    service.add_environment("Production")
    service.add_environment("Sandbox", api_enabled=False)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_role("Writer", ["* /Payments"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("Wes", "Writer", has_logged_in=True, signed_agreement=True)
    service.add_agent("Newbie", "Reader")
    return service


def open_directory(qtbot: QtBot, service: TokenService) -> DirectoryDialog:
    """The dialog, shown (modeless, so the test goes on) and closed with the test."""
    dialog = DirectoryDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def find(dialog: QWidget, kind: type[QObject], name: str) -> Any:
    """The child *name* of type *kind*, as Any: the tests chain Qt's lookups on it (item(),
    currentItem(), widget()), which PySide6 types as Optional where a missing one should simply
    fail the test."""
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def click(qtbot: QtBot, dialog: QWidget, name: str) -> None:
    button = find(dialog, QPushButton, name)
    assert button.isEnabled(), name
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def shown(dialog: QWidget, name: str) -> bool:
    return not find(dialog, QLabel, name).isHidden()


def select_agent(dialog: QWidget, name: str) -> None:
    view = find(dialog, QTableView, "agentList")
    model = view.model()
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == name:
            view.selectRow(row)
            return
    raise AssertionError(name)


def select_role(dialog: QWidget, name: str) -> None:
    roles = find(dialog, QListWidget, "roleList")
    for row in range(roles.count()):
        if roles.item(row).data(Qt.ItemDataRole.UserRole) == name:
            roles.setCurrentRow(row)
            return
    raise AssertionError(name)
