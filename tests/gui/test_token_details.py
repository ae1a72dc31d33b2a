"""The details pane: what the selected token may do, kept current, shown or hidden by F9 and
remembered, and never a secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelection, QSettings, QStringListModel, Qt, QTimer
from PySide6.QtGui import QAccessible, QKeySequence, QTextTable
from PySide6.QtWidgets import QApplication, QMenu, QTextBrowser
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.main_window import MainWindow
from desktop.gui.token_details import SETTLE_MS, TokenDetailsPane, details_html, selected_rows
from desktop.services import display
from desktop.services.details import TokenDetails
from desktop.services.tokens import TokenService
from tests.gui.conftest import action, make_tokens, open_window
from tests.gui.test_keyboard_navigation import focus, press
from tests.helpers.clock import FakeClock


def pane(window: MainWindow) -> TokenDetailsPane:
    found = window.findChild(QTextBrowser, "tokenDetails")
    assert isinstance(found, TokenDetailsPane)
    return found


def text(window: MainWindow) -> str:
    return pane(window).toPlainText()


def showing(window: MainWindow, token_id: int) -> Callable[[], bool]:
    def check() -> bool:
        details = pane(window).details
        return not pane(window).pending and details is not None and details.token.id == token_id

    return check


def counting_reads(service: TokenService, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The token ids the pane reads, in order (the real read still answers)."""
    reads: list[int] = []
    real = service.token_details

    def token_details(token_id: int, events: int = 5) -> TokenDetails:
        reads.append(token_id)
        return real(token_id, events)

    monkeypatch.setattr(service, "token_details", token_details)
    return reads


def test_the_selected_token_is_described(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    token_id = seeded.create_token(
        "Production", "Alpha Bot", label="payments", rotation="weekly", grace="1h"
    ).token.id
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))

    shown = text(window)
    token = seeded.token(token_id)
    for expected in (
        f"Token #{token_id} — {token.masked}",
        "payments",
        "Production — API access on",
        "Alpha Bot — eligible",
        "Reader",
        "Active",
        "Every week",
        "1 hour after each rotation",
        "Requests with this token get through where role Reader allows:",
        "GET /Customers",
        "GET /Loans",
        "create",
        seeded.actor,
    ):
        assert expected in shown
    assert "Previous secret" not in shown  # no grace running
    # What a screen reader is given: a named, read-only text it can read out and select in.
    reader = QAccessible.queryAccessibleInterface(pane(window))
    assert reader is not None
    assert reader.text(QAccessible.Text.Name) == "Token details"
    assert reader.text(QAccessible.Text.Description).startswith(
        f"Token #{token_id}, agent Alpha Bot, Production"
    )
    state = reader.state()
    assert state.readOnly and state.focusable and state.selectableText
    readable = reader.textInterface()
    assert readable is not None
    # The same words; the document marks its table cells with noncharacters (U+FDD0, U+FDD1).
    words = readable.text(0, readable.characterCount()).translate({0xFDD0: " ", 0xFDD1: " "})
    assert words.split() == shown.split()


def test_with_nothing_or_several_selected_it_says_so(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    pane(window).flush()
    assert text(window).startswith("No token selected")

    window.select_tokens(ids[:2])
    qtbot.waitUntil(lambda: not pane(window).pending)
    assert text(window).startswith("2 tokens selected")
    assert pane(window).details is None

    window.table.clearSelection()
    qtbot.waitUntil(lambda: not pane(window).pending)
    assert text(window).startswith("No token selected")


def test_what_stops_a_token_is_said(window: MainWindow, seeded: TokenService, qtbot: QtBot) -> None:
    token_id = seeded.create_token("Production", "Alpha Bot").token.id
    seeded.set_status(token_id, False)
    seeded.update_agent("Alpha Bot", signed_agreement=False)
    seeded.set_api_enabled("Production", False)
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))

    shown = text(window)
    assert "Production — API access off: every request gets 401" in shown
    assert "not eligible: agent 'Alpha Bot' has not signed the usage agreement" in shown
    assert "Inactive: every request gets 401" in shown
    assert "Every request with this token gets 401: API access is disabled" in shown
    assert "Role Reader would allow:" in shown


def test_an_expiry_is_shown_and_once_passed_it_is_what_stops_the_token(
    window: MainWindow, seeded: TokenService, qtbot: QtBot, clock: FakeClock
) -> None:
    expires = clock.now() + timedelta(days=2)
    token_id = seeded.create_token(
        "Production", "Alpha Bot", rotation="weekly", expires=expires
    ).token.id
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))
    shown = text(window)
    assert f"Expires\n{display.format_time(expires)}" in shown
    assert "Next rotation\n—" in shown  # a week away: after the expiry, so it never happens
    assert "Requests with this token get through" in shown

    clock.advance(timedelta(days=3))  # nothing in the database changes as it expires
    window.model.check_expiry()  # what the model's expiry timer calls
    qtbot.waitUntil(lambda: "Expired" in text(window))
    shown = text(window)
    assert f"Expires\nExpired {display.format_time(expires)}" in shown
    assert "Every request with this token gets 401: token expired." in shown


