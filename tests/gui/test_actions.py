"""The window's actions: shortcuts, mnemonics, menus as data, and when each is enabled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

from desktop.gui.actions import ActionState, WindowActions
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import (
    action,
    assert_unique_mnemonics,
    enabled,
    make_tokens,
    shown_ids,
    table,
)


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


def test_every_menu_has_distinct_mnemonics(window: MainWindow, seeded: TokenService) -> None:
    bar = window.menuBar()
    # QAction.menu() is typed QObject (QtGui cannot name QMenu); a menu bar's menus are QMenus.
    menus = [cast(QMenu, a.menu()) for a in bar.actions() if a.menu() is not None]
    assert_unique_mnemonics([a.text() for a in bar.actions()])
    for menu in menus:
        assert_unique_mnemonics([a.text() for a in menu.actions() if not a.isSeparator()])
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    window.commands.reveal_token()  # Reveal becomes Hide
    for items in (window.context_menu_actions(), window.window_actions.token_menu()):
        assert_unique_mnemonics([a.text() for a in items if a is not None])
    window.commands.conceal()


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
        "actionSetExpiry",
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


# ----------------------------------------------------------------- without a window


class Recorder:
    """The handlers the actions call, recording each call: no window needed."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def create_token(self) -> None:
        self.calls.append("create_token")

    def set_status(self, active: bool) -> None:
        self.calls.append(f"set_status({active})")

    def refresh_secret(self) -> None:
        self.calls.append("refresh_secret")

    def edit_rotation(self) -> None:
        self.calls.append("edit_rotation")

    def edit_expiry(self) -> None:
        self.calls.append("edit_expiry")

    def copy_token(self) -> None:
        self.calls.append("copy_token")

    def reveal_token(self) -> None:
        self.calls.append("reveal_token")

    def edit_label(self) -> None:
        self.calls.append("edit_label")

    def show_token_history(self) -> None:
        self.calls.append("show_token_history")

    def delete_tokens(self) -> None:
        self.calls.append("delete_tokens")

    def show_directory(self) -> None:
        self.calls.append("show_directory")

    def show_audit_log(self) -> None:
        self.calls.append("show_audit_log")

    def try_request(self) -> None:
        self.calls.append("try_request")

    def run_due_rotations(self) -> None:
        self.calls.append("run_due_rotations")


@pytest.fixture
def recorded(qapp: QApplication) -> Iterator[tuple[WindowActions, Recorder]]:
    recorder = Recorder()
    owner = QObject()
    actions = WindowActions(
        recorder,
        find=lambda: recorder.calls.append("find"),
        quit=lambda: recorder.calls.append("quit"),
        about=lambda: recorder.calls.append("about"),
        parent=owner,
    )
    yield actions, recorder
    owner.deleteLater()


def test_each_action_calls_its_handler(recorded: tuple[WindowActions, Recorder]) -> None:
    actions, recorder = recorded
    for action_name in (
        "create",
        "activate",
        "deactivate",
        "refresh",
        "rotate",
        "expiry",
        "copy",
        "reveal",
        "label",
        "history",
        "delete",
        "find",
        "directory",
        "audit",
        "try_request",
        "run_due",
        "quit",
        "about",
    ):
        getattr(actions, action_name).trigger()
    assert recorder.calls == [
        "create_token",
        "set_status(True)",
        "set_status(False)",
        "refresh_secret",
        "edit_rotation",
        "edit_expiry",
        "copy_token",
        "reveal_token",
        "edit_label",
        "show_token_history",
        "delete_tokens",
        "find",
        "show_directory",
        "show_audit_log",
        "try_request",
        "run_due_rotations",
        "quit",
        "about",
    ]


def test_a_disabled_action_calls_nothing(recorded: tuple[WindowActions, Recorder]) -> None:
    actions, recorder = recorded
    actions.update(
        ActionState(selected=[], keyring=False, has_environments=False, rotating=False, revealed=())
    )
    for off in (actions.create, actions.refresh, actions.copy, actions.delete, actions.run_due):
        assert not off.isEnabled()
        off.trigger()
    assert recorder.calls == []


def test_the_menu_bar_as_data(recorded: tuple[WindowActions, Recorder]) -> None:
    actions, _ = recorded
    menus = {name: names(items) for name, _title, items in actions.menu_bar()}
    assert menus["menuFile"] == ["actionCreateToken", None, "actionQuit"]
    assert menus["menuTools"] == [
        "actionAgentsRoles",
        "actionAuditLog",
        "actionTryRequest",
        None,
        "actionRunDueRotations",
    ]
    assert menus["menuHelp"] == ["actionAbout"]
    assert [a.objectName() for a in actions.table_actions()] == ["actionCopyToken", "actionDelete"]
