"""Last used in the window: the column, the details pane, uses read every minute and when the
window is activated (never through a reload), and the active tokens nobody has used for 90 days,
shown on their own and offered for deactivation.

Uses are written as a forward-auth server writes them: ``repository.record_uses`` in a
transaction, which leaves no trace in the change log."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFontMetrics, QKeySequence
from PySide6.QtWidgets import QApplication, QFrame, QMenu, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.banner import Banner
from desktop.gui.main_window import MainWindow
from desktop.gui.token_model import HEADERS
from desktop.gui.usage import USAGE_OVERLAP_S, USAGE_READ_MS
from desktop.services import display
from desktop.services.tokens import TokenService
from desktop.storage import repository
from desktop.storage.states import naive
from tests.gui.conftest import Modals, action, click_button, make_tokens, model, open_window
from tests.gui.conftest import shown_ids as shown
from tests.gui.test_keyboard_navigation import focus, press
from tests.helpers.clock import FakeClock


def record(context: Context, uses: dict[int, tuple[datetime, int]]) -> None:
    """What a forward-auth server writes."""
    database = context.database
    with database.transaction():
        repository.record_uses(database, {key: (naive(at), n) for key, (at, n) in uses.items()})


def aged(context: Context, clock: FakeClock) -> list[int]:
    """Four tokens made 100 days ago: #0 used an hour ago (1,204 times), #1 never used, #2 used
    95 days ago, #3 never used but inactive. Unused now: #1 and #2."""
    service = context.service
    ids = make_tokens(service, 4)
    service.set_status(ids[3], False)
    record(context, {ids[2]: (clock.now() + timedelta(days=5), 1)})
    clock.advance(timedelta(days=100))
    record(context, {ids[0]: (clock.now() - timedelta(hours=1), 1204)})
    return ids


