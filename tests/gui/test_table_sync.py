"""The table kept in step with the database: reads, changes from elsewhere, big tables read in
a thread."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
)
from pytestqt.qtbot import QtBot

from desktop.app import Context, main_window_for
from desktop.domain.table import Column
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import (
    ROOT,
    make_tokens,
    model,
    open_window,
    shown_ids,
    table,
)


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


def test_a_change_by_another_process_appears(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 2)
    window = open_window(qtbot, context, poll_interval_ms=200)
    window.sync.poll_timer.start()
    script = (
        "import sys; from pathlib import Path; from desktop.app import open_context; "
        "from desktop.paths import database_url; "
        "ctx = open_context(Path(sys.argv[1]), need_keyring=False, database=database_url()); "
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

    def elsewhere() -> None:
        with seeded.connection():  # the thread's own connection, closed as it ends
            seeded.set_label(ids[0], "from a thread")

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: model(window).token_at(0).label == "from a thread")


def test_a_stopped_sync_stops_listening(window: MainWindow, seeded: TokenService) -> None:
    """A stopped table leaves the service it listened to: the window may go, the service stays."""
    listeners = seeded.unit_of_work._listeners
    assert window.sync._listener in listeners
    window.sync.stop()
    assert window.sync._listener not in listeners


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
