"""The main window against a real SQLite file and the real keyring, offscreen."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.app import Context, main_window_for, open_context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.gui.main_window import MainWindow
from desktop.gui.token_model import Column, TokenTableModel, format_time
from desktop.secrets import store as secret_store
from desktop.services.tokens import TokenService
from tests.gui.conftest import Answers, Modals, click_button, open_window, seed
from tests.helpers.clock import FakeClock

ROOT = Path(__file__).resolve().parents[2]
ALL_ACTIONS = (
    "actionCreateToken",
    "actionActivate",
    "actionDeactivate",
    "actionRefresh",
    "actionRotate",
    "actionCopyToken",
    "actionRevealToken",
    "actionEditLabel",
    "actionDelete",
)


def action(window: MainWindow, name: str) -> QAction:
    found = window.findChild(QAction, name)
    assert found is not None, name
    return found


def enabled(window: MainWindow) -> dict[str, bool]:
    return {name: action(window, name).isEnabled() for name in ALL_ACTIONS}


def table(window: MainWindow) -> QTableView:
    found = window.findChild(QTableView, "tokenTable")
    assert found is not None
    return found


def model(window: MainWindow) -> TokenTableModel:
    found = table(window).model()
    assert isinstance(found, TokenTableModel)
    return found


def shown_ids(window: MainWindow) -> list[int]:
    m = model(window)
    return [m.token_at(row).id for row in range(m.rowCount())]


def make_tokens(service: TokenService, count: int, environment: str = "Production") -> list[int]:
    agents = ("Alpha Bot", "Beta Sync", "Gamma ETL")
    return [
        service.create_token(environment, agents[n % 3], label=f"job {n:02d}").token.id
        for n in range(count)
    ]


def test_object_names_and_headers(window: MainWindow) -> None:
    assert window.objectName() == "MainWindow"
    assert isinstance(window.findChild(QComboBox, "environmentSelector"), QComboBox)
    assert isinstance(window.findChild(QCheckBox, "apiAccessToggle"), QCheckBox)
    search = window.findChild(QLineEdit, "tokenFilter")
    assert search is not None and search.placeholderText() == "Filter tokens (Ctrl+F)"
    for name in (
        *ALL_ACTIONS,
        "actionFind",
        "actionAgentsRoles",
        "actionAuditLog",
        "actionTryRequest",
        "actionQuit",
    ):
        assert action(window, name) is not None
    headers = [model(window).headerData(c, Qt.Orientation.Horizontal) for c in range(8)]
    assert headers[:5] == ["API Token", "Name", "Label", "Role", "Status"]
    assert str(window.context.data_dir) in window.windowTitle()


def test_shortcuts(window: MainWindow) -> None:
    assert action(window, "actionCreateToken").shortcut() == QKeySequence(
        QKeySequence.StandardKey.New
    )
    assert action(window, "actionCopyToken").shortcut() == QKeySequence(
        QKeySequence.StandardKey.Copy
    )
    assert action(window, "actionDelete").shortcut() == QKeySequence(
        QKeySequence.StandardKey.Delete
    )
    assert action(window, "actionFind").shortcut() == QKeySequence(QKeySequence.StandardKey.Find)
    # Copy and Delete act on the table only: in the filter box they edit text.
    assert action(window, "actionCopyToken").shortcutContext() == (
        Qt.ShortcutContext.WidgetWithChildrenShortcut
    )
    assert action(window, "actionCopyToken") in table(window).actions()


def test_toolbar_tooltips_name_the_shortcut(window: MainWindow) -> None:
    for name, key in (
        ("actionCreateToken", QKeySequence.StandardKey.New),
        ("actionCopyToken", QKeySequence.StandardKey.Copy),
        ("actionDelete", QKeySequence.StandardKey.Delete),
    ):
        text = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        assert action(window, name).toolTip().endswith(f" ({text})")


def mnemonic(text: str) -> str | None:
    """The letter after a single ampersand, lower-cased; None when there is none."""
    cleaned = text.replace("&&", "")
    index = cleaned.find("&")
    return cleaned[index + 1].lower() if 0 <= index < len(cleaned) - 1 else None


def assert_unique_mnemonics(texts: list[str]) -> None:
    letters = [mnemonic(text) for text in texts]
    assert None not in letters, texts
    duplicates = {letter for letter in letters if letters.count(letter) > 1}
    assert not duplicates, f"{duplicates} used twice in {texts}"


def test_every_menu_has_distinct_mnemonics(window: MainWindow, seeded: TokenService) -> None:
    bar = window.menuBar()
    menus = [a.menu() for a in bar.actions() if a.menu() is not None]
    assert_unique_mnemonics([a.text() for a in bar.actions()])
    for menu in menus:
        assert_unique_mnemonics([a.text() for a in menu.actions() if not a.isSeparator()])
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    window.commands.reveal_token()  # Reveal becomes Hide
    for items in (window.context_menu_actions(), window.token_menu_actions()):
        assert_unique_mnemonics([a.text() for a in items if a is not None])
    window.commands.conceal()


def test_the_window_controls_have_keyboard_access(window: MainWindow) -> None:
    buddies = [label for label in window.findChildren(QLabel) if label.buddy() is not None]
    texts = [label.text() for label in buddies]
    texts += [window.api_toggle.text(), window.keyring_retry.text()]
    texts += [a.text() for a in window.menuBar().actions()]
    assert_unique_mnemonics(texts)
    assert any(label.buddy() is window.environment_selector for label in buddies)


def test_find_focuses_the_filter(window: MainWindow, qtbot: QtBot) -> None:
    window.activateWindow()
    action(window, "actionFind").trigger()
    qtbot.waitUntil(lambda: window.filter_edit.hasFocus())


def test_escape_in_the_filter_clears_it_and_returns_to_the_table(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.activateWindow()
    action(window, "actionFind").trigger()
    qtbot.waitUntil(window.filter_edit.hasFocus)
    qtbot.keyClicks(window.filter_edit, "job 01")
    assert shown_ids(window) == [ids[1]]

    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Escape)

    assert window.filter_edit.text() == ""
    assert shown_ids(window) == ids
    qtbot.waitUntil(lambda: table(window).hasFocus())


def test_enter_in_the_filter_goes_to_the_first_match(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.activateWindow()
    action(window, "actionFind").trigger()
    qtbot.waitUntil(window.filter_edit.hasFocus)
    qtbot.keyClicks(window.filter_edit, "Gamma")

    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: table(window).hasFocus())
    assert [t.id for t in window.selected_tokens()] == [ids[2]]
    assert action(window, "actionCopyToken").isEnabled()


def test_environment_selector_shows_that_environments_tokens(
    window: MainWindow, seeded: TokenService
) -> None:
    production = make_tokens(seeded, 2)
    staging = make_tokens(seeded, 1, "Staging")
    window.sync.reload()
    selector = window.environment_selector
    assert [selector.itemText(i) for i in range(selector.count())] == [
        "Production",
        "Staging",
        "All environments",
    ]
    assert shown_ids(window) == production
    assert window.table.isColumnHidden(Column.ENVIRONMENT)
    selector.setCurrentIndex(1)
    assert shown_ids(window) == staging
    assert window.counts_label.text() == "1 token"


def test_all_environments_shows_every_token_with_its_environment(
    window: MainWindow, seeded: TokenService
) -> None:
    production = make_tokens(seeded, 2)
    staging = make_tokens(seeded, 1, "Staging")
    window.sync.reload()
    selector = window.environment_selector
    selector.setCurrentIndex(selector.findText("All environments"))
    assert window.showing_all()
    assert sorted(shown_ids(window)) == sorted(production + staging)
    assert not window.table.isColumnHidden(Column.ENVIRONMENT)
    assert window.counts_label.text() == "3 tokens"
    assert not window.api_toggle.isEnabled()  # API access is set per environment
    window.filter_edit.setText("staging")  # the Environment column is searched too
    assert shown_ids(window) == staging
    window.filter_edit.clear()
    # A token created elsewhere shows up here, whichever environment it is in.
    extra = seeded.create_token("Staging", "Alpha Bot").token
    window.sync.catch_up()
    assert extra.id in shown_ids(window)
    assert window.counts_label.text() == "4 tokens"


def test_status_bar_counts_and_next_rotation(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 3)
    seeded.set_status(ids[0], False)
    weekly = seeded.set_rotation(ids[1], "weekly")
    window.sync.reload()
    assert window.counts_label.text() == "3 tokens, 1 inactive"
    assert window.next_rotation_label.text() == (
        f"Next rotation in Production: {format_time(weekly.next_rotation_at)}"
    )
    window.filter_edit.setText("job 01")
    assert window.counts_label.text() == "1 of 3 tokens shown, 1 inactive"


def test_next_rotation_is_the_shown_environments(
    window: MainWindow, seeded: TokenService, clock: FakeClock
) -> None:
    weekly = seeded.create_token("Production", "Alpha Bot", rotation="weekly").token
    daily = seeded.create_token("Staging", "Beta Sync", rotation="daily").token
    paused = seeded.create_token("Production", "Gamma ETL", rotation="12h").token
    seeded.set_status(paused.id, False)  # inactive tokens are not rotated
    window.sync.reload()
    # Staging's rotation comes first, but the table shows Production.
    assert window.next_rotation_label.text() == (
        f"Next rotation in Production: {format_time(weekly.next_rotation_at)}"
    )
    window.environment_selector.setCurrentIndex(window.environment_selector.findData("Staging"))
    assert window.next_rotation_label.text() == (
        f"Next rotation in Staging: {format_time(daily.next_rotation_at)}"
    )
    seeded.set_rotation(daily.id, None)
    window.sync.reload()
    assert window.next_rotation_label.text() == "No rotation scheduled in Staging"
    window.environment_selector.setCurrentIndex(window.environment_selector.findData("Production"))
    clock.advance(timedelta(days=8))  # overdue (the scheduler is not running here)
    window.sync.reload()
    assert window.next_rotation_label.text() == "Next rotation in Production: due now"


def test_api_access_toggle_turns_every_token_into_401(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    assert window.api_toggle.isChecked()
    assert not window.api_banner.isVisible()
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 200

    window.api_toggle.click()

    assert len(answers.confirmations) == 1
    assert "401" in answers.confirmations[0][2]
    assert not window.api_toggle.isChecked()
    assert window.api_banner.isVisible()
    assert window.api_banner.text().startswith(
        "API access is disabled for Production: every token in it answers 401"
    )
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert window.statusBar().currentMessage() == (
        "API access turned off for Production: its tokens get 401"
    )
    window.api_toggle.click()  # turning it on asks nothing
    assert len(answers.confirmations) == 1
    assert not window.api_banner.isVisible()
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 200
    assert window.statusBar().currentMessage() == "API access turned on for Production"


def test_api_access_stays_on_when_the_question_is_declined(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    answers.confirm = False
    window.api_toggle.click()
    assert window.api_toggle.isChecked()
    assert seeded.environment("Production").api_enabled


# ----------------------------------------------------------------- enabled actions


def test_actions_with_nothing_selected(window: MainWindow, seeded: TokenService) -> None:
    make_tokens(seeded, 2)
    window.sync.reload()
    assert enabled(window) == {
        "actionCreateToken": True,
        "actionActivate": False,
        "actionDeactivate": False,
        "actionRefresh": False,
        "actionRotate": False,
        "actionCopyToken": False,
        "actionRevealToken": False,
        "actionEditLabel": False,
        "actionDelete": False,
    }


def test_actions_with_one_active_token(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens([ids[0]])
    assert enabled(window) == {
        "actionCreateToken": True,
        "actionActivate": False,
        "actionDeactivate": True,
        "actionRefresh": True,
        "actionRotate": True,
        "actionCopyToken": True,
        "actionRevealToken": True,
        "actionEditLabel": True,
        "actionDelete": True,
    }


def test_actions_with_one_inactive_token(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 2)
    seeded.set_status(ids[1], False)
    window.sync.reload()
    window.select_tokens([ids[1]])
    states = enabled(window)
    assert states["actionActivate"] and not states["actionDeactivate"]


def test_actions_with_several_mixed_tokens(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 3)
    seeded.set_status(ids[2], False)
    window.sync.reload()
    window.select_tokens(ids)
    assert len(window.selected_tokens()) == 3
    assert enabled(window) == {
        "actionCreateToken": True,
        "actionActivate": True,
        "actionDeactivate": True,
        "actionRefresh": True,
        "actionRotate": False,
        "actionCopyToken": False,
        "actionRevealToken": False,
        "actionEditLabel": False,
        "actionDelete": True,
    }


def test_actions_with_several_active_tokens(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens(ids)
    states = enabled(window)
    assert not states["actionActivate"] and states["actionDeactivate"]


@pytest.fixture
def locked_window(
    qtbot: QtBot, data_dir: Path, keyring_store: secret_store.KeyringSecretStore
) -> MainWindow:
    """A window whose keyring is unavailable (its data made while the keyring worked)."""
    with_keyring = open_context(data_dir, store=keyring_store)
    seed(with_keyring.service)
    ids = make_tokens(with_keyring.service, 3)
    with_keyring.service.set_status(ids[2], False)
    with_keyring.close()
    context = open_context(data_dir, need_keyring=False)
    context.keyring_tried = True  # and it failed:
    context.keyring_problem = (
        "the system keyring (SecretService) is unavailable (KeyringLocked: the keyring is "
        "locked); start and unlock your desktop's keyring, then try again. Nothing was changed."
    )
    win = open_window(qtbot, context)
    win.select_tokens(ids)
    return win


def test_actions_needing_a_secret_are_off_without_the_keyring(locked_window: MainWindow) -> None:
    window = locked_window
    assert window.service.store is None
    assert enabled(window) == {
        "actionCreateToken": False,
        "actionActivate": True,
        "actionDeactivate": True,
        "actionRefresh": False,
        "actionRotate": False,  # several selected
        "actionCopyToken": False,
        "actionRevealToken": False,
        "actionEditLabel": False,
        "actionDelete": False,
    }
    window.select_tokens([shown_ids(window)[0]])
    states = enabled(window)
    assert states["actionRotate"] and states["actionEditLabel"]  # no secret needed
    assert not states["actionCopyToken"] and not states["actionRevealToken"]


def test_keyring_banner_says_what_to_do_and_retry_recovers(locked_window: MainWindow) -> None:
    window = locked_window
    banner = window.findChild(QWidget, "keyringBanner")
    assert banner is not None and banner.isVisible()
    text = window.keyring_banner.text()
    assert "locked" in text and "unlock" in text
    retry = window.findChild(QPushButton, "keyringRetry")
    assert retry is not None

    retry.click()  # the private test keyring is up: this finds it

    assert not banner.isVisible()
    assert window.service.store is not None
    assert window.keyring.problem is None
    window.select_tokens([shown_ids(window)[0]])
    assert enabled(window)["actionCopyToken"]
    assert enabled(window)["actionCreateToken"]


def test_keyring_retry_catches_up_on_rotations_that_waited(
    qtbot: QtBot, data_dir: Path, keyring_store: secret_store.KeyringSecretStore, clock: FakeClock
) -> None:
    with_keyring = open_context(data_dir, store=keyring_store, clock=clock)
    seed(with_keyring.service)
    token_id = with_keyring.service.create_token(
        "Production", "Alpha Bot", rotation="daily"
    ).token.id
    with_keyring.close()
    clock.advance(timedelta(days=2))
    context = open_context(data_dir, need_keyring=False, clock=clock)
    context.keyring_problem = "the system keyring is locked; unlock it"
    window = open_window(qtbot, context)
    window.runner.start()  # the scheduler runs, but without a keyring it waits
    with qtbot.assertNotEmitted(window.runner.started):
        window.runner.tick()

    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        assert window.retry_keyring()

    assert finished.args[0].rotated == (token_id,)  # type: ignore[index]
    assert window.service.token(token_id).generation == 1
    window.close()
    context.close()


def test_keyring_retry_that_fails_keeps_the_banner(
    locked_window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = locked_window

    def still_missing(check: bool = True) -> secret_store.KeyringSecretStore:
        raise SecretStoreUnavailable("no usable system keyring (still nothing); unlock it.")

    monkeypatch.setattr(secret_store, "open_secret_store", still_missing)
    click_button(window.keyring_banner, "keyringRetry")
    assert window.keyring_banner.isVisible()
    assert "still nothing" in window.keyring_banner.text()
    assert window.service.store is None
    assert not enabled(window)["actionRefresh"]


# ----------------------------------------------------------------- context menu


def names(actions: list[QAction | None]) -> list[str | None]:
    return [a.objectName() if a is not None else None for a in actions]


def test_context_menu_is_built_from_data(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    assert names(window.context_menu_actions()) == [
        "actionCreateToken",
        None,
        "actionTryRequest",
    ]
    window.select_tokens([ids[0]])
    assert names(window.context_menu_actions()) == [
        "actionCopyToken",
        "actionRevealToken",
        None,
        "actionActivate",
        "actionDeactivate",
        None,
        "actionRefresh",
        "actionRotate",
        "actionEditLabel",
        "actionTokenHistory",
        "actionTryRequest",
        None,
        "actionDelete",
    ]
    menu = window.build_context_menu()
    assert [a.objectName() for a in menu.actions() if not a.isSeparator()] == [
        n for n in names(window.context_menu_actions()) if n
    ]
    menu.deleteLater()


# ----------------------------------------------------------------- selection, sort, filter


def test_selection_and_scroll_survive_reload(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    window.resize(900, 320)
    ids = make_tokens(seeded, 30)
    window.sync.reload()
    view = table(window)
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 5)
    wanted = [ids[20], ids[21], ids[25]]
    window.select_tokens(wanted, current=ids[21])
    view.verticalScrollBar().setValue(12)

    seeded.set_label(ids[0], "changed elsewhere")  # something to reload
    extra = seeded.create_token("Production", "Alpha Bot", label="new").token.id
    window.sync.reload()

    assert [t.id for t in window.selected_tokens()] == wanted
    assert view.currentIndex().row() == model(window).row_of(ids[21])
    assert view.verticalScrollBar().value() == 12
    assert extra in shown_ids(window)


def test_selection_survives_sorting_and_filtering(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 6)
    window.sync.reload()
    window.select_tokens([ids[1], ids[4]])
    table(window).sortByColumn(Column.LABEL, Qt.SortOrder.DescendingOrder)
    assert shown_ids(window) == list(reversed(ids))
    assert sorted(t.id for t in window.selected_tokens()) == [ids[1], ids[4]]
    window.filter_edit.setText("JOB 04")
    assert shown_ids(window) == [ids[4]]
    assert [t.id for t in window.selected_tokens()] == [ids[4]]
    window.filter_edit.clear()
    # A token the filter hid leaves the selection: actions never touch what is not shown.
    assert [t.id for t in window.selected_tokens()] == [ids[4]]


def test_clicking_a_header_sorts(window: MainWindow, seeded: TokenService, qtbot: QtBot) -> None:
    ids = make_tokens(seeded, 4)
    window.sync.reload()
    header = table(window).horizontalHeader()
    x = header.sectionViewportPosition(Column.LABEL) + 10
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert model(window).sort_column == Column.LABEL
    first = shown_ids(window)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert shown_ids(window) == list(reversed(first))
    assert sorted(first) == ids


def test_filter_box_matches_any_column(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 3)  # agents Alpha, Beta, Gamma
    seeded.set_status(ids[2], False)
    window.sync.reload()
    window.filter_edit.setText("beta sync")
    assert shown_ids(window) == [ids[1]]
    window.filter_edit.setText("INACTIVE")
    assert shown_ids(window) == [ids[2]]
    window.filter_edit.setText(seeded.token(ids[0]).hint)
    assert ids[0] in shown_ids(window)
    window.filter_edit.setText("")
    assert shown_ids(window) == ids


# ----------------------------------------------------------------- token actions


def test_deactivate_and_activate_several_at_once(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.select_tokens(ids)
    action(window, "actionDeactivate").trigger()
    assert [seeded.token(i).status for i in ids] == ["Inactive"] * 3
    assert [model(window).token_at(r).status for r in range(3)] == ["Inactive"] * 3
    assert sorted(t.id for t in window.selected_tokens()) == ids
    action(window, "actionActivate").trigger()
    assert [seeded.token(i).status for i in ids] == ["Active"] * 3


def test_delete_asks_once_for_several_and_says_what_stops(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 3)
    masked = seeded.token(ids[0]).masked
    window.sync.reload()
    window.select_tokens(ids[:2])
    action(window, "actionDelete").trigger()
    assert len(answers.confirmations) == 1
    _title, text, informative = answers.confirmations[0]
    assert text == "Delete 2 tokens?"
    assert "401 immediately" in informative
    assert masked in informative
    assert shown_ids(window) == [ids[2]]
    assert [t.id for t in seeded.tokens("Production")] == [ids[2]]


def test_after_a_delete_the_next_token_is_selected(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 4)
    window.sync.reload()
    window.select_tokens([ids[1], ids[2]])
    action(window, "actionDelete").trigger()
    assert shown_ids(window) == [ids[0], ids[3]]
    assert [t.id for t in window.selected_tokens()] == [ids[3]]
    action(window, "actionDelete").trigger()  # the last row: the one before it is next
    assert [t.id for t in window.selected_tokens()] == [ids[0]]
    assert table(window).currentIndex().row() == 0


def test_delete_declined_changes_nothing(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    answers.confirm = False
    action(window, "actionDelete").trigger()
    token = seeded.token(ids[0])
    _title, text, informative = answers.confirmations[0]
    assert text == f"Delete token {token.masked} (agent Alpha Bot, label “job 00”)?"
    assert informative.startswith("Requests using this token will get 401 immediately.")
    assert token.masked not in informative  # named once, in the question
    assert shown_ids(window) == ids


def test_delete_confirmed_in_a_real_message_box(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens([ids[0]])
    texts: list[str] = []

    def answer(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        texts.append(box.text() + "\n" + box.informativeText())
        click_button(box, "confirmButton")

    seen = modals.when("messageBox", answer)
    action(window, "actionDelete").trigger()
    assert seen, "no confirmation was asked"
    assert "will get 401 immediately" in texts[0]
    assert shown_ids(window) == [ids[1]]


def test_cancel_in_a_real_message_box_keeps_the_token(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    seen = modals.when("messageBox", lambda box: click_button(box, "cancelButton"))
    action(window, "actionRefresh").trigger()
    assert seen
    assert seeded.token(ids[0]).generation == 0


def test_refresh_confirms_with_the_grace_and_shows_the_new_secret_once(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    old = seeded.create_token("Production", "Alpha Bot", label="graceful", grace="1h")
    window.sync.reload()
    window.select_tokens([old.token.id])
    action(window, "actionRefresh").trigger()
    _, text, informative = answers.confirmations[0]
    assert old.token.masked in text
    assert informative == (
        "The old secret keeps working for 1 hour (the token's grace period), then requests "
        "using it get 401. The new secret is shown once."
    )
    assert len(answers.secrets) == 1
    _title, message, secret = answers.secrets[0]
    assert secret != old.secret
    assert seeded.verify("Production", secret, "GET", "/Loans").status == 200
    assert seeded.verify("Production", old.secret, "GET", "/Loans").status == 200  # grace
    assert model(window).token_at(0).generation == 1
    assert secret not in message


def test_refresh_without_grace_says_the_old_secret_stops_now(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens(ids)
    action(window, "actionRefresh").trigger()
    assert len(answers.confirmations) == 1
    assert "stops working now" in answers.confirmations[0][2]
    assert [title for title, _, _ in answers.secrets] == ["New secret 1 of 2", "New secret 2 of 2"]


def test_edit_label(window: MainWindow, seeded: TokenService, answers: Answers) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    answers.text = "Renamed job"
    action(window, "actionEditLabel").trigger()
    assert seeded.token(ids[0]).label == "Renamed job"
    assert model(window).token_at(0).label == "Renamed job"


def test_an_invalid_label_is_reported(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    answers.text = "x" * 300
    action(window, "actionEditLabel").trigger()
    assert answers.errors and "too long" in answers.errors[0][2]
    assert seeded.token(ids[0]).label == "job 00"


def test_reveal_shows_the_secret_and_hides_it_after_the_timer(
    window: MainWindow, seeded: TokenService
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    assert window.commands.reveal_timer.interval() == 30_000
    action(window, "actionRevealToken").trigger()
    cell = model(window).index(0, Column.TOKEN)
    assert cell.data() == issued.secret
    assert window.commands.reveal_timer.isActive()
    assert action(window, "actionRevealToken").text() == "H&ide"

    window.commands.reveal_timer.timeout.emit()

    assert cell.data() == issued.token.masked
    assert not window.commands.reveal_timer.isActive()
    assert issued.secret not in window.statusBar().currentMessage()


def test_new_token_action_opens_the_create_dialog(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    seen = modals.when("CreateTokenDialog", lambda d: d.reject())  # type: ignore[attr-defined]
    action(window, "actionCreateToken").trigger()
    assert seen
    assert seeded.tokens() == []


def test_a_new_token_hidden_by_the_filter_is_shown_and_selected(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    make_tokens(seeded, 2)
    window.sync.reload()
    window.filter_edit.setText("job 00")

    def fill(dialog: QWidget) -> None:
        label = dialog.findChild(QLineEdit, "labelEdit")
        assert label is not None
        label.setText("Brand new")
        click_button(dialog, "createButton")

    created = modals.when("CreateTokenDialog", fill)
    shown = modals.when("SecretDialog", lambda d: click_button(d, "closeButton"))
    action(window, "actionCreateToken").trigger()
    assert created and shown
    new = next(t for t in seeded.tokens("Production") if t.label == "Brand new")
    assert window.filter_edit.text() == ""
    assert new.id in shown_ids(window)
    assert [t.id for t in window.selected_tokens()] == [new.id]


@pytest.mark.parametrize(
    ("action_name", "dialog_name"),
    [
        ("actionRotate", "RotationDialog"),
        ("actionAgentsRoles", "DirectoryDialog"),
        ("actionTryRequest", "TryRequestDialog"),
    ],
)
def test_tool_actions_open_their_dialogs(
    window: MainWindow, seeded: TokenService, modals: Modals, action_name: str, dialog_name: str
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    seen = modals.when(dialog_name, lambda d: d.reject())  # type: ignore[attr-defined]
    action(window, action_name).trigger()
    assert seen


def test_audit_log_opens_beside_the_window_and_follows_changes(
    window: MainWindow, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    dialog = window.commands.show_audit_log()
    assert dialog.objectName() == "AuditDialog"
    assert dialog.isVisible() and not dialog.isModal()
    window.select_tokens(ids)
    history = window.commands.show_token_history()
    assert history is not None and history.isVisible()
    dialog.close()
    history.close()


# ----------------------------------------------------------------- outside changes


def test_a_change_by_another_process_appears(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 2)
    window = open_window(qtbot, context, poll_interval_ms=200)
    window.sync.poll_timer.start()
    script = (
        "import sys; from pathlib import Path; from desktop.app import open_context; "
        "ctx = open_context(Path(sys.argv[1]), need_keyring=False); "
        "ctx.service.set_status(int(sys.argv[2]), False); ctx.close()"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(context.data_dir), str(ids[1])],
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    qtbot.waitUntil(lambda: model(window).token_at(1).status == "Inactive", timeout=10_000)
    assert window.counts_label.text() == "2 tokens, 1 inactive"
    window.close()


def test_a_change_from_another_thread_appears(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    from desktop.storage.models import db

    def elsewhere() -> None:
        try:
            seeded.set_label(ids[0], "from a thread")
        finally:
            db.close()

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: model(window).token_at(0).label == "from a thread")


# ----------------------------------------------------------------- closing


def test_closing_stops_the_timers(qtbot: QtBot, context: Context, seeded: TokenService) -> None:
    window = open_window(qtbot, context, autostart=True)
    assert window.sync.poll_timer.isActive()
    assert window.runner.timer.isActive()
    window.close()
    assert not window.sync.poll_timer.isActive()
    assert not window.runner.timer.isActive()
    assert not window.clipboard.timer.isActive()
    assert not window.commands.reveal_timer.isActive()


def test_labels_and_status_never_show_a_secret(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    action(window, "actionCopyToken").trigger()
    texts = [label.text() for label in window.findChildren(QLabel)]
    texts.append(window.statusBar().currentMessage())
    assert all(issued.secret not in text for text in texts)
    assert QApplication.clipboard().text() == issued.secret
    window.clipboard.clear_if_ours()


def test_the_window_paints_before_it_reaches_the_keyring(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 2)
    from desktop.app import build_main_window

    window = build_main_window(context.data_dir)
    qtbot.addWidget(window)
    assert window.service.store is None  # not yet: the first paint comes first
    assert not window.keyring_banner.isVisible()
    with qtbot.waitSignal(window.keyringChecked, timeout=10_000) as checked:
        window.show()
    assert checked.args == [True]
    assert window.keyring_available()
    assert not window.keyring_banner.isVisible()
    window.select_tokens([ids[0]])
    assert action(window, "actionCopyToken").isEnabled()
    window.close()


# ----------------------------------------------------------------- big tables: first screen first


def test_a_big_table_paints_its_first_screen_then_reads_the_rest(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 6)
    window = main_window_for(context, autostart=False, read_in_background_above=4)
    qtbot.addWidget(window)
    # Before the first paint: the first rows (of 6) in the current order, and a total.
    assert window.model.loading
    assert window.model.rowCount() == 6
    assert window.model.token_ids() == ids  # oldest first, from one small query
    assert window.counts_label.text() == "6 tokens"
    with qtbot.waitSignal(window.tableLoaded, timeout=10_000):
        window.show()
    assert not window.model.loading
    assert shown_ids(window) == ids
    assert window.counts_label.text() == "6 tokens"
    window.close()


def test_sorting_and_filtering_while_reading_apply_once_read(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 6)
    seeded.set_label(ids[4], "the only nightly job")
    window = main_window_for(context, autostart=False, read_in_background_above=4)
    qtbot.addWidget(window)
    assert window.model.loading
    window.table.sortByColumn(Column.CREATED, Qt.SortOrder.DescendingOrder)
    window.filter_edit.setText("nightly")
    # A change committed while the table is read is caught up afterwards.
    seeded.set_status(ids[4], False)
    window.wait_until_loaded()
    assert shown_ids(window) == [ids[4]]
    assert model(window).token_at(0).status == "Inactive"
    window.filter_edit.clear()
    assert shown_ids(window) == list(reversed(ids))
    window.close()


def test_switching_environments_while_reading_shows_the_latest_choice(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    production = make_tokens(seeded, 5)
    staging = make_tokens(seeded, 6, "Staging")
    window = main_window_for(context, autostart=False, read_in_background_above=4)
    qtbot.addWidget(window)
    window.show()
    window.environment_selector.setCurrentIndex(window.environment_selector.findText("Staging"))
    window.wait_until_loaded()
    QApplication.processEvents()  # the Production read's report arrives late: it is ignored
    assert shown_ids(window) == staging
    assert not set(production) & set(shown_ids(window))
    window.close()


def test_big_counts_are_easy_to_read() -> None:
    from desktop.gui.widgets import plural

    assert plural(1, "token") == "1 token"
    assert plural(100_000, "token") == "100,000 tokens"


def test_a_read_for_an_earlier_choice_ends_before_the_next_starts(
    qtbot: QtBot, context: Context, seeded: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    make_tokens(seeded, 5)
    staging = make_tokens(seeded, 6, "Staging")
    release = threading.Event()
    reading = threading.Event()
    gave_up = threading.Event()
    read_table = seeded.token_table

    def slow_first_read(environment: str | None = None) -> object:
        if environment == "Production" and not release.is_set():
            reading.set()
            # The Production read is still going when Staging is chosen. A window that
            # waited for it here would only get on after this times out.
            if not release.wait(10):
                gave_up.set()
        return read_table(environment)

    monkeypatch.setattr(seeded, "token_table", slow_first_read)
    window = main_window_for(context, autostart=False, read_in_background_above=4)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(reading.is_set, timeout=10_000)
    # Chosen while Production is being read: the window does not wait for that read; the
    # Staging read follows once it has reported, and only Staging's rows are taken.
    window.environment_selector.setCurrentIndex(window.environment_selector.findText("Staging"))
    assert not gave_up.is_set()  # choosing did not wait for the earlier read
    assert window.model.loading and window.reader.isRunning()
    with qtbot.waitSignal(window.tableLoaded, timeout=10_000):
        release.set()
    assert not window.model.loading
    assert shown_ids(window) == staging
    window.close()