def cell(window: MainWindow, token_id: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    table_model = model(window)
    row = table_model.row_of(token_id)
    assert row is not None, f"token {token_id} is not shown"
    return table_model.index(row, Column.LAST_USED).data(role)


def details_text(window: MainWindow, token_id: int) -> str:
    window.select_tokens([token_id])
    window.details.flush()
    return window.details.toPlainText()


def banner(window: MainWindow) -> Banner:
    found = window.findChild(QFrame, "unusedBanner")
    assert isinstance(found, Banner)
    return found


# ----------------------------------------------------------------- the column and the pane


def test_the_last_used_column_reads_a_local_time_or_never(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    assert HEADERS[Column.LAST_USED] == "Last used" and model(window).columnCount() == 12
    an_hour_ago = clock.now() - timedelta(hours=1)
    assert cell(window, ids[0]) == display.format_time(an_hour_ago)
    assert cell(window, ids[1]) == "Never"
    tip = cell(window, ids[0], Qt.ItemDataRole.ToolTipRole)
    assert tip == "1,204 requests in all, as TokenDesk servers counted them"
    assert "No request has presented" in str(cell(window, ids[1], Qt.ItemDataRole.ToolTipRole))
    # Sized by what the rows on screen hold, like Expires: the times fit.
    header = window.table.horizontalHeader()
    wide = QFontMetrics(window.table.font()).horizontalAdvance(str(cell(window, ids[0])))
    assert header.sectionSize(Column.LAST_USED) > wide
    assert not window.table.isColumnHidden(Column.LAST_USED)


def test_the_column_sorts_never_used_first_and_the_filter_finds_it(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    window.table.sortByColumn(Column.LAST_USED, Qt.SortOrder.AscendingOrder)
    assert shown(window) == [ids[1], ids[3], ids[2], ids[0]]  # never (by id), 95 days, an hour
    window.table.sortByColumn(Column.LAST_USED, Qt.SortOrder.DescendingOrder)
    assert shown(window) == [ids[0], ids[2], ids[3], ids[1]]
    window.filter_edit.setText(str(cell(window, ids[0])))
    assert shown(window) == [ids[0]]


def test_the_details_say_when_and_how_often_a_token_was_used(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    when = display.format_time(clock.now() - timedelta(hours=1))
    assert re.search(rf"Last used\s+{when} · 1,204 requests", details_text(window, ids[0]))
    assert re.search(r"Last used\s+Never\b", details_text(window, ids[1]))


# ----------------------------------------------------------------- uses read on their own


def test_uses_are_read_every_minute_into_the_rows_without_a_reload(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    table_model = model(window)
    assert window.usage.timer.interval() == USAGE_READ_MS == 60_000
    assert details_text(window, ids[1])  # the pane shows #1
    record(context, {ids[1]: (clock.now(), 3)})
    reads: list[object] = []
    window.service.add_listener(lambda: reads.append(None))
    with qtbot.assertNotEmitted(table_model.modelReset):
        window.usage.timer.timeout.emit()  # a minute passed
    assert cell(window, ids[1]) == display.format_time(clock.now())
    assert window.details.pending  # the pane reads the selected token again
    window.details.flush()
    assert "· 3 requests" in window.details.toPlainText()

    # A server that writes late stamps its use with when it saw it: earlier than the latest use
    # read already, and still read (within the overlap), once.
    late = clock.now() - timedelta(seconds=USAGE_OVERLAP_S // 2)
    record(context, {ids[2]: (late, 2)})
    with qtbot.assertNotEmitted(table_model.modelReset):
        window.usage.read()
    assert cell(window, ids[2]) == display.format_time(late)
    assert str(cell(window, ids[2], Qt.ItemDataRole.ToolTipRole)).startswith("3 requests")
    assert reads == []  # reading uses changed nothing


def test_activating_the_window_reads_the_uses(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    window.usage.start()
    record(context, {ids[3]: (clock.now(), 9)})
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))
    qtbot.waitUntil(
        lambda: cell(window, ids[3]) == display.format_time(clock.now()), timeout=10_000
    )
    window.usage.stop()


# ----------------------------------------------------------------- unused tokens


def test_unused_tokens_are_counted_and_shown_on_their_own(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    qtbot.waitUntil(banner(window).isVisible, timeout=10_000)
    assert banner(window).text().startswith("2 active tokens unused for 90 days.")
    toggle = action(window, "actionShowUnused")
    view = window.menuBar().findChild(QMenu, "menuView")
    assert view is not None and toggle in view.actions()
    assert toggle.isCheckable() and not toggle.isChecked()
    assert toggle.shortcut() == QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_U)

    window.select_tokens([ids[1]])
    focus(window, window.table, qtbot)
    press(window, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    assert toggle.isChecked()
    assert shown(window) == [ids[1], ids[2]]
    assert [t.id for t in window.selected_tokens()] == [ids[1]]  # the selection stays
    assert window.counts_label.text() == "2 of 4 tokens shown, 1 inactive"
    window.filter_edit.setText("job 02")  # with the filter's text too
    assert shown(window) == [ids[2]]
    window.filter_edit.clear()

    # A use that arrives takes a token out of the unused.
    record(context, {ids[2]: (clock.now(), 1)})
    window.usage.read()
    assert shown(window) == [ids[1]]
    qtbot.waitUntil(lambda: "1 active token unused" in banner(window).text(), timeout=10_000)

    click_button(banner(window), "unusedShow")  # "Show all"
    assert not toggle.isChecked() and shown(window) == ids
    assert window.counts_label.text() == "4 tokens, 1 inactive"


def test_one_unused_token_is_spoken_of_as_it(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    """A banner that says "Deactivate them" over a single token reads as a slip."""
    (token_id,) = make_tokens(context.service, 1)
    clock.advance(timedelta(days=100))
    window = open_window(qtbot, context)
    qtbot.waitUntil(banner(window).isVisible, timeout=10_000)
    assert banner(window).text() == (
        "1 active token unused for 90 days. Deactivate it, or show it on its own to decide."
    )
    action(window, "actionShowUnused").trigger()
    assert shown(window) == [token_id]
    assert banner(window).text() == (
        "Showing the 1 active token unused for 90 days. No request has presented it to a "
        "TokenDesk server since, and nothing needs its secret to keep working."
    )


def test_another_environment_never_shows_the_count_of_the_one_before(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    """Staging has no token: the banner about Production's unused ones goes as the table
    changes, not a second later, and comes back as Production's rows are shown again."""
    aged(context, clock)
    window = open_window(qtbot, context)
    qtbot.waitUntil(banner(window).isVisible, timeout=10_000)
    selector = window.environment_selector
    selector.setCurrentIndex(selector.findData("Staging"))
    assert shown(window) == []
    assert not banner(window).isVisible()
    selector.setCurrentIndex(selector.findData("Production"))
    window.sync.wait_until_loaded()
    assert banner(window).isVisible()
    assert banner(window).text().startswith("2 active tokens unused for 90 days.")


def test_with_no_unused_token_there_is_no_banner_and_the_table_says_why(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    make_tokens(context.service, 2)
    window = open_window(qtbot, context)
    window.unused.refresh()
    assert not banner(window).isVisible()
    action(window, "actionShowUnused").trigger()
    assert shown(window) == []
    assert "has gone unused for 90 days" in window.table.empty_text()


def test_deactivating_unused_tokens_asks_first_with_cancel_the_default(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock, modals: Modals
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    qtbot.waitUntil(banner(window).isVisible, timeout=10_000)
    seen: dict[str, object] = {}

    def cancel(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        default = box.defaultButton()
        seen["default"] = default.objectName() if default is not None else None
        seen["text"] = box.text() + "\n" + box.informativeText()
        seen["title"] = box.windowTitle()
        click_button(box, "cancelButton")

    handled = modals.when("messageBox", cancel)
    click_button(banner(window), "unusedDeactivate")
    assert handled
    assert seen["default"] == "cancelButton"  # Enter answers Cancel
    assert seen["title"] == "Deactivate Unused Tokens"
    text = str(seen["text"])
    assert text.startswith("Deactivate 2 tokens unused for 90 days?")
    assert f"#{ids[1]} (agent Beta Sync, label “job 01”)" in text
    assert f"#{ids[2]} (agent Gamma ETL, label “job 02”)" in text
    assert f"#{ids[0]} " not in text and f"#{ids[3]} " not in text
    assert [seeded.token(i).active for i in ids] == [True, True, True, False]


def test_deactivating_unused_tokens_writes_one_audit_event_each(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock, modals: Modals
) -> None:
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    qtbot.waitUntil(banner(window).isVisible, timeout=10_000)
    handled = modals.when("messageBox", lambda box: click_button(box, "confirmButton"))
    click_button(banner(window), "unusedDeactivate")
    assert handled
    assert [seeded.token(i).active for i in ids] == [True, False, False, False]
    for token_id in (ids[1], ids[2]):
        (event, *_) = seeded.audit(token_id)
        assert (event.action, event.details) == ("deactivate", "status Inactive")
        assert [e.action for e in seeded.audit(token_id)].count("deactivate") == 1
    assert [e.action for e in seeded.audit(ids[0])].count("deactivate") == 0
    qtbot.waitUntil(lambda: not banner(window).isVisible(), timeout=10_000)
    assert model(window).token_at(model(window).row_of(ids[1]) or 0).status == "Inactive"


def test_a_token_that_cannot_be_deactivated_is_named(
    qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock, modals: Modals
) -> None:
    """A token deleted by someone else after the table showed it: the others are deactivated,
    and the one left is named in an error, never passed over in silence."""
    ids = aged(context, clock)
    window = open_window(qtbot, context)
    qtbot.waitUntil(banner(window).isVisible, timeout=10_000)
    other = context.service
    errors: list[str] = []

    def confirm(box: QWidget) -> None:
        other.delete(ids[1])  # meanwhile, elsewhere
        modals.when("messageBox", read_error)
        click_button(box, "confirmButton")

    def read_error(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        errors.append(box.text() + "\n" + box.informativeText())
        click_button(box, "confirmButton")

    modals.when("messageBox", confirm)
    click_button(banner(window), "unusedDeactivate")
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    assert errors[0].startswith("1 token could not be deactivated.")
    assert f"#{ids[1]}: unknown token {ids[1]}" in errors[0]
    assert not seeded.token(ids[2]).active
