"""New token creates in the environment being viewed, never in a quiet default."""

from __future__ import annotations

from typing import cast

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QComboBox, QDialog, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import Answers, Modals, action, click_button


def press_new_token(qtbot: QtBot, window: MainWindow) -> None:
    """Ctrl+N (the platform's New), pressed while the table has the focus."""
    qtbot.keySequence(window.table, QKeySequence(QKeySequence.StandardKey.New))


def environment_combo(dialog: QWidget) -> QComboBox:
    combo = dialog.findChild(QComboBox, "environmentCombo")
    assert combo is not None
    return combo


def create_button(dialog: QWidget) -> QPushButton:
    button = dialog.findChild(QPushButton, "createButton")
    assert button is not None
    return button


def view(window: MainWindow, text: str) -> None:
    selector = window.environment_selector
    index = selector.findText(text)
    assert index >= 0, text
    selector.setCurrentIndex(index)


def test_new_token_opens_on_the_environment_viewed(
    qtbot: QtBot, window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    view(window, "Staging")
    seen: list[str] = []

    def look(dialog: QWidget) -> None:
        seen.append(environment_combo(dialog).currentData())
        cast(QDialog, dialog).reject()

    opened = modals.when("CreateTokenDialog", look)
    press_new_token(qtbot, window)
    assert opened
    assert seen == ["Staging"]


def test_new_token_is_disabled_where_api_access_is_off_and_says_why(
    qtbot: QtBot, window: MainWindow, seeded: TokenService, answers: Answers, modals: Modals
) -> None:
    create = action(window, "actionCreateToken")
    assert create.isEnabled()
    default_tip = create.statusTip()

    view(window, "Staging")
    window.api_toggle.click()  # off, after the confirmation (answered yes)
    assert not create.isEnabled()
    assert create.statusTip() == "Turn on API access for Staging first"
    assert create.toolTip().startswith("Turn on API access for Staging first")

    opened = modals.when("CreateTokenDialog", lambda d: cast(QDialog, d).reject(), timeout_ms=200)
    press_new_token(qtbot, window)  # a dialog would be modal: handled by now
    assert not opened  # Ctrl+N opened nothing

    view(window, "Production")  # API access on: New token is back
    assert create.isEnabled()
    assert create.statusTip() == default_tip

    view(window, "Staging")
    assert not create.isEnabled()
    window.api_toggle.click()  # on again
    assert create.isEnabled()
    assert create.statusTip() == default_tip
    assert "Turn on" not in create.toolTip()


def test_new_token_follows_api_access_changed_elsewhere(
    window: MainWindow, seeded: TokenService
) -> None:
    view(window, "Staging")
    create = action(window, "actionCreateToken")
    seeded.set_api_enabled("Staging", False)  # e.g. from the command line
    window.sync.catch_up()
    assert not create.isEnabled()
    assert create.statusTip() == "Turn on API access for Staging first"


def test_all_environments_asks_for_the_environment(
    qtbot: QtBot, window: MainWindow, seeded: TokenService, answers: Answers, modals: Modals
) -> None:
    view(window, "All environments")
    assert action(window, "actionCreateToken").isEnabled()
    before: list[tuple[int, bool]] = []

    def fill(dialog: QWidget) -> None:
        combo = environment_combo(dialog)
        before.append((combo.currentIndex(), create_button(dialog).isEnabled()))
        label = dialog.findChild(QLineEdit, "labelEdit")
        assert label is not None
        label.setText("Chosen")
        create_button(dialog).click()  # refused: nothing is created, the dialog stays
        assert dialog.isVisible()
        combo.setCurrentIndex(combo.findData("Staging"))
        assert create_button(dialog).isEnabled()
        click_button(dialog, "createButton")

    created = modals.when("CreateTokenDialog", fill)
    press_new_token(qtbot, window)
    assert created
    assert before == [(-1, False)]  # no environment preselected, OK disabled
    new = [t for t in seeded.tokens() if t.label == "Chosen"]
    assert [t.environment for t in new] == ["Staging"]