def test_an_expired_token_shows_no_next_rotation_even_one_before_its_expiry(
    window: MainWindow, seeded: TokenService, qtbot: QtBot, clock: FakeClock
) -> None:
    """Paused (inactive) with a rotation due before its expiry: once expired, it is never
    rotated, as the table and the command line say too."""
    expires = clock.now() + timedelta(days=2)
    token_id = seeded.create_token(
        "Production", "Alpha Bot", rotation="daily", expires=expires
    ).token.id
    seeded.set_status(token_id, False)
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))
    assert "Next rotation\n—" not in text(window)
    clock.advance(timedelta(days=3))
    window.model.check_expiry()
    qtbot.waitUntil(lambda: "Expired" in text(window))
    assert "Next rotation\n—" in text(window)


def test_it_stays_current_as_the_token_and_its_role_change(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    token_id = seeded.create_token("Production", "Alpha Bot", label="before").token.id
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))

    seeded.set_label(token_id, "after")  # a change the window hears of, then reads
    qtbot.waitUntil(lambda: "after" in text(window) and "label: label 'after'" in text(window))

    seeded.set_role_permissions("Reader", ["POST /Loans"])  # not a token's row: the directory
    qtbot.waitUntil(lambda: "POST /Loans" in text(window))
    assert "GET /Loans" not in text(window)

    seeded.refresh(token_id, grace="2h")
    qtbot.waitUntil(lambda: "Previous secret" in text(window))
    assert "valid until" in text(window)


def test_a_deleted_token_is_said_to_be_gone(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    token_id = seeded.create_token("Production", "Alpha Bot").token.id
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))

    seeded.delete(token_id)
    pane(window).refresh()
    pane(window).flush()  # before the table hears of it

    assert "This token no longer exists" in text(window)
    qtbot.waitUntil(lambda: text(window).startswith("No token selected"))


