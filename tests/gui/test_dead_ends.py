"""No dead ends: the create dialog without an eligible agent leads to where one is made, and a
token whose agent may no longer use it says so where the agent is named."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QComboBox, QPushButton, QTabWidget, QWidget
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.create_dialog import CreateTokenDialog
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import Modals, click_button, model
from tests.helpers.widgets import find


def test_without_an_eligible_agent_the_create_dialog_opens_the_agents_tab(
    qtbot: QtBot, context: Context, modals: Modals
) -> None:
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Newbie", "Reader")
    dialog = CreateTokenDialog(service, environment="Production")
    qtbot.addWidget(dialog)
    button = find(dialog, QPushButton, "openAgentsButton")
    assert not button.isHidden() and button.isEnabled()
    assert button.text() == "&Open Agents && Roles…"
    seen: list[str] = []

    def on_agents_tab(directory: QWidget) -> None:
        tabs = find(directory, QTabWidget, "directoryTabs")
        seen.append(tabs.tabText(tabs.currentIndex()))
        # What the person does there: records the login and the signed agreement.
        service.update_agent("Newbie", has_logged_in=True, signed_agreement=True)
        click_button(directory, "closeButton")

    handled = modals.when("DirectoryDialog", on_agents_tab)
    dialog.show()
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)  # by keyboard, as by mouse
    assert handled and seen == ["&Agents"]
    # Back in the dialog: the agent made eligible is offered, and the way out is gone.
    agents = find(dialog, QComboBox, "agentCombo")
    assert [agents.itemData(n) for n in range(agents.count())] == ["Newbie"]
    assert button.isHidden()


def test_with_an_eligible_agent_there_is_no_detour(qtbot: QtBot, service: TokenService) -> None:
    dialog = CreateTokenDialog(service, environment="Production")
    qtbot.addWidget(dialog)
    assert find(dialog, QPushButton, "openAgentsButton").isHidden()


def test_a_token_whose_agent_is_refused_shows_why_on_its_name(
    window: MainWindow, seeded: TokenService
) -> None:
    token = seeded.create_token("Production", "Alpha Bot").token
    other = seeded.create_token("Production", "Beta Sync").token
    window.sync.reload()
    name = model(window).index(model(window).row_of(token.id) or 0, Column.NAME)
    assert name.data(Qt.ItemDataRole.DecorationRole) is None

    seeded.set_agent_disabled("Alpha Bot", True)
    window.sync.catch_up()
    name = model(window).index(model(window).row_of(token.id) or 0, Column.NAME)
    icon = name.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert name.data(Qt.ItemDataRole.ToolTipRole) == (
        "Agent 'Alpha Bot' is disabled: every request with this token gets 401"
    )

    seeded.set_agent_disabled("Alpha Bot", False)
    seeded.update_agent("Alpha Bot", signed_agreement=False)
    window.sync.catch_up()
    name = model(window).index(model(window).row_of(token.id) or 0, Column.NAME)
    assert name.data(Qt.ItemDataRole.ToolTipRole) == (
        "Agent 'Alpha Bot' has not signed the usage agreement: every request with this token "
        "gets 401"
    )
    fine = model(window).index(model(window).row_of(other.id) or 0, Column.NAME)
    assert fine.data(Qt.ItemDataRole.DecorationRole) is None


def test_the_role_cell_lists_what_the_role_allows(window: MainWindow, seeded: TokenService) -> None:
    seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    role = model(window).index(0, Column.ROLE)
    assert role.data(Qt.ItemDataRole.ToolTipRole) == "Reader allows:\nGET /Customers\nGET /Loans"
    # A permission granted later shows at once (a directory change, no token changes).
    seeded.set_role_permissions("Reader", ["GET /Loans", "POST /Payments"])
    window.sync.catch_up()
    role = model(window).index(0, Column.ROLE)
    assert role.data(Qt.ItemDataRole.ToolTipRole) == "Reader allows:\nGET /Loans\nPOST /Payments"
