"""The Environments tab: API access switched from the table, environments added below it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QTableWidget
from pytestqt.qtbot import QtBot

from desktop.gui.directory.environments_tab import EnvironmentsTab
from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret
from tests.gui.directory.helpers import click, find


def test_directory_adds_environments_and_toggles_api_access(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService
) -> None:
    find(directory, QLineEdit, "environmentNameEdit").setText("QA")
    find(directory, QCheckBox, "environmentApiEnabled").setChecked(False)
    with qtbot.waitSignal(directory.changed):
        click(qtbot, directory, "addEnvironmentButton")
    assert service.environment("QA").api_enabled is False
    assert find(directory, QTableWidget, "environmentList").rowCount() == 3

    with qtbot.waitSignal(directory.changed):
        directory.set_api_access("Production", False)
    assert service.environment("Production").api_enabled is False
    with qtbot.waitSignal(directory.changed):
        directory.set_api_access("QA", True)
    assert service.environment("QA").api_enabled is True

    before = service.environments()
    find(directory, QLineEdit, "environmentNameEdit").setText("production")
    with qtbot.assertNotEmitted(directory.changed):
        click(qtbot, directory, "addEnvironmentButton")
    assert "already exists" in find(directory, QLabel, "directoryError").text()
    assert service.environments() == before


def test_environments_tab_shows_access_and_token_counts(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    tab = EnvironmentsTab(service)
    qtbot.addWidget(tab)
    tab.load()
    table = find(tab, QTableWidget, "environmentList")
    rows = [
        [table.item(row, column).text() for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]
    assert rows == [["Production", "Enabled", "1"], ["Sandbox", "Disabled", "0"]]
    assert table.item(0, 1).checkState() == Qt.CheckState.Checked
    assert table.item(1, 1).checkState() == Qt.CheckState.Unchecked

    with qtbot.waitSignal(tab.succeeded) as switched:
        tab.set_api_access("Sandbox", True)
    assert switched.args == ["API access enabled for Sandbox."]
    assert table.item(1, 1).text() == "Enabled"
    with pytest.raises(KeyError):
        tab.set_api_access("Nowhere", True)


def test_environments_tab_reports_a_refused_name(qtbot: QtBot, service: TokenService) -> None:
    tab = EnvironmentsTab(service)
    qtbot.addWidget(tab)
    tab.load()
    name = find(tab, QLineEdit, "environmentNameEdit")
    name.setText("sandbox")
    with qtbot.waitSignal(tab.failed) as refused, qtbot.assertNotEmitted(tab.succeeded):
        click(qtbot, tab, "addEnvironmentButton")
    assert refused.args[0] == "The environment was not added"
    assert refused.args[1] == (
        "an environment named 'Sandbox' already exists; 'sandbox' is the same name (names that "
        "differ only in case or in how their letters are encoded are one name)"
    )
    assert name.text() == "sandbox"  # kept, to be corrected


def test_a_new_environment_starts_without_api_access_unless_ticked(
    qtbot: QtBot, service: TokenService
) -> None:
    tab = EnvironmentsTab(service)
    qtbot.addWidget(tab)
    tab.load()
    access = find(tab, QCheckBox, "environmentApiEnabled")
    assert not access.isChecked()
    find(tab, QLineEdit, "environmentNameEdit").setText("Preview")
    click(qtbot, tab, "addEnvironmentButton")
    assert service.environment("Preview").api_enabled is False
    access.setChecked(True)
    find(tab, QLineEdit, "environmentNameEdit").setText("Live")
    click(qtbot, tab, "addEnvironmentButton")
    assert service.environment("Live").api_enabled is True


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("SANDBOX", "an environment named 'Sandbox' already exists"),
        ("Sand\u00a0box", "(U+00A0 NO-BREAK SPACE); use an ordinary space"),
        ("Sand\u200bbox", "an invisible character (U+200B ZERO WIDTH SPACE)"),
    ],
)
def test_the_dialog_refuses_a_name_that_reads_like_another(
    qtbot: QtBot, directory: DirectoryDialog, service: TokenService, typed: str, message: str
) -> None:
    before = service.environments()
    find(directory, QLineEdit, "environmentNameEdit").setText(typed)
    with qtbot.assertNotEmitted(directory.changed):
        click(qtbot, directory, "addEnvironmentButton")
    error = find(directory, QLabel, "directoryError").text()
    assert message in error
    assert "\u00a0" not in error and "\u200b" not in error
    assert service.environments() == before
