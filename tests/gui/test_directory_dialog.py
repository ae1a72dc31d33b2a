"""The directory dialog as a whole: its three tabs, the message line they share, Enter that
never closes it, and the agents' choice of roles kept in step with the Roles tab. Each tab's
own behaviour is tested in tests/gui/directory."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QListWidget, QTableView, QTabWidget
from pytestqt.qtbot import QtBot

from desktop.gui import messages
from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from tests.gui.directory.helpers import (
    SaveAnswers,
    click,
    find,
    open_directory,
    select_role,
    shown,
)


@pytest.fixture(autouse=True)
def save_answers(monkeypatch: pytest.MonkeyPatch) -> SaveAnswers:
    answers = SaveAnswers()
    monkeypatch.setattr(messages, "ask_save", answers)
    return answers


@pytest.fixture
def directory(qtbot: QtBot, service: TokenService) -> DirectoryDialog:
    return open_directory(qtbot, service)


def test_directory_shows_agents_roles_and_environments_in_that_order(
    directory: DirectoryDialog,
) -> None:
    assert directory.objectName() == "DirectoryDialog"
    assert directory.windowTitle() == "Agents & Roles"
    tabs = find(directory, QTabWidget, "directoryTabs")
    assert [tabs.tabText(index) for index in range(tabs.count())] == [
        "&Agents",
        "&Roles",
        "&Environments",
    ]
    assert [tabs.widget(index).objectName() for index in range(tabs.count())] == [
        "agentsTab",
        "rolesTab",
        "environmentsTab",
    ]
    assert not shown(directory, "directoryError")
    assert find(directory, QLabel, "directoryStatus").text() == ""


def test_directory_enter_in_a_field_adds_and_does_not_close(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    find(directory, QTabWidget, "directoryTabs").setCurrentIndex(2)
    edit = find(directory, QLineEdit, "environmentNameEdit")
    edit.setFocus()
    edit.setText("Preview")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert directory.isVisible()
    assert service.environment("Preview").api_enabled is False  # off unless ticked


def test_directory_forgets_an_old_message_on_another_tab(
    qtbot: QtBot, directory: DirectoryDialog
) -> None:
    find(directory, QLineEdit, "agentNameEdit").setText("Ada")
    click(qtbot, directory, "addAgentButton")
    assert shown(directory, "directoryError")
    find(directory, QTabWidget, "directoryTabs").setCurrentIndex(1)
    assert not shown(directory, "directoryError")
    assert find(directory, QLabel, "directoryError").text() == ""

    find(directory, QLineEdit, "roleNameEdit").setText("Auditor")
    click(qtbot, directory, "addRoleButton")
    assert find(directory, QLabel, "directoryStatus").text().startswith("Added role Auditor")
    find(directory, QTabWidget, "directoryTabs").setCurrentIndex(0)
    assert find(directory, QLabel, "directoryStatus").text() == ""


def test_directory_reload_reads_changes_made_elsewhere_and_keeps_drafts(
    directory: DirectoryDialog, service: TokenService
) -> None:
    select_role(directory, "Writer")
    directory.set_permission("/Payments", "*", False)
    service.add_role("Auditor", ["GET /Audit"])
    service.add_agent("Carol", "Auditor")
    service.add_environment("QA", api_enabled=True)

    directory.reload()
    roles = find(directory, QListWidget, "roleList")
    assert [roles.item(row).text() for row in range(roles.count())] == [
        "Auditor",
        "Reader",
        "Writer •",
    ]
    assert directory.current_role() == "Writer"  # the selection stays, the draft too
    assert find(directory, QComboBox, "agentRoleCombo").findData("Auditor") >= 0
    agents = find(directory, QTableView, "agentList").model()
    assert "Carol" in [agents.index(row, 0).data() for row in range(agents.rowCount())]
    directory.set_api_access("QA", False)
    assert service.environment("QA").api_enabled is False


def test_directory_offers_a_new_role_to_agents_at_the_end_until_reloaded(
    qtbot: QtBot, directory: DirectoryDialog
) -> None:
    find(directory, QLineEdit, "roleNameEdit").setText("Auditor")
    click(qtbot, directory, "addRoleButton")
    combo = find(directory, QComboBox, "agentRoleCombo")
    assert [combo.itemData(index) for index in range(combo.count())] == [
        "Reader",
        "Writer",
        "Auditor",
    ]
    directory.reload()
    assert [combo.itemData(index) for index in range(combo.count())] == [
        "Auditor",
        "Reader",
        "Writer",
    ]


@pytest.mark.parametrize("how", ["escape", "closeButton", "titleBar"])
def test_directory_asks_before_closing_over_an_unsaved_role(
    qtbot: QtBot,
    directory: DirectoryDialog,
    service: TokenService,
    save_answers: SaveAnswers,
    how: str,
) -> None:
    def close() -> None:
        if how == "escape":
            QTest.keyClick(directory, Qt.Key.Key_Escape)
        elif how == "closeButton":
            click(qtbot, directory, "closeButton")
        else:
            directory.close()

    select_role(directory, "Reader")
    directory.set_permission("/Loans", "DELETE", True)
    save_answers.answer = "cancel"
    close()
    assert save_answers.asked == ["Save changes to role Reader?"]
    assert directory.isVisible()
    assert find(directory, QListWidget, "roleList").currentItem().text() == "Reader •"

    save_answers.answer = "save"
    close()
    assert not directory.isVisible()
    assert "DELETE /Loans" in service.role("Reader").permissions
