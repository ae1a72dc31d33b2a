"""Moving through the window by keyboard: Tab between its parts, Down, Shift+F10."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import make_tokens, open_window


def focus(window: MainWindow, widget: QWidget, qtbot: QtBot) -> None:
    window.activateWindow()
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(widget.hasFocus)


def press(
    window: MainWindow, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    """A key press as the platform delivers it: to the window, which hands it to the widget
    with the focus (and turns the Menu key into a context menu request)."""
    handle = window.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, key, modifier)


def context_menu() -> QMenu | None:
    menus = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMenu) and w.objectName() == "tokenContextMenu" and w.isVisible()
    ]
    return menus[0] if menus else None


def test_tab_leaves_the_table_and_keeps_the_selected_token(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.select_tokens([ids[1]])
    focus(window, window.table, qtbot)

    press(window, Qt.Key.Key_Tab)

    assert not window.table.tabKeyNavigation()
    assert not window.table.hasFocus()
    assert [t.id for t in window.selected_tokens()] == [ids[1]]


def test_tab_and_shift_tab_go_round_selector_switch_filter_and_table(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 2)
    window.sync.reload()
    order = [window.environment_selector, window.api_toggle, window.filter_edit, window.table]
    focus(window, window.environment_selector, qtbot)

    forward = []
    for _ in order:
        press(window, Qt.Key.Key_Tab)
        forward.append(QApplication.focusWidget())
    backward = []
    for _ in order:
        press(window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        backward.append(QApplication.focusWidget())

    assert forward == [*order[1:], order[0]]
    assert backward == [order[3], order[2], order[1], order[0]]


def test_the_first_down_after_start_selects_the_first_token(
    context: Context, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 3)
    window = open_window(qtbot, context)  # opens with the focus in the table
    window.activateWindow()
    qtbot.waitUntil(window.table.hasFocus)
    assert window.selected_tokens() == []

    press(window, Qt.Key.Key_Down)

    assert [t.id for t in window.selected_tokens()] == [window.model.token_at(0).id]
    press(window, Qt.Key.Key_Down)
    assert [t.id for t in window.selected_tokens()] == [window.model.token_at(1).id]


def menu_key(window: MainWindow) -> None:
    """The Menu key as X11 delivers it: a keyboard context menu request to the window, which
    hands it to the widget with the focus, placed at its input cursor (the current cell)."""
    handle = window.windowHandle()
    assert handle is not None
    QApplication.sendEvent(
        handle, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(), QPoint())
    )


def shift_f10(window: MainWindow) -> None:
    press(window, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)


def test_shift_f10_opens_the_context_menu_as_the_menu_key_does(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.select_tokens([ids[1]])
    focus(window, window.table, qtbot)
    places = []
    for open_menu in (menu_key, shift_f10):
        with qtbot.waitSignal(window.table.customContextMenuRequested) as requested:
            open_menu(window)
        qtbot.waitUntil(lambda: context_menu() is not None)
        menu = context_menu()
        assert menu is not None
        assert any(a.objectName() == "actionCopyToken" for a in menu.actions())
        places.append(requested.args[0])
        menu.close()
        qtbot.waitUntil(lambda: context_menu() is None)
        focus(window, window.table, qtbot)

    assert places[0] == places[1]  # at the current token's row, in the viewport
    assert window.table.indexAt(places[1]).row() == window.model.row_of(ids[1])
