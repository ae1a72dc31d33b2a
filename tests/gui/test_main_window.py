"""The main window against a real SQLite file and the real keyring, offscreen: its layout, its
wiring, and what it does when it opens and closes."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
)
from pytestqt.qtbot import QtBot

from desktop.app import Context, open_context
from desktop.domain.table import Column
from desktop.gui.main_window import MainWindow
from desktop.paths import database_url
from desktop.secrets import store as secret_store
from desktop.services.tokens import TokenService
from tests.gui.conftest import (
    ALL_ACTIONS,
    Answers,
    action,
    assert_unique_mnemonics,
    make_tokens,
    model,
    open_locked_window,
    open_window,
    shown_ids,
    table,
)
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_three_agents as seed


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
    assert window.windowTitle() == "Production — TokenDesk"


def test_the_window_controls_have_keyboard_access(window: MainWindow) -> None:
    buddies = [label for label in window.findChildren(QLabel) if label.buddy() is not None]
    texts = [label.text() for label in buddies]
    texts += [window.api_toggle.text(), window.keyring_retry.text()]
    texts += [window.unused.show_button.text(), window.unused.deactivate_button.text()]
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


def test_keyring_retry_catches_up_on_rotations_that_waited(
    qtbot: QtBot, data_dir: Path, keyring_store: secret_store.KeyringSecretStore, clock: FakeClock
) -> None:
    with_keyring = open_context(data_dir, store=keyring_store, clock=clock, database=database_url())
    seed(with_keyring.service)
    token_id = with_keyring.service.create_token(
        "Production", "Alpha Bot", rotation="daily"
    ).token.id
    with_keyring.close()
    clock.advance(timedelta(days=2))
    context = open_context(data_dir, need_keyring=False, clock=clock, database=database_url())
    context.keyring_problem = "the system keyring is locked; unlock it"
    window = open_window(qtbot, context)
    window.runner.start()  # the scheduler runs, but without a keyring it waits
    with qtbot.assertNotEmitted(window.runner.started):
        window.runner.tick()

    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        assert window.retry_keyring()

    assert finished.args[0].rotated == (token_id,)
    assert window.service.token(token_id).generation == 1
    window.close()
    context.close()


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


def test_closing_stops_the_timers(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    token_id = seeded.create_token(
        "Production", "Alpha Bot", grace="1h", expires=clock.now() + timedelta(days=1)
    ).token.id
    seeded.refresh(token_id)  # a grace running, an expiry coming: both timers set
    window = open_window(qtbot, context, autostart=True)
    window.select_tokens([token_id])
    assert window.sync.poll_timer.isActive()
    assert window.runner.timer.isActive()
    assert window.model.expiry_timer.isActive() and window.model.grace_timer.isActive()
    window.close()
    assert not window.sync.poll_timer.isActive()
    assert not window.runner.timer.isActive()
    assert not window.clipboard.timer.isActive()
    assert not window.commands.reveal_timer.isActive()
    assert not window.model.expiry_timer.isActive()
    assert not window.model.grace_timer.isActive()
    assert not window.details.settle_timer.isActive()
    assert not window.notifier.timer.isActive()


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

    window = build_main_window(context.data_dir, database=database_url())
    qtbot.addWidget(window)
    assert window.service.store is None  # not yet: the first paint comes first
    assert not window.keyring_banner.isVisible()
    with qtbot.waitSignal(window.keyringChecked, timeout=10_000) as checked:
        window.show()
    assert checked.args == [True]
    assert window.keyring.is_available()
    assert not window.keyring_banner.isVisible()
    window.select_tokens([ids[0]])
    assert action(window, "actionCopyToken").isEnabled()
    window.close()


@pytest.mark.parametrize(
    ("logname", "actor"), [("alice", "alice@laptop"), (None, "uid {uid}@laptop")]
)
def test_the_window_names_the_user_even_one_without_a_passwd_entry(
    qtbot: QtBot,
    context: Context,
    seeded: TokenService,
    monkeypatch: pytest.MonkeyPatch,
    logname: str | None,
    actor: str,
) -> None:
    """The window's actions name the user and the host alone; in a container with no passwd
    entry for the user (and no LOGNAME) getuser() raises, and the window still opens, naming
    the uid."""
    from desktop.app import build_main_window

    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    if logname is None:

        def no_user() -> str:
            raise OSError("no passwd entry for this uid")

        monkeypatch.setattr(getpass, "getuser", no_user)
    else:
        monkeypatch.setenv("LOGNAME", logname)
    window = build_main_window(context.data_dir, database=database_url())
    qtbot.addWidget(window)
    window.service.add_environment("Testing")
    assert window.service.audit(limit=1)[0].actor == actor.format(uid=os.getuid())
    window.close()


def test_reconnecting_leaves_the_context_as_it_was_handed_in(
    qtbot: QtBot, data_dir: Path, keyring_store: secret_store.KeyringSecretStore
) -> None:
    window = open_locked_window(qtbot, data_dir, keyring_store)
    context = cast(Context, window.context)  # open_locked_window hands the window a Context
    problem = context.keyring_problem
    assert window.retry_keyring()
    assert window.keyring.problem is None  # the keyring session keeps the problem now
    assert context.keyring_problem == problem  # the composition root's, unchanged
    assert context.keyring_tried
    window.close()
