"""The Agents tab: the agents' table model and the form that adds or edits an agent."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.directory.agents_tab import AgentsTab, AgentTableModel
from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from desktop.services.views import AgentView, IssuedSecret
from tests.gui.directory.helpers import SaveAnswers, click, find, select_agent, shown


def test_directory_lists_agents_with_their_state(
    directory: DirectoryDialog, qtmodeltester: ModelTester, ada_token: IssuedSecret
) -> None:
    assert directory.objectName() == "DirectoryDialog"
    assert find(directory, QTabWidget, "directoryTabs").count() == 3
    directory.reload()
    model = find(directory, QTableView, "agentList").model()
    qtmodeltester.check(model)
    rows = [
        [model.index(row, column).data() for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]
    assert rows == [
        ["Ada", "Reader", "Yes", "Yes", "Yes", "1"],
        ["Newbie", "Reader", "No", "No", "No", "0"],
        ["Wes", "Writer", "Yes", "Yes", "Yes", "0"],
    ]
    assert model.index(1, 4).data(Qt.ItemDataRole.ToolTipRole) == (
        "Newbie has never logged in and has not signed the usage agreement"
    )


def test_agent_model_passes_the_model_tester_empty_and_filled(
    qtbot: QtBot, qtmodeltester: ModelTester
) -> None:
    model = AgentTableModel()
    qtmodeltester.check(model)
    model.set_agents(
        [
            AgentView(1, "Ada", "Reader", True, True, 12),
            AgentView(2, "Lou", "Writer", True, False, 0),
        ]
    )
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == list(
        AgentTableModel.HEADERS
    )
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole) == "May be given new tokens"
    assert model.index(1, 4).data(Qt.ItemDataRole.ToolTipRole) == (
        "Lou has not signed the usage agreement"
    )
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) is None
    assert model.index(0, 5).data(Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )
    assert (model.row_of("Lou"), model.row_of("Nobody")) == (1, -1)
    assert model.agent(1).name == "Lou"


def test_directory_adds_an_agent(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    assert not find(directory, QPushButton, "addAgentButton").isEnabled()  # no name yet
    find(directory, QLineEdit, "agentNameEdit").setText("Carol")
    find(directory, QComboBox, "agentRoleCombo").setCurrentText("Writer")
    find(directory, QCheckBox, "agentLoggedIn").setChecked(True)
    with qtbot.waitSignal(directory.changed):
        click(qtbot, directory, "addAgentButton")
    carol = service.agent("Carol")
    assert (carol.role, carol.has_logged_in, carol.signed_agreement) == ("Writer", True, False)
    assert not shown(directory, "directoryError")
    assert find(directory, QLabel, "directoryStatus").text() == "Added agent Carol."


def test_directory_refuses_a_duplicate_agent_inline(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    before = service.agents()
    find(directory, QLineEdit, "agentNameEdit").setText("Ada")
    with qtbot.assertNotEmitted(directory.changed):
        click(qtbot, directory, "addAgentButton")
    assert shown(directory, "directoryError")
    assert find(directory, QLabel, "directoryError").text() == (
        "The agent was not added: an agent named 'Ada' already exists."
    )
    assert service.agents() == before


def test_directory_edits_an_agent(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    select_agent(directory, "Newbie")
    name = find(directory, QLineEdit, "agentNameEdit")
    assert name.text() == "Newbie"
    assert name.isReadOnly()
    assert not find(directory, QPushButton, "saveAgentButton").isEnabled()  # nothing changed
    assert not find(directory, QPushButton, "addAgentButton").isEnabled()
    find(directory, QCheckBox, "agentLoggedIn").setChecked(True)
    find(directory, QCheckBox, "agentSignedAgreement").setChecked(True)
    find(directory, QComboBox, "agentRoleCombo").setCurrentText("Writer")
    with qtbot.waitSignal(directory.changed):
        click(qtbot, directory, "saveAgentButton")
    newbie = service.agent("Newbie")
    assert newbie.eligible
    assert newbie.role == "Writer"
    assert find(directory, QLineEdit, "agentNameEdit").text() == "Newbie"  # still selected

    click(qtbot, directory, "newAgentButton")
    assert not name.isReadOnly()
    assert name.text() == ""


def test_agents_tab_reports_through_its_signals(qtbot: QtBot, service: TokenService) -> None:
    tab = AgentsTab(service)
    qtbot.addWidget(tab)
    tab.load(["Reader", "Writer"])
    find(tab, QLineEdit, "agentNameEdit").setText("Wes")
    with qtbot.waitSignal(tab.failed) as refused, qtbot.assertNotEmitted(tab.succeeded):
        click(qtbot, tab, "addAgentButton")
    assert refused.args == ["The agent was not added", "an agent named 'Wes' already exists"]

    find(tab, QLineEdit, "agentNameEdit").setText("Zoe")
    with qtbot.waitSignal(tab.succeeded) as added:
        click(qtbot, tab, "addAgentButton")
    assert added.args == ["Added agent Zoe."]
    assert find(tab, QLineEdit, "agentNameEdit").text() == "Zoe"  # selected once added
    assert find(tab, QComboBox, "agentRoleCombo").count() == 2  # the roles stay offered

    with qtbot.waitSignal(tab.cleared):
        select_agent(tab, "Ada")


def test_agents_tab_asks_for_a_role_before_an_agent(qtbot: QtBot, context: Context) -> None:
    tab = AgentsTab(context.service)
    qtbot.addWidget(tab)
    tab.load([])
    find(tab, QLineEdit, "agentNameEdit").setText("Carol")
    add = find(tab, QPushButton, "addAgentButton")
    assert not add.isEnabled()
    assert add.toolTip() == "Add a role first"


def test_directory_disables_and_enables_an_agent_from_the_keyboard(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService, ada_token: IssuedSecret
) -> None:
    button = find(directory, QPushButton, "disableAgentButton")
    assert not button.isEnabled()  # nobody selected
    select_agent(directory, "Ada")
    assert button.isEnabled() and button.text() == "D&isable agent"
    assert button.focusPolicy() & Qt.FocusPolicy.TabFocus  # reached with Tab
    button.setFocus()
    with qtbot.waitSignal(directory.changed):
        QTest.keyClick(button, Qt.Key.Key_Space)
    assert service.agent("Ada").disabled
    assert service.verify("Production", ada_token.secret, "GET", "/Loans").reason == (
        "agent 'Ada' is disabled"
    )
    model = find(directory, QTableView, "agentList").model()
    assert model.index(0, 4).data() == "No (disabled)"
    assert model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole) == "Ada is disabled"
    assert find(directory, QLabel, "directoryStatus").text() == (
        "Disabled agent Ada: its tokens are refused."
    )
    assert button.text() == "Ena&ble agent"  # still selected: the same button gives it back
    with qtbot.waitSignal(directory.changed):
        QTest.keyClick(button, Qt.Key.Key_Space)
    assert not service.agent("Ada").disabled
    assert service.verify("Production", ada_token.secret, "GET", "/Loans").status == 200
    assert button.text() == "D&isable agent"


def test_directory_asks_before_another_agent_drops_unsaved_changes(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService, save_answers: SaveAnswers
) -> None:
    select_agent(directory, "Newbie")
    find(directory, QCheckBox, "agentLoggedIn").setChecked(True)
    save_answers.answer = "cancel"
    select_agent(directory, "Ada")
    assert save_answers.asked == ["Save changes to agent Newbie?"]
    assert find(directory, QLineEdit, "agentNameEdit").text() == "Newbie"
    assert find(directory, QCheckBox, "agentLoggedIn").isChecked()  # the edit is intact

    save_answers.answer = "save"
    select_agent(directory, "Ada")
    assert service.agent("Newbie").has_logged_in
    assert find(directory, QLineEdit, "agentNameEdit").text() == "Ada"
