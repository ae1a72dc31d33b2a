"""What the directory dialog's tests share: the dialog, choosing an agent or a role, and
reaching its widgets by object name (tests/helpers/widgets.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QTableView, QWidget
from pytestqt.qtbot import QtBot

from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from tests.helpers.widgets import click as click
from tests.helpers.widgets import find as find
from tests.helpers.widgets import shown as shown


def open_directory(qtbot: QtBot, service: TokenService) -> DirectoryDialog:
    """The dialog, shown (modeless, so the test goes on) and closed with the test."""
    dialog = DirectoryDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


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


class SaveAnswers:
    """Stands in for the person asked whether to save unsaved changes (the messages seam):
    gives ``answer`` and notes each question asked."""

    def __init__(self) -> None:
        self.answer: str = "discard"
        self.asked: list[str] = []

    def __call__(self, parent: QWidget | None, title: str, text: str, informative: str = "") -> str:
        self.asked.append(text)
        return self.answer
