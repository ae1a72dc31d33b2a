"""The Roles tab: roles added, their permissions ticked in the grid, kept as drafts per role
until saved or reverted."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QListWidget, QPushButton, QTableWidget
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.directory.roles_tab import GRID_HEADERS, GRID_METHODS, RolesTab
from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from tests.gui.directory.helpers import click, find, select_role, shown


def test_directory_adds_a_role(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    find(directory, QLineEdit, "roleNameEdit").setText("Auditor")
    with qtbot.waitSignal(directory.changed):
        click(qtbot, directory, "addRoleButton")
    assert service.role("Auditor").permissions == ()
    assert directory.current_role() == "Auditor"
    agent_roles = find(directory, QComboBox, "agentRoleCombo")
    assert agent_roles.findData("Auditor") >= 0  # offered to agents at once

    before = service.roles()
    find(directory, QLineEdit, "roleNameEdit").setText("reader")
    with qtbot.assertNotEmitted(directory.changed):
        click(qtbot, directory, "addRoleButton")
    assert "already exists" in find(directory, QLabel, "directoryError").text()
    assert service.roles() == before


def test_directory_edits_role_permissions(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    select_role(directory, "Reader")
    grid = find(directory, QTableWidget, "permissionGrid")
    assert grid.rowCount() == 2
    assert not find(directory, QPushButton, "saveRoleButton").isEnabled()

    find(directory, QLineEdit, "endpointEdit").setText("/Payments")
    click(qtbot, directory, "addEndpointButton")
    assert grid.rowCount() == 3
    directory.set_permission("/Payments", "POST", True)
    directory.set_permission("/Customers", "GET", False)
    directory.set_permission("/Loans", "*", True)
    assert find(directory, QListWidget, "roleList").currentItem().text() == "Reader •"
    with qtbot.waitSignal(directory.changed):
        click(qtbot, directory, "saveRoleButton")
    assert service.role("Reader").permissions == ("* /Loans", "POST /Payments")
    assert grid.rowCount() == 2  # /Customers, with nothing ticked, went
    assert find(directory, QListWidget, "roleList").currentItem().text() == "Reader"


def test_directory_keeps_unsaved_permissions_per_role_and_can_revert(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    select_role(directory, "Reader")
    directory.set_permission("/Loans", "DELETE", True)
    select_role(directory, "Writer")
    select_role(directory, "Reader")
    assert find(directory, QPushButton, "saveRoleButton").isEnabled()  # the draft survived
    click(qtbot, directory, "revertRoleButton")
    assert not find(directory, QPushButton, "saveRoleButton").isEnabled()
    assert service.role("Reader").permissions == ("GET /Customers", "GET /Loans")


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("/Loans/5", "invalid endpoint '/Loans/5'"),
        ("Payments", "invalid endpoint 'Payments': an endpoint starts with /, such as /Loans"),
        ("two words", "invalid permission"),
        ("/loans", "/loans is already listed"),
        ("", "invalid permission"),
    ],
)
def test_directory_refuses_a_bad_endpoint_inline(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService, endpoint: str, message: str
) -> None:
    select_role(directory, "Reader")
    grid = find(directory, QTableWidget, "permissionGrid")
    find(directory, QLineEdit, "endpointEdit").setText(endpoint)
    with qtbot.assertNotEmitted(directory.changed):
        click(qtbot, directory, "addEndpointButton")
    assert shown(directory, "directoryError")
    assert message in find(directory, QLabel, "directoryError").text()
    assert grid.rowCount() == 2
    assert not find(directory, QPushButton, "saveRoleButton").isEnabled()
    assert service.role("Reader").permissions == ("GET /Customers", "GET /Loans")


def grid_rows(grid: QTableWidget) -> dict[str, list[str]]:
    """Each endpoint row of the grid: the methods ticked."""
    rows: dict[str, list[str]] = {}
    for row in range(grid.rowCount()):
        ticked = rows.setdefault(grid.verticalHeaderItem(row).text(), [])
        for column, method in enumerate(GRID_METHODS):
            item = grid.item(row, column)
            assert item is not None, (row, column)
            if item.checkState() == Qt.CheckState.Checked:
                ticked.append(method)
    return rows


def test_the_grid_shows_the_role_and_greys_methods_out_under_any(
    qtbot: QtBot, directory: DirectoryDialog
) -> None:
    grid = find(directory, QTableWidget, "permissionGrid")
    headers = [grid.horizontalHeaderItem(c).text() for c in range(grid.columnCount())]
    assert headers == list(GRID_HEADERS)
    assert headers == ["Any (*)", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    select_role(directory, "Writer")
    assert find(directory, QLabel, "roleCaption").text() == "Permissions of <b>Writer</b>:"
    assert grid_rows(grid) == {"/Payments": ["*"]}
    get = grid.item(0, GRID_METHODS.index("GET"))
    assert not get.flags() & Qt.ItemFlag.ItemIsEnabled  # covered by Any (*)
    assert get.toolTip() == "GET /Payments"
    assert grid.item(0, 0).toolTip() == "Any method on /Payments"

    directory.set_permission("/Payments", "*", False)
    assert get.flags() & Qt.ItemFlag.ItemIsEnabled
    assert find(directory, QListWidget, "roleList").currentItem().text() == "Writer •"


def test_an_added_endpoint_says_what_to_do_next(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    select_role(directory, "Reader")
    find(directory, QLineEdit, "endpointEdit").setText("  /Payments ")
    with qtbot.assertNotEmitted(directory.changed):
        click(qtbot, directory, "addEndpointButton")
    assert find(directory, QLabel, "directoryStatus").text() == (
        "Tick what Reader may do on /Payments, then save the role."
    )
    assert find(directory, QLineEdit, "endpointEdit").text() == ""
    grid = find(directory, QTableWidget, "permissionGrid")
    assert grid_rows(grid) == {"/Loans": ["GET"], "/Customers": ["GET"], "/Payments": []}
    # Nothing ticked on the new row: saving would change nothing yet.
    assert not find(directory, QPushButton, "saveRoleButton").isEnabled()


def test_removing_an_endpoint_needs_a_row_and_is_saved_with_the_role(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    select_role(directory, "Reader")
    grid = find(directory, QTableWidget, "permissionGrid")
    click(qtbot, directory, "removeEndpointButton")
    assert find(directory, QLabel, "directoryError").text() == (
        "Nothing was removed: select an endpoint row first."
    )

    grid.setCurrentCell(list(grid_rows(grid)).index("/Customers"), 0)
    click(qtbot, directory, "removeEndpointButton")
    assert not shown(directory, "directoryError")
    assert grid_rows(grid) == {"/Loans": ["GET"]}
    assert service.role("Reader").permissions == ("GET /Customers", "GET /Loans")  # not yet
    with qtbot.waitSignal(directory.changed):
        click(qtbot, directory, "saveRoleButton")
    assert service.role("Reader").permissions == ("GET /Loans",)
    assert find(directory, QLabel, "directoryStatus").text() == "Saved role Reader."


def test_roles_tab_offers_a_role_before_it_says_so(qtbot: QtBot, service: TokenService) -> None:
    tab = RolesTab(service)
    qtbot.addWidget(tab)
    tab.load()
    assert tab.names() == ["Reader", "Writer"]
    assert tab.current_role() == "Reader"  # the first role is shown
    order: list[str] = []
    tab.rolesChanged.connect(lambda: order.append(f"roles {tab.names()}"))
    tab.succeeded.connect(lambda text: order.append(text))
    find(tab, QLineEdit, "roleNameEdit").setText("Auditor")
    click(qtbot, tab, "addRoleButton")
    assert order == [
        "roles ['Reader', 'Writer', 'Auditor']",
        "Added role Auditor; add its endpoints and tick what it may do.",
    ]
    assert tab.current_role() == "Auditor"
    assert find(tab, QTableWidget, "permissionGrid").rowCount() == 0


def test_roles_tab_without_roles_asks_for_one(qtbot: QtBot, context: Context) -> None:
    tab = RolesTab(context.service)
    qtbot.addWidget(tab)
    tab.load()
    assert tab.current_role() is None
    assert find(tab, QLabel, "roleCaption").text() == "Add a role to set its permissions."
    for name in ("addEndpointButton", "removeEndpointButton", "saveRoleButton"):
        assert not find(tab, QPushButton, name).isEnabled(), name
    assert not find(tab, QTableWidget, "permissionGrid").isEnabled()