def test_moving_fast_reads_only_where_the_selection_stops(
    window: MainWindow, seeded: TokenService, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tokens(seeded, 12)
    window.sync.reload()
    reads = counting_reads(window.service, monkeypatch)
    focus(window, window.table, qtbot)
    details = pane(window)
    assert details.settle_timer.interval() == SETTLE_MS > 40  # longer than a key's repeat
    details.settle_timer.setInterval(3_600_000)  # however slowly this machine types

    for _ in range(10):
        press(window, Qt.Key.Key_Down)

    last = window.model.token_at(9).id
    assert [t.id for t in window.selected_tokens()] == [last]
    assert reads == [] and details.pending and details.settle_timer.isActive()
    details.flush()  # what the timer does once the selection settles
    assert reads == [last]
    assert showing(window, last)()


def test_the_pane_never_shows_a_secret(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot", label="payments")
    seeded.refresh(issued.token.id, grace="1h")
    secret = seeded.reveal(issued.token.id)
    window.sync.reload()
    window.select_tokens([issued.token.id])
    qtbot.waitUntil(lambda: window.window_actions.reveal.isEnabled())
    window.window_actions.reveal.trigger()  # the table shows it for a while
    assert window.model.revealed_ids() == [issued.token.id]
    pane(window).refresh()
    pane(window).flush()

    for shown in (
        pane(window).toPlainText(),
        pane(window).toHtml(),
        pane(window).accessibleDescription(),
    ):
        for whole in (secret, issued.secret):
            assert whole not in shown
            assert whole[4:-4] not in shown
    details = pane(window).details
    assert details is not None and details.token.id == issued.token.id


def test_the_text_is_selectable_and_takes_its_colours_from_the_theme(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    token_id = seeded.create_token("Production", "Alpha Bot", label="<b>not bold</b>").token.id
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))
    details = pane(window).details
    assert details is not None

    flags = pane(window).textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByKeyboard
    assert flags & Qt.TextInteractionFlag.TextSelectableByMouse
    assert pane(window).isReadOnly()
    assert "<b>not bold</b>" in text(window)  # a label is text, never markup
    for columns in (4, 2, 1):
        markup = details_html(details, columns=columns).lower()
        assert "color" not in markup and "background" not in markup and "style=" not in markup


def test_f9_shows_and_hides_the_pane_from_the_view_menu(
    window: MainWindow, seeded: TokenService, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    toggle = action(window, "actionToggleDetails")
    view = window.menuBar().findChild(QMenu, "menuView")
    assert view is not None and toggle in view.actions()
    assert toggle.isCheckable() and toggle.isChecked() and pane(window).isVisible()
    assert toggle.shortcut() == QKeySequence(Qt.Key.Key_F9)
    reads = counting_reads(window.service, monkeypatch)
    focus(window, window.table, qtbot)

    press(window, Qt.Key.Key_F9)
    assert not toggle.isChecked() and not pane(window).isVisible()
    window.select_tokens([ids[1]])
    assert not pane(window).settle_timer.isActive()  # nothing is read for a hidden pane

    press(window, Qt.Key.Key_F9)
    assert toggle.isChecked() and pane(window).isVisible()
    qtbot.waitUntil(showing(window, ids[1]))
    assert reads == [ids[1]]


def settings_in(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "tokendesk.ini"), QSettings.Format.IniFormat)


def test_whether_it_is_shown_and_its_height_are_remembered(
    qtbot: QtBot, context: Context, seeded: TokenService, tmp_path: Path
) -> None:
    first = open_window(qtbot, context)
    first.use_settings(settings_in(tmp_path))
    assert pane(first).isVisible()  # shown the first time
    splitter = first.details_splitter
    total = sum(splitter.sizes())
    splitter.setSizes([total - 230, 230])
    first.close()

    second = open_window(qtbot, context)
    second.use_settings(settings_in(tmp_path))
    assert pane(second).isVisible()
    assert second.details_splitter.sizes()[1] == 230
    action(second, "actionToggleDetails").trigger()
    second.close()

    third = open_window(qtbot, context)
    third.use_settings(settings_in(tmp_path))
    assert not pane(third).isVisible()
    assert not action(third, "actionToggleDetails").isChecked()
    action(third, "actionToggleDetails").trigger()
    assert third.details_splitter.sizes()[1] == 230  # the height it had before it was hidden
    third.close()


def test_a_grace_that_ends_leaves_the_pane_without_waiting_for_a_change(
    window: MainWindow, seeded: TokenService, qtbot: QtBot, clock: FakeClock
) -> None:
    token_id = seeded.create_token("Production", "Alpha Bot").token.id
    seeded.refresh(token_id, grace="1h")
    window.sync.reload()
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))
    assert "Previous secret" in text(window)
    deadline = pane(window).findChild(QTimer, "detailsDeadlineTimer")
    assert deadline is not None and deadline.isActive()

    clock.advance(timedelta(hours=1))
    deadline.timeout.emit()  # as it does an hour from now
    qtbot.waitUntil(lambda: "Previous secret" not in text(window))


def test_a_change_to_another_token_leaves_the_text_and_its_selection_alone(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens([ids[0]])
    qtbot.waitUntil(showing(window, ids[0]))
    pane(window).selectAll()
    selected = pane(window).textCursor().selectedText()
    assert selected

    seeded.set_label(ids[1], "elsewhere")
    qtbot.waitUntil(
        lambda: window.model.token_at(window.model.row_of(ids[1]) or 0).label == "elsewhere"
    )
    pane(window).flush()

    assert pane(window).textCursor().selectedText() == selected


def test_selected_rows_are_counted_from_the_selections_ranges(qapp: QApplication) -> None:
    model = QStringListModel([f"row {n}" for n in range(10)])

    def selection(*spans: tuple[int, int]) -> QItemSelection:
        chosen = QItemSelection()
        for top, bottom in spans:
            chosen.select(model.index(top, 0), model.index(bottom, 0))
        return chosen

    assert selected_rows(selection()) == (0, None)
    assert selected_rows(selection((4, 4))) == (1, 4)
    assert selected_rows(selection((4, 4), (4, 4))) == (1, 4)
    assert selected_rows(selection((0, 9))) == (10, None)
    assert selected_rows(selection((1, 2), (5, 7))) == (5, None)
    assert selected_rows(selection((1, 5), (3, 8), (8, 9))) == (9, None)  # overlapping


def layout_columns(window: MainWindow) -> int:
    """How many columns the pane's outer table has: its parts side by side."""
    frames = pane(window).document().rootFrame().childFrames()
    assert frames and isinstance(frames[0], QTextTable)
    return frames[0].columns()


def test_the_parts_stand_side_by_side_where_there_is_room(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    token_id = seeded.create_token("Production", "Alpha Bot").token.id
    window.sync.reload()
    window.resize(1180, 640)
    window.select_tokens([token_id])
    qtbot.waitUntil(showing(window, token_id))
    assert layout_columns(window) == 4

    window.resize(760, 640)  # a narrow window: two by two
    qtbot.waitUntil(lambda: layout_columns(window) == 2)
    assert showing(window, token_id)()
    window.resize(1180, 640)
    qtbot.waitUntil(lambda: layout_columns(window) == 4)
