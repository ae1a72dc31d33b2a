"""TableSync: keeps the token table in step with the database.

The table is read once, then only the rows the database's change log names: changes made
elsewhere (another admin's window, the command line, a cron ``rotate-due``) show up by polling
SQLite's ``data_version``, or on PostgreSQL as soon as the server announces a commit (the
service's change listener, which wakes the table within a moment; polling then goes on, slowly,
in case announcements stop arriving); changes made in this process (the scheduler's worker
thread included) through a service listener marshalled to the GUI thread. Either way a
thousand rotations cost a thousand small updates, never a thousand reads of 100,000 rows.

A big table paints its first screen from one small indexed query and lets a
:class:`~desktop.gui.table_reader.TableReader` thread read the rest, started only once the
first screen is painted; :meth:`TableSync.wait_until_loaded` takes the rows at once for those
who cannot wait.

Two words, never mixed up: :meth:`~TableSync.reload` reads everything shown again,
:meth:`~TableSync.catch_up` reads only what changed. Neither issues anything: a token's new
secret is a command (``TokenCommands.refresh_secret``).
"""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot

from desktop.domain.errors import TokenDeskError
from desktop.gui.environment_bar import EnvironmentBar
from desktop.gui.table_reader import Request, TableReader
from desktop.gui.token_model import TokenTableModel
from desktop.gui.token_table import TokenTableView
from desktop.services.tokens import ChangeListening, TokenService

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 500  # SQLite answers data_version from shared memory: asking is cheap
# While the server announces commits, polling is only the fallback: for announcements that stop
# arriving unnoticed (a connection pooler in transaction mode, say; see the README).
LISTENING_POLL_INTERVAL_MS = 15_000
# Above this many tokens the table paints its first screen first and reads the rest in a thread.
READ_IN_BACKGROUND_ABOVE = 5_000
FIRST_SCREEN_ROWS = 300  # more than any screen shows


class _ChangeRelay(QObject):
    """Carries the service's change callbacks (from any thread) to the GUI thread."""

    changed = Signal()
    listening = Signal(bool)


