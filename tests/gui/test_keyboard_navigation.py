"""Moving through the window by keyboard: Tab between its parts, Down, Shift+F10, Enter to the
details pane and Esc back."""

from __future__ import annotations

import pytest
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


def tab_round(window: MainWindow, stops: int) -> tuple[list[QWidget | None], list[QWidget | None]]:
    """Where *stops* presses of Tab lead, then as many of Shift+Tab."""
    forward = []
    for _ in range(stops):
        press(window, Qt.Key.Key_Tab)
        forward.append(QApplication.focusWidget())
    backward = []
    for _ in range(stops):
        press(window, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
        backward.append(QApplication.focusWidget())
    return forward, backward


def test_tab_and_shift_tab_go_round_selector_switch_filter_table_and_details(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 2)
    window.sync.reload()
    order = [
        window.environment_selector,
        window.api_toggle,
        window.filter_edit,
        window.table,
        window.details,
    ]
    focus(window, window.environment_selector, qtbot)

    forward, backward = tab_round(window, len(order))

    assert forward == [*order[1:], order[0]]
    assert backward == order[::-1]


def test_a_hidden_details_pane_is_no_tab_stop(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 2)
    window.sync.reload()
    window.window_actions.toggle_details.trigger()
    order = [window.environment_selector, window.api_toggle, window.filter_edit, window.table]
    focus(window, window.environment_selector, qtbot)

    forward, backward = tab_round(window, len(order))

    assert forward == [*order[1:], order[0]]
    assert backward == order[::-1]


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter], ids=["Return", "Enter"])
def test_enter_on_a_row_goes_to_its_details_and_esc_comes_back(
    window: MainWindow, seeded: TokenService, qtbot: QtBot, key: Qt.Key
) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.select_tokens([ids[1]])
    focus(window, window.table, qtbot)

    press(window, key)

    assert window.details.hasFocus()
    details = window.details.details  # read at once: what has the focus is what is selected
    assert details is not None and details.token.id == ids[1]
    assert [t.id for t in window.selected_tokens()] == [ids[1]]

    press(window, Qt.Key.Key_Down)  # moves the caret in the text, not the selected token
    press(window, Qt.Key.Key_Escape)

    assert window.table.hasFocus()
    assert [t.id for t in window.selected_tokens()] == [ids[1]]


def test_enter_shows_a_hidden_details_pane(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.window_actions.toggle_details.trigger()
    assert not window.details.isVisible()
    window.select_tokens([ids[0]])
    focus(window, window.table, qtbot)

    press(window, Qt.Key.Key_Return)

    assert window.window_actions.toggle_details.isChecked()
    assert window.details.isVisible() and window.details.hasFocus()


def test_the_details_text_can_be_selected_and_copied_by_keyboard(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    focus(window, window.table, qtbot)
    press(window, Qt.Key.Key_Return)
    clipboard = QApplication.clipboard()
    clipboard.clear()

    with qtbot.assertNotEmitted(window.clipboard.copied):  # the text, not the token's secret
        press(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        press(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)

    copied = clipboard.text()
    assert copied == window.details.toPlainText()
    assert f"Token #{ids[0]}" in copied and "GET /Loans" in copied
    clipboard.clear()


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