class TableSync(QObject):
    """Reads the tokens of the environment the bar shows into the model, and keeps them
    current."""

    # Every token shown has been read (after a read in the background; see wait_until_loaded).
    tableLoaded = Signal()
    # What the tokens shown decide (counts, enabled actions, the API access banner) may differ.
    shownChanged = Signal()
    # The table's first screen has been painted; what it did not need can start now.
    firstPainted = Signal()

    def __init__(
        self,
        service: TokenService,
        reader: TableReader,
        model: TokenTableModel,
        table: TokenTableView,
        environments: EnvironmentBar,
        *,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        listening_poll_interval_ms: int = LISTENING_POLL_INTERVAL_MS,
        read_in_background_above: int = READ_IN_BACKGROUND_ABOVE,
        parent: QObject | None = None,
    ) -> None:
        """Polling asks every *poll_interval_ms*, or every *listening_poll_interval_ms* while
        the server announces commits (PostgreSQL)."""
        super().__init__(parent)
        self.setObjectName("tableSync")
        self._service = service
        self.reader = reader
        self._model = model
        self._table = table
        self._environments = environments
        self._read_in_background_above = read_in_background_above
        self._data_version: int | None = None
        self._change_cursor = 0
        self._reads = 0  # reads of the table started; a newer one makes older results stale
        self._unread: Request | None = None  # a read waiting for the first paint
        self._painted = False
        self._stopped = False
        self._poll_interval_ms = poll_interval_ms
        self._listening_poll_interval_ms = listening_poll_interval_ms

        self._reload_timer = QTimer(self)
        self._reload_timer.setObjectName("reloadTimer")
        self._reload_timer.setSingleShot(True)
        self._reload_timer.timeout.connect(self._scheduled_catch_up)
        self.poll_timer = QTimer(self)
        self.poll_timer.setObjectName("pollTimer")
        self.poll_timer.setInterval(poll_interval_ms)
        self.poll_timer.timeout.connect(self.poll)

        relay = _ChangeRelay(self)
        relay.changed.connect(self.schedule_catch_up)
        relay.listening.connect(self._listening_changed)

        def notify() -> None:
            try:
                if shiboken6.isValid(relay):
                    relay.changed.emit()
            except RuntimeError:  # the window went away meanwhile
                pass

        def listening(now: bool) -> None:
            try:
                if shiboken6.isValid(relay):
                    relay.listening.emit(now)
            except RuntimeError:
                pass

        self._listener = notify
        self._listening_listener = listening
        service.add_listener(notify)
        # Commits by other processes, announced by the server: made by start() (and None on
        # SQLite, which is polled).
        self.change_listener: ChangeListening | None = None
        self._poll_failed = False
        reader.done.connect(self._read_done)
        self._viewport: QObject | None = table.viewport()
        self._viewport.installEventFilter(self)

    # ----------------------------------------------------------------- the first paint

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and watched is self._viewport:
            watched.removeEventFilter(self)
            self._viewport = None
            QTimer.singleShot(0, self, self._after_first_paint)
        return super().eventFilter(watched, event)

    @Slot()
    def _after_first_paint(self) -> None:
        """What the first screen does not need waits until it is painted."""
        self._painted = True
        if self._unread is not None:
            self._start_reading()
        if not self._environments.counted:
            self._environments.read()
        if not self._stopped:
            self.firstPainted.emit()

    # ----------------------------------------------------------------- reading

    def reload(self, *, in_background: bool = True) -> None:
        """Read everything shown again, keeping selection and scroll position. A big table
        (and ``in_background``) shows its first screen at once and reads the rest in a thread:
        see :meth:`wait_until_loaded`."""
        self._reload_timer.stop()
        self._reads += 1
        self._unread = None
        self._data_version = self._service.data_version()
        # Before the first paint the environments' token counts (only in tooltips) wait.
        self._environments.read(counted=self._painted)
        environment = self._environments.current()
        name = environment.name if environment is not None else None
        every = self._environments.showing_all()
        shown = environment is not None or every
        total = self._service.token_count(name) if shown else 0
        model = self._model
        if in_background and total > self._read_in_background_above:
            names, first = self._service.token_page(
                name,
                model.sort_column,
                descending=model.sort_order == Qt.SortOrder.DescendingOrder,
                limit=FIRST_SCREEN_ROWS,
            )
            with self._table.keeping_view():
                model.show_first_rows(names, first, total, show_environment=every)
            self._unread = Request(self._reads, name, every)
            if self._painted:
                self._start_reading()
        else:
            if shown:
                cursor, names, rows = self._service.token_table(name)
            else:
                cursor, names, rows = (
                    self._service.change_cursor(),
                    self._service.names(),
                    [],
                )
            self._change_cursor = cursor
            with self._table.keeping_view():
                model.load(names, rows, show_environment=every)
        self.shownChanged.emit()
        if not model.loading:
            self.tableLoaded.emit()

    def _start_reading(self) -> None:
        if self._unread is None or self._stopped:
            return
        if self.reader.isRunning():
            return  # a read for an earlier choice: this one starts when it reports (_read_done)
        request, self._unread = self._unread, None
        self.reader.read(request)

    def wait_until_loaded(self) -> None:
        """Block until every token shown has been read (at once, if the first paint has not
        happened yet); a no-op when they are."""
        if not self._model.loading:
            return
        if self._unread is not None:
            self.reader.wait()  # a read for an earlier choice may still be going
            self._start_reading()
        self._read_done(self._reads)

    @Slot(int)
    def _read_done(self, number: int) -> None:
        if number != self._reads:
            if self._painted:
                self._start_reading()  # the read that waited for this stale one to end
            return
        if not self._model.loading:
            return  # taken already (wait_until_loaded)
        result = self.reader.result()
        if result is None or result.request.number != number:
            self.reload(in_background=False)  # the thread failed (it logged why): read here
            return
        with self._table.keeping_view():
            self._model.adopt(result.prepared)
        self._change_cursor = result.cursor
        self.shownChanged.emit()
        self.catch_up()  # what committed while the thread read
        self.tableLoaded.emit()

    def catch_up(self) -> None:
        """Bring the table up to date with what committed since it last looked: only the
        tokens the change log names are read again (everything, if the log says so)."""
        self._reload_timer.stop()
        if self._model.loading:
            return  # the table is being read; it catches up once it is (see _read_done)
        self._data_version = self._service.data_version()
        changes = self._service.changes_since(self._change_cursor)
        if not changes.complete or changes.names:
            self.reload(in_background=False)  # keeps the selection, wherever it is
            return
        if changes.directory and not self._model.take_names(self._service.names()):
            self.reload(in_background=False)  # a name shown changed
            return
        self._change_cursor = changes.cursor
        if changes.directory:
            self._environments.read()
        if changes.tokens:
            environment = self._environments.current()
            rows = [
                row
                for row in self._service.token_rows(changes.tokens)
                if environment is None or row.environment_id == environment.id
            ]
            gone = changes.tokens - {row.id for row in rows}
            shown = self._model.has_token
            if any(not shown(row.id) for row in rows) or any(map(shown, gone)):
                # Tokens appear or disappear: the model resets, the view keeps its selection.
                with self._table.keeping_view():
                    self._model.update_rows(rows, gone)
                if not changes.directory:
                    self._environments.read()  # their token counts
            else:
                self._model.update_rows(rows)
        if changes.tokens or changes.directory:
            self.shownChanged.emit()

    @Slot()
    def schedule_catch_up(self, delay_ms: int = 0) -> None:
        """Catch up soon (once, however often this is asked before then)."""
        if self._stopped:
            return
        if not self._reload_timer.isActive():
            self._reload_timer.start(delay_ms)

    @Slot()
    def _scheduled_catch_up(self) -> None:
        try:
            self.catch_up()
        except Exception:  # keep the window alive; the next poll tries again
            log.exception("reading the changed tokens failed")

    @Slot()
    def poll(self) -> None:
        """Catch up when another connection (process or thread) committed a change."""
        try:
            version = self._service.data_version()
        except TokenDeskError as error:  # a server away: said once, tried again next time
            if not self._poll_failed:
                log.warning("checking the database for changes failed: %s", error)
            self._poll_failed = True
            return
        except Exception:
            log.exception("checking the database for changes failed")
            return
        if self._poll_failed:
            log.info("the database answers again")
            self._poll_failed = False
        if version != self._data_version:
            self._scheduled_catch_up()

    @Slot(bool)
    def _listening_changed(self, listening: bool) -> None:
        """Poll slowly while the server announces commits, as often as ever while it cannot."""
        interval = self._listening_poll_interval_ms if listening else self._poll_interval_ms
        self.poll_timer.setInterval(interval)

    # ----------------------------------------------------------------- running

    def start(self) -> None:
        """Follow changes made by other connections: listen for them where the server
        announces them, and poll."""
        self.poll_timer.start()
        if self.change_listener is None and not self._stopped:
            self.change_listener = self._service.change_listener(
                self._listener, self._listening_listener
            )
            if self.change_listener is not None:
                self.change_listener.start()

    def stop(self) -> None:
        """No more listening, polling or reads; waits for a read in progress to end."""
        self._stopped = True
        self._service.remove_listener(self._listener)
        if self.change_listener is not None:
            self.change_listener.stop()
        self.poll_timer.stop()
        self._reload_timer.stop()
        self._unread = None
        self.reader.wait()


__all__ = [
    "FIRST_SCREEN_ROWS",
    "LISTENING_POLL_INTERVAL_MS",
    "POLL_INTERVAL_MS",
    "READ_IN_BACKGROUND_ABOVE",
    "TableSync",
]
