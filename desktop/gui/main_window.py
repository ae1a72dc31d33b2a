"""The main window: the tokens of one environment (or all), their actions, and what runs in the
background.

Everything the window changes goes through :class:`TokenService`. The window reads all tokens
once, then only the rows the database's change log names: changes made elsewhere (the command
line, a cron ``rotate-due``) show up by polling SQLite's ``data_version``; changes made in this
process (the scheduler's worker thread included) through a service listener marshalled to the
GUI thread. Either way a thousand rotations cost a thousand small updates, never a thousand
reads of 100,000 rows.

The actions and menus live in :mod:`desktop.gui.actions`, the table's view in
:mod:`desktop.gui.token_table`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import SecretStoreUnavailable, TokenDeskError
from desktop.gui import messages
from desktop.gui.actions import ActionState, MenuItems, WindowActions, fill_menu, shortcut_text
from desktop.gui.banner import Banner
from desktop.gui.clipboard import CLEAR_AFTER_MS, SecretClipboard
from desktop.gui.table_reader import Request, TableReader
from desktop.gui.token_model import (
    Column,
    TokenTableModel,
    describe_token,
    format_duration,
    format_time,
)
from desktop.gui.token_table import TokenTableView
from desktop.gui.widgets import plural
from desktop.secrets import store as secret_store
from desktop.services.runner import DEFAULT_CHECK_INTERVAL_MS, NO_TOKEN, RotationRunner
from desktop.services.views import (
    EnvironmentView,
    IssuedSecret,
    RotationReport,
    TokenView,
)

if TYPE_CHECKING:
    from desktop.app import Context

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 1_500
# Item data of the environment selector's entry that shows every environment's tokens.
ALL_ENVIRONMENTS = ""
# Above this many tokens the table paints its first screen first and reads the rest in a thread.
READ_IN_BACKGROUND_ABOVE = 5_000
FIRST_SCREEN_ROWS = 300  # more than any screen shows
REVEAL_MS = 30_000
STATUS_MESSAGE_MS = 10_000
LIST_AT_MOST = 8  # tokens listed by name in a confirmation; the rest are counted


def _list_tokens(tokens: list[TokenView], note: Callable[[TokenView], str] | None = None) -> str:
    lines = [
        f"• {describe_token(t)}" + (f": {note(t)}" if note else "") for t in tokens[:LIST_AT_MOST]
    ]
    if len(tokens) > LIST_AT_MOST:
        lines.append(f"… and {len(tokens) - LIST_AT_MOST} more")
    return "\n".join(lines)


def _old_secret_fate(token: TokenView) -> str:
    if token.grace:
        return (
            f"the old secret keeps working for {format_duration(token.grace)} (the token's "
            "grace period), then requests using it get 401"
        )
    return "the old secret stops working now: requests using it get 401"


class _ChangeRelay(QObject):
    """Carries the service's change callbacks (from any thread) to the GUI thread."""

    changed = Signal()


class MainWindow(QMainWindow):
    """The tokens of the selected environment, their actions, the scheduler and notices."""

    # After each try to reach the keyring (the first one right after the first paint): whether
    # secrets can be used now.
    keyringChecked = Signal(bool)
    # Every token shown has been read (after a read in the background; see wait_until_loaded).
    tableLoaded = Signal()

    def __init__(
        self,
        context: Context,
        parent: QWidget | None = None,
        *,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        check_interval_ms: int = DEFAULT_CHECK_INTERVAL_MS,
        clear_after_ms: int = CLEAR_AFTER_MS,
        reveal_ms: int = REVEAL_MS,
        autostart: bool = True,
        environment: str | None = None,
        read_in_background_above: int = READ_IN_BACKGROUND_ABOVE,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.context = context
        self.service = context.service
        self.setWindowTitle(f"TokenDesk — {context.data_dir}")
        self._environments: list[EnvironmentView] = []
        self._environment: str | None = environment  # a name, ALL_ENVIRONMENTS or None
        self._data_version: int | None = None
        self._change_cursor = 0
        self._read_in_background_above = read_in_background_above
        self._reads = 0  # reads of the table started; a newer one makes older results stale
        self._unread: Request | None = None  # a read waiting for the first paint
        self._painted = False
        self._counted = False  # the environments' token counts are known
        self._failures: list[str] = []
        self._tray: QSystemTrayIcon | None = None
        self._open_dialogs: list[QDialog] = []
        self._settings: QSettings | None = None
        self._shut_down = False

        self.clipboard = SecretClipboard(self, clear_after_ms)
        self.clipboard.cleared.connect(lambda: self._status("Clipboard cleared"))
        self.reveal_timer = QTimer(self)
        self.reveal_timer.setObjectName("revealTimer")
        self.reveal_timer.setSingleShot(True)
        self.reveal_timer.setInterval(reveal_ms)
        self.reveal_timer.timeout.connect(self.conceal)

        self.model = TokenTableModel(self)
        self.commands = WindowActions(self)
        self._build_central()
        self.commands.fill_menu_bar(self.menuBar())
        self.menuBar().setObjectName("menuBar")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.commands.build_toolbar(self))
        self._build_status_bar()

        self._reload_timer = QTimer(self)
        self._reload_timer.setObjectName("reloadTimer")
        self._reload_timer.setSingleShot(True)
        self._reload_timer.timeout.connect(self._scheduled_refresh)
        self.poll_timer = QTimer(self)
        self.poll_timer.setObjectName("pollTimer")
        self.poll_timer.setInterval(poll_interval_ms)
        self.poll_timer.timeout.connect(self.poll)

        self._relay = _ChangeRelay(self)
        self._relay.changed.connect(self._schedule_refresh)
        relay = self._relay

        def notify() -> None:
            try:
                if shiboken6.isValid(relay):
                    relay.changed.emit()
            except RuntimeError:  # the window went away meanwhile
                pass

        self.service.add_listener(notify)

        self.reader = TableReader(self.service, self)
        self.reader.done.connect(self._read_done)

        self.runner = RotationRunner(self.service, check_interval_ms, self)
        self.runner.started.connect(self._rotation_started)
        self.runner.progress.connect(self._rotation_progress)
        self.runner.finished.connect(self._rotation_finished)
        self.runner.failed.connect(self._rotation_failed)

        self.resize(1180, 640)
        # Opened without trying the keyring (to paint sooner): try it right after the first
        # paint; until then it counts as unavailable, without the banner.
        self._keyring_pending = not context.keyring_tried and context.keyring_problem is None
        self._update_keyring_banner()
        self.reload()
        self.table.setFocus()
        self.table.viewport().installEventFilter(self)
        if autostart:
            self.poll_timer.start()
            self.runner.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._after_first_paint)
        return super().eventFilter(watched, event)

    @Slot()
    def _after_first_paint(self) -> None:
        """What the first screen does not need waits until it is painted."""
        self._painted = True
        if self._unread is not None:
            self._start_reading()
        if not self._counted:
            self._read_environments()
        if self._keyring_pending and not self._shut_down:
            self._keyring_pending = False
            self.retry_keyring(quiet=True)

    # ----------------------------------------------------------------- construction

    def _build_central(self) -> None:
        central = QWidget(self)
        central.setObjectName("centralWidget")
        layout = QVBoxLayout(central)
        layout.setContentsMargins(9, 9, 9, 6)
        layout.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(8)
        self.environment_selector = QComboBox(central)
        self.environment_selector.setObjectName("environmentSelector")
        self.environment_selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.environment_selector.setMinimumContentsLength(14)
        self.environment_selector.setToolTip("The environment whose tokens are shown")
        self.environment_selector.currentIndexChanged.connect(self._environment_chosen)
        environment_label = QLabel("&Environment:", central)
        environment_label.setBuddy(self.environment_selector)
        self.api_toggle = QCheckBox("&API access", central)
        self.api_toggle.setObjectName("apiAccessToggle")
        self.api_toggle.setToolTip(
            "When off, every token of this environment answers 401 to every request"
        )
        self.api_toggle.clicked.connect(self._api_toggled)
        self.filter_edit = QLineEdit(central)
        self.filter_edit.setObjectName("tokenFilter")
        find = shortcut_text(QKeySequence.StandardKey.Find)
        self.filter_edit.setPlaceholderText(f"Filter tokens ({find})")
        self.filter_edit.setAccessibleName("Filter tokens")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(280)
        self.filter_edit.setToolTip(
            "Shows tokens whose text in any column contains this. Enter goes to them, Esc "
            "clears the filter"
        )
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.filter_edit.returnPressed.connect(self._filter_done)
        clear_filter = QAction(self.filter_edit)
        clear_filter.setObjectName("actionClearFilter")
        clear_filter.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear_filter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        clear_filter.triggered.connect(self.clear_filter)
        self.filter_edit.addAction(clear_filter)
        top.addWidget(environment_label)
        top.addWidget(self.environment_selector)
        top.addSpacing(8)
        top.addWidget(self.api_toggle)
        top.addStretch(1)
        top.addWidget(self.filter_edit)
        layout.addLayout(top)

        self.keyring_banner = Banner("keyringBanner", "error", central)
        self.keyring_retry = self.keyring_banner.add_button(
            "&Retry", "keyringRetry", self.retry_keyring
        )
        self.api_banner = Banner("apiAccessBanner", "warning", central)
        self.notification_banner = Banner("notificationBanner", "error", central)
        self.notification_banner.add_close_button("notificationDismiss", self.dismiss_notices)
        for banner in (self.keyring_banner, self.api_banner, self.notification_banner):
            layout.addWidget(banner)

        self.table = TokenTableView(self.model, central)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        for action in self.commands.table_actions():
            self.table.addAction(action)
        layout.addWidget(self.table, 1)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        self.progress_bar = QProgressBar(status)
        self.progress_bar.setObjectName("rotationProgress")
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setFormat("Rotating %v of %m")
        self.progress_bar.hide()
        self.counts_label = QLabel(status)
        self.counts_label.setObjectName("tokenCounts")
        self.next_rotation_label = QLabel(status)
        self.next_rotation_label.setObjectName("nextRotation")
        for label in (self.next_rotation_label, self.counts_label):
            label.setContentsMargins(8, 0, 8, 0)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.next_rotation_label)
        status.addPermanentWidget(self.counts_label)

    # ----------------------------------------------------------------- menus

    def token_menu_actions(self) -> MenuItems:
        """The Token menu, as data (None is a separator)."""
        return self.commands.token_menu()

    def context_menu_actions(self) -> MenuItems:
        """What a right click on the table offers, as data (None is a separator), so it can
        be checked without opening the menu."""
        return self.commands.context_menu(bool(self.selected_tokens()))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self.table)
        menu.setObjectName("tokenContextMenu")
        return fill_menu(menu, self.context_menu_actions())

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        menu = self.build_context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(position))

    # ----------------------------------------------------------------- state

    def keyring_available(self) -> bool:
        return self.service.store is not None and self.context.keyring_problem is None

    def current_environment(self) -> EnvironmentView | None:
        """The environment shown; None when there is none, or when all are shown."""
        return next((e for e in self._environments if e.name == self._environment), None)

    def showing_all(self) -> bool:
        """True while the table shows the tokens of every environment."""
        return self._environment == ALL_ENVIRONMENTS

    def selected_tokens(self) -> list[TokenView]:
        return self.table.selected_tokens()

    def select_tokens(self, token_ids: list[int], current: int | None = None) -> None:
        """Select these tokens (those shown), making *current* (or the first) current."""
        self.table.select_tokens(token_ids, current)

    # ----------------------------------------------------------------- reloading

    def reload(self, *, in_background: bool = True) -> None:
        """Read everything shown again, keeping selection and scroll position. A big table
        (and ``in_background``) shows its first screen at once and reads the rest in a thread:
        see :meth:`wait_until_loaded`."""
        self._reload_timer.stop()
        self._reads += 1
        self._unread = None
        self._data_version = self.service.data_version()
        # Before the first paint the environments' token counts (only in tooltips) wait.
        self._read_environments(counted=self._painted)
        environment = self.current_environment()
        name = environment.name if environment is not None else None
        shown = environment is not None or self.showing_all()
        total = self.service.token_count(name) if shown else 0
        if in_background and total > self._read_in_background_above:
            names, first = self.service.token_page(
                name,
                self.model.sort_column,
                descending=self.model.sort_order == Qt.SortOrder.DescendingOrder,
                limit=FIRST_SCREEN_ROWS,
            )
            with self.table.keeping_view():
                self.model.show_first_rows(names, first, total, show_environment=self.showing_all())
            self._unread = Request(self._reads, name, self.showing_all())
            if self._painted:
                self._start_reading()
        else:
            if shown:
                cursor, names, rows = self.service.token_table(name)
            else:
                cursor, names, rows = self.service.change_cursor(), self.service.names(), []
            self._change_cursor = cursor
            with self.table.keeping_view():
                self.model.load(names, rows, show_environment=self.showing_all())
        self._shown_changed()
        if not self.model.loading:
            self.tableLoaded.emit()

    def _read_environments(self, *, counted: bool = True) -> None:
        self._environments = self.service.environments(counted=counted)
        self._counted = counted
        self._fill_environments()

    def _start_reading(self) -> None:
        if self._unread is None or self._shut_down:
            return
        if self.reader.isRunning():
            return  # a read for an earlier choice: this one starts when it reports (_read_done)
        request, self._unread = self._unread, None
        self.reader.read(request)

    def wait_until_loaded(self) -> None:
        """Block until every token shown has been read (at once, if the first paint has not
        happened yet); a no-op when they are."""
        if not self.model.loading:
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
        if not self.model.loading:
            return  # taken already (wait_until_loaded)
        result = self.reader.result()
        if result is None or result.request.number != number:
            self.reload(in_background=False)  # the thread failed (it logged why): read here
            return
        with self.table.keeping_view():
            self.model.adopt(result.prepared)
        self._change_cursor = result.cursor
        self._shown_changed()
        self.refresh()  # what committed while the thread read
        self.tableLoaded.emit()

    def refresh(self) -> None:
        """Bring the window up to date with what committed since it last looked: only the
        tokens the change log names are read again (everything, if the log says so)."""
        self._reload_timer.stop()
        if self.model.loading:
            return  # the table is being read; it catches up once it is (see _read_done)
        self._data_version = self.service.data_version()
        changes = self.service.changes_since(self._change_cursor)
        if not changes.complete or changes.names:
            self.reload(in_background=False)  # keeps the selection, wherever it is
            return
        self._change_cursor = changes.cursor
        if changes.directory:
            self._read_environments()
        if changes.tokens:
            environment = self.current_environment()
            rows = [
                row
                for row in self.service.token_rows(changes.tokens)
                if environment is None or row.environment_id == environment.id
            ]
            gone = changes.tokens - {row.id for row in rows}
            shown = self.model.has_token
            if any(not shown(row.id) for row in rows) or any(map(shown, gone)):
                # Tokens appear or disappear: the model resets, the view keeps its selection.
                with self.table.keeping_view():
                    self.model.update_rows(rows, gone)
                if not changes.directory:
                    self._read_environments()  # their token counts
            else:
                self.model.update_rows(rows)
        if changes.tokens or changes.directory:
            self._shown_changed()

    def _shown_changed(self) -> None:
        """Everything that depends on the tokens shown."""
        self._conceal_unless_selected()
        self._update_environment_state()
        self._update_status()
        self._update_actions()
        self._reload_dialogs()

    @Slot()
    def _schedule_refresh(self, delay_ms: int = 0) -> None:
        if self._shut_down:
            return
        if not self._reload_timer.isActive():
            self._reload_timer.start(delay_ms)

    @Slot()
    def _scheduled_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:  # keep the window alive; the next poll tries again
            log.exception("reading the changed tokens failed")

    @Slot()
    def poll(self) -> None:
        """Catch up when another connection (process or thread) committed a change."""
        try:
            version = self.service.data_version()
        except Exception:
            log.exception("checking the database for changes failed")
            return
        if version != self._data_version:
            self._scheduled_refresh()

    def _fill_environments(self) -> None:
        combo = self.environment_selector
        names = [e.name for e in self._environments]
        if self._environment not in names and not (names and self.showing_all()):
            self._environment = names[0] if names else None
        # Every environment, then (with more than one) an entry showing all of them.
        data = [*names, ALL_ENVIRONMENTS] if len(names) > 1 else names
        combo.blockSignals(True)
        try:
            if [combo.itemData(i) for i in range(combo.count())] != data:
                combo.clear()
                for env in self._environments:
                    combo.addItem(env.name, env.name)
                if len(names) > 1:
                    combo.addItem("All environments", ALL_ENVIRONMENTS)
            total = 0
            for i, env in enumerate(self._environments):
                total += env.token_count
                access = f"API access {'enabled' if env.api_enabled else 'disabled'}"
                tip = f"{plural(env.token_count, 'token')}; {access}" if self._counted else access
                combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
            if len(names) > 1:
                tip = f"{len(names)} environments"
                if self._counted:
                    tip = f"{plural(total, 'token')} in {tip}"
                combo.setItemData(len(names), tip, Qt.ItemDataRole.ToolTipRole)
            if self._environment not in data:
                self._environment = names[0] if names else None
            combo.setCurrentIndex(
                data.index(self._environment) if self._environment in data else -1
            )
        finally:
            combo.blockSignals(False)
        combo.setEnabled(bool(names))

    @Slot(int)
    def _environment_chosen(self, index: int) -> None:
        value = self.environment_selector.itemData(index)
        if isinstance(value, str) and value != self._environment:
            self._environment = value
            self.table.clearSelection()
            self.reload()
            self.table.scrollToTop()

    def _update_environment_state(self) -> None:
        environment = self.current_environment()
        self.api_toggle.setEnabled(environment is not None)
        self.api_toggle.setChecked(environment is not None and environment.api_enabled)
        if environment is not None and not environment.api_enabled:
            self.api_banner.set_text(
                f"API access is disabled for {environment.name}: every token in it answers "
                "401. Turn on API access to let its tokens make requests again."
            )
            self.api_banner.show()
        else:
            self.api_banner.hide()

    def _update_status(self) -> None:
        total, inactive = self.model.counts()  # inactive: None while the table is read
        shown = self.model.rowCount()
        text = "No tokens" if total == 0 else plural(total, "token")
        if self.model.filter_text:
            text = f"{shown:,} of {plural(total, 'token')} shown"
        if inactive:
            text += f", {inactive:,} inactive"
        self.counts_label.setText(text)
        self._update_next_rotation()
        self.table.set_empty_text(self._empty_text())

    def _update_next_rotation(self) -> None:
        """The next rotation in the environment shown (the scheduler serves every one)."""
        label = self.next_rotation_label
        shown = self.current_environment()
        label.setVisible(shown is not None or self.showing_all())
        if shown is None and not self.showing_all():
            return
        environment = shown.name if shown is not None else "any environment"
        due = self.service.next_due_at(shown.name if shown is not None else None)
        if due is None:
            label.setText(f"No rotation scheduled in {environment}")
        elif due <= self.service.clock.now():
            label.setText(f"Next rotation in {environment}: due now")
        else:
            label.setText(f"Next rotation in {environment}: {format_time(due)}")
        label.setToolTip(
            f"The earliest scheduled rotation of an active token in {environment} (local "
            "time). While TokenDesk runs, due tokens of every environment are rotated."
        )

    def _empty_text(self) -> str:
        """What the table says when it shows no token: why, and what to do."""
        environment = self.current_environment()
        if self.showing_all():
            if self.model.filter_text and self.model.counts()[0]:
                return (
                    f"No token matches “{self.filter_edit.text().strip()}”. Press Esc in the "
                    "filter box to show them all."
                )
            return "There are no tokens in any environment yet."
        if environment is None:
            return (
                "There are no environments yet. Add one on the Environments tab of "
                "Tools → Agents & roles."
            )
        if self.model.filter_text and self.model.counts()[0]:
            return (
                f"No token in {environment.name} matches “{self.filter_edit.text().strip()}”. "
                "Press Esc in the filter box to show them all."
            )
        text = f"There are no tokens in {environment.name} yet."
        if not environment.api_enabled:
            return f"{text} Turn on API access to create tokens here."
        if not self.keyring_available():
            return f"{text} Creating one needs the system keyring (see above)."
        return f"{text} Create one with New token ({shortcut_text(QKeySequence.StandardKey.New)})."

    def _update_actions(self) -> None:
        self.commands.update(
            ActionState(
                selected=self.selected_tokens(),
                keyring=self.keyring_available(),
                has_environments=bool(self._environments),
                rotating=self.runner.is_running(),
                revealed=self.model.revealed_ids(),
            )
        )

    @Slot()
    def _selection_changed(self) -> None:
        if self.table.restoring:
            return  # a reload is putting the selection back; it updates everything after
        self._conceal_unless_selected()
        self._update_actions()

    def _reload_dialogs(self) -> None:
        alive = []
        for dialog in self._open_dialogs:
            if not shiboken6.isValid(dialog) or not dialog.isVisible():
                continue
            alive.append(dialog)
            reload = getattr(dialog, "reload", None)
            if callable(reload):
                reload()
        self._open_dialogs = alive

    # ----------------------------------------------------------------- filter

    @Slot(str)
    def _filter_changed(self, text: str) -> None:
        with self.table.keeping_view():
            self.model.set_filter(text)
        self._conceal_unless_selected()
        self._update_status()
        self._update_actions()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _filter_done(self) -> None:
        """Enter in the filter box: on to the tokens it shows, the first one current."""
        if self.model.rowCount() and not self.selected_tokens():
            self.select_tokens([self.model.token_at(0).id])
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def clear_filter(self) -> None:
        """Show every token again and go back to the table (Esc in the filter box)."""
        self.filter_edit.clear()
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ----------------------------------------------------------------- keyring

    def _update_keyring_banner(self) -> None:
        if self.keyring_available() or self._keyring_pending:
            self.keyring_banner.hide()
            return
        problem = self.context.keyring_problem or (
            f"the system keyring is unavailable; {secret_store.remedy()}"
        )
        self.keyring_banner.set_text(
            f"{problem[:1].upper()}{problem[1:]}\n"
            "Creating, copying, revealing, refreshing and deleting tokens wait until it is back; "
            "nothing is lost meanwhile.",
            heading="Secrets cannot be used right now.",
        )
        self.keyring_banner.show()

    def retry_keyring(self, *, quiet: bool = False) -> bool:
        """Try the keyring again; on success use it, finish interrupted changes and catch up
        on the rotations that waited for it. ``quiet``: no status message (the first try)."""
        try:
            store = secret_store.open_secret_store()
        except SecretStoreUnavailable as error:
            self.context.keyring_problem = str(error)
            self._update_keyring_banner()
            self._update_actions()
            if not quiet:
                self._status("The keyring is still unavailable")
            self.keyringChecked.emit(False)
            return False
        # Recovery takes every journaled change of this process that is not in flight for
        # abandoned: it must not run while the scheduler's worker thread is between writing
        # its intent and starting on it. Stop the scheduler (it finishes the token at hand)
        # and start it again afterwards.
        scheduling = self.runner.timer.isActive()
        self.runner.stop()
        self.progress_bar.hide()
        try:
            self.service.set_store(store)
            report = self.service.reconcile()
        finally:
            if scheduling and not self._shut_down:
                self.runner.start()  # checks at once: catches up on what waited for the keyring
        self.context.keyring_problem = report.problem
        self._update_keyring_banner()
        self.refresh()
        self._update_actions()
        if report.problem:
            if not quiet:
                self._status("The keyring is still unavailable")
            self.keyringChecked.emit(False)
            return False
        finished = len(report.rolled_forward) + len(report.rolled_back)
        message = "The keyring is available again" if not quiet else ""
        if finished:
            message = f"{plural(finished, 'interrupted change')} finished"
            if not quiet:
                message = f"The keyring is available again; {message}"
        if message:
            self._status(message)
        self.keyringChecked.emit(True)
        return True

    def _keyring_failed(self, error: SecretStoreUnavailable) -> None:
        self.context.keyring_problem = str(error)
        self._update_keyring_banner()
        self._update_status()
        self._update_actions()

    # ----------------------------------------------------------------- running actions

    def _attempt(self, title: str, work: Callable[[], object]) -> bool:
        """Run *work*; a TokenDesk error becomes a message box, never a crash."""
        try:
            with self._busy():
                work()
        except SecretStoreUnavailable as error:
            self._keyring_failed(error)
            messages.error(self, title, f"{title} failed.", str(error))
            return False
        except TokenDeskError as error:
            messages.error(self, title, f"{title} failed.", str(error))
            return False
        return True

    @contextmanager
    def _busy(self) -> Iterator[None]:
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            yield
        finally:
            QApplication.restoreOverrideCursor()

    def _single(self) -> TokenView | None:
        selected = self.selected_tokens()
        return selected[0] if len(selected) == 1 else None

    def _status(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_MESSAGE_MS)

    # ----------------------------------------------------------------- token actions

    def create_token(self) -> None:
        if not self.commands.create.isEnabled():
            return
        from desktop.gui.create_dialog import CreateTokenDialog

        issued = CreateTokenDialog.ask(self.service, self, self._environment or None)
        if issued is None:
            return
        self._show_token(issued.token)
        message = f"Token {describe_token(issued.token)} was created in {issued.token.environment}."
        if issued.warnings:
            message += "\n\n" + "\n".join(f"Note: {w}." for w in issued.warnings)
        self._show_secret(issued, "New token", message)

    def _show_token(self, token: TokenView) -> None:
        """Switch to the token's environment, reload, and select it (clearing a filter that
        would hide it)."""
        if not self.showing_all() and token.environment != self._environment:
            self._environment = token.environment
            self.reload()
        else:
            self.refresh()
        if self.model.row_of(token.id) is None and self.model.filter_text:
            self.filter_edit.clear()
        self.select_tokens([token.id])
        row = self.model.row_of(token.id)
        if row is not None:
            self.table.scrollTo(self.model.index(row, 0))

    def _show_secret(self, issued: IssuedSecret, title: str, message: str) -> None:
        messages.show_secret(self, issued.secret, title, message, self.copy_text)

    def copy_text(self, secret: str) -> None:
        """Put a secret on the clipboard, marked for clipboard managers, cleared later."""
        self.clipboard.copy(secret)
        self._status(
            f"Copied; the clipboard will be cleared in {self.clipboard.clear_after_seconds} s"
        )

    def copy_token(self) -> None:
        token = self._single()
        if token is None or not self.commands.copy.isEnabled():
            return
        self._attempt("Copy", lambda: self.copy_text(self.service.reveal(token.id)))

    def reveal_token(self) -> None:
        token = self._single()
        if token is None or not self.commands.reveal.isEnabled():
            return
        if token.id in self.model.revealed_ids():
            self.conceal()
            return

        def reveal() -> None:
            secret = self.service.reveal(token.id)
            self.conceal()
            self.model.reveal(token.id, secret)
            self.table.widen_token_column(secret)
            self.reveal_timer.start()

        if self._attempt("Reveal", reveal):
            seconds = max(1, round(self.reveal_timer.interval() / 1000))
            self._status(f"Revealed {token.masked}; it is hidden again in {seconds} s")
            self._update_actions()

    @Slot()
    def conceal(self) -> None:
        """Hide every revealed secret again."""
        self.reveal_timer.stop()
        self.model.conceal()
        self.table.restore_token_column()
        self._update_actions()

    def _conceal_unless_selected(self) -> None:
        """A revealed secret stays only while its token is the one selected (and shown, with
        the same secret): otherwise hide it now rather than when the timer runs out."""
        revealed = self.model.revealed_ids()
        widened = self.table.token_column_widened()
        if not revealed and not widened:
            return
        if not revealed or [t.id for t in self.selected_tokens()] != revealed:
            self.conceal()

    def set_status(self, active: bool) -> None:
        targets = [t for t in self.selected_tokens() if t.active != active]
        if not targets:
            return
        done: list[TokenView] = []

        def work() -> None:
            for token in targets:
                self.service.set_status(token.id, active)
                done.append(token)

        self._attempt("Activate" if active else "Deactivate", work)
        self.refresh()
        if done:
            tokens = plural(len(done), "token")
            self._status(
                f"Activated {tokens}"
                if active
                else f"Deactivated {tokens}: requests using {'it' if len(done) == 1 else 'them'}"
                " get 401 now"
            )

    def refresh_secret(self) -> None:
        targets = self.selected_tokens()
        if not targets or not self.commands.refresh.isEnabled():
            return
        if len(targets) == 1:
            token = targets[0]
            text = f"Issue a new secret for token {describe_token(token)}?"
            fate = _old_secret_fate(token)
            informative = f"{fate[:1].upper()}{fate[1:]}. The new secret is shown once."
        else:
            text = f"Issue new secrets for {len(targets)} tokens?"
            informative = (
                "For each token:\n"
                + _list_tokens(targets, _old_secret_fate)
                + "\n\nThe new secrets are shown once, one after the other."
            )
        if not messages.confirm(
            self, "Refresh secret", text, informative, accept="Refresh", destructive=True
        ):
            return
        issued: list[IssuedSecret] = []

        def work() -> None:
            for token in targets:
                issued.append(self.service.refresh(token.id))

        self._attempt("Refresh secret", work)
        self.refresh()
        for n, new in enumerate(issued, 1):
            title = "New secret" if len(issued) == 1 else f"New secret {n} of {len(issued)}"
            message = (
                f"Token {describe_token(new.token)} has a new secret; "
                f"{_old_secret_fate(new.token)}."
            )
            self._show_secret(new, title, message)
        if issued:
            self._status(f"Issued new secrets for {plural(len(issued), 'token')}")

    def delete_tokens(self) -> None:
        targets = self.selected_tokens()
        if not targets or not self.commands.delete.isEnabled():
            return
        if len(targets) == 1:
            text = f"Delete token {describe_token(targets[0])}?"
            informative = (
                "Requests using this token will get 401 immediately. Its secret is removed "
                "from the keyring; this cannot be undone. The audit log keeps its history."
            )
        else:
            text = f"Delete {len(targets)} tokens?"
            informative = (
                "Requests using these tokens will get 401 immediately:\n"
                + _list_tokens(targets)
                + "\n\nTheir secrets are removed from the keyring; this cannot be undone."
            )
        if not messages.confirm(
            self,
            "Delete tokens" if len(targets) > 1 else "Delete token",
            text,
            informative,
            accept="Delete",
            destructive=True,
        ):
            return
        first_row = min(self.model.rows_of(t.id for t in targets), default=0)
        deleted: list[int] = []

        def work() -> None:
            for token in targets:
                self.service.delete(token.id)
                deleted.append(token.id)

        self._attempt("Delete", work)
        self.refresh()
        if deleted:
            self._status(f"Deleted {plural(len(deleted), 'token')}")
            if not self.selected_tokens() and self.model.rowCount():
                # Keep the keyboard where it was: the token after the deleted ones.
                following = self.model.token_at(min(first_row, self.model.rowCount() - 1))
                self.select_tokens([following.id])

    def edit_rotation(self) -> None:
        token = self._single()
        if token is None:
            return
        from desktop.gui.rotation_dialog import RotationDialog

        if RotationDialog.ask(self.service, token.id, self):
            self.refresh()

    def edit_label(self) -> None:
        token = self._single()
        if token is None:
            return
        label = messages.ask_text(
            self,
            "Edit label",
            f"Label of token {token.masked} (agent {token.agent}):",
            token.label,
        )
        if label is None or label.strip() == token.label:
            return
        self._attempt("Edit label", lambda: self.service.set_label(token.id, label))
        self.refresh()

    @Slot(QModelIndex)
    def _double_clicked(self, index: QModelIndex) -> None:
        column = index.column()
        if column == Column.LABEL:
            self.edit_label()
        elif column in (Column.ROTATION, Column.NEXT_ROTATION):
            self.edit_rotation()
        elif column == Column.TOKEN and self.commands.reveal.isEnabled():
            self.reveal_token()

    # ----------------------------------------------------------------- environment

    @Slot(bool)
    def _api_toggled(self, enabled: bool) -> None:
        environment = self.current_environment()
        if environment is None:
            return
        if not enabled and not messages.confirm(
            self,
            "Turn off API access",
            f"Turn off API access for {environment.name}?",
            f"Every token in {environment.name} "
            f"({plural(self.service.environment(environment.name).token_count, 'token')}) "
            "will answer 401 until API access is turned on again.",
            accept="Turn off",
            destructive=True,
        ):
            self.api_toggle.setChecked(True)
            return
        changed = self._attempt(
            "API access", lambda: self.service.set_api_enabled(environment.name, enabled)
        )
        self.refresh()
        if changed:
            self._status(
                f"API access turned on for {environment.name}"
                if enabled
                else f"API access turned off for {environment.name}: its tokens get 401"
            )

    # ----------------------------------------------------------------- other windows

    def _open(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._open_dialogs.append(dialog)
        dialog.show()
        dialog.raise_()
        return dialog

    def show_directory(self) -> None:
        from desktop.gui.directory_dialog import DirectoryDialog

        dialog = DirectoryDialog(self.service, self)
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()
        self.refresh()

    def show_audit_log(self) -> QDialog:
        from desktop.gui.audit_dialog import AuditDialog

        return self._open(AuditDialog(self.service, self))

    def show_token_history(self) -> QDialog | None:
        token = self._single()
        if token is None:
            return None
        from desktop.gui.audit_dialog import AuditDialog

        return self._open(AuditDialog(self.service, self, token_id=token.id))

    def try_request(self) -> None:
        from desktop.gui.try_request_dialog import TryRequestDialog

        token = self._single()
        dialog = TryRequestDialog(
            self.service,
            self,
            environment=self._environment or None,
            token_id=token.id if token else None,
        )
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()

    def show_about(self) -> None:
        from desktop import __version__

        messages.inform(
            self,
            "About TokenDesk",
            f"TokenDesk {__version__}",
            "Manages API tokens: environments, agents and roles, scheduled rotation. Secrets "
            "are kept only in the system keyring.\n\n"
            f"Data: {self.context.data_dir}\n"
            f"Keyring: {self.service.store.backend_name if self.service.store else 'unavailable'}",
        )

    # ----------------------------------------------------------------- scheduler

    def run_due_rotations(self) -> None:
        if not self.runner.run_now():
            self._status("No token is due for rotation")

    @Slot(int)
    def _rotation_started(self, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self._status(f"Rotating {plural(total, 'due token')}…")
        self._update_actions()

    @Slot(int, int)
    def _rotation_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self._schedule_refresh(200)

    @Slot(object)
    def _rotation_finished(self, report: RotationReport) -> None:
        self.progress_bar.hide()
        self.refresh()
        if report.rotated:
            self._status(f"Rotated {plural(len(report.rotated), 'token')} on schedule")

    @Slot(int, str)
    def _rotation_failed(self, token_id: int, message: str) -> None:
        if token_id == NO_TOKEN:
            self.notify("Scheduled rotations failed", f"Due tokens could not be rotated: {message}")
            return
        name = f"token {token_id}"
        with suppress(TokenDeskError):
            token = self.service.token(token_id)
            name = f"token {describe_token(token)} in {token.environment}"
        self.notify(
            "Scheduled rotation failed", f"The scheduled rotation of {name} failed: {message}"
        )

    def notify(self, title: str, text: str) -> None:
        """A notice that must not go unseen: a banner, the status bar, and the system tray's
        notification where there is one. Never modal: the scheduler runs unattended."""
        self._failures.append(text)
        if len(self._failures) == 1:
            self.notification_banner.set_text(text, heading=f"{title}.")
        else:
            self.notification_banner.set_text(
                f"The latest: {text}", heading=f"{len(self._failures)} problems."
            )
        self.notification_banner.show()
        self._status(f"{title}: see the notice above the table")
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self.windowIcon(), self)
                self._tray.setObjectName("trayIcon")
                self._tray.setToolTip("TokenDesk")
                self._tray.messageClicked.connect(self._bring_to_front)
            self._tray.show()
            self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 15_000)

    def notices(self) -> list[str]:
        return list(self._failures)

    def dismiss_notices(self) -> None:
        self._failures.clear()
        self.notification_banner.hide()

    def _bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    # ----------------------------------------------------------------- settings and closing

    def use_settings(self, settings: QSettings) -> None:
        """Remember geometry and column layout in *settings* (restored now, saved on close)."""
        self._settings = settings
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        header = settings.value("window/tokenTableHeader")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        environment = settings.value("window/environment")
        if isinstance(environment, str) and environment != self._environment:
            index = self.environment_selector.findData(environment)
            if index >= 0:
                self.environment_selector.setCurrentIndex(index)

    def shutdown(self) -> None:
        """Stop every timer and the scheduler; take our secret off the clipboard."""
        if self._shut_down:
            return
        self._shut_down = True
        self.poll_timer.stop()
        self._reload_timer.stop()
        self.conceal()
        self.runner.stop()
        self._unread = None
        self.reader.wait()
        self.clipboard.clear_if_ours()
        for dialog in self._open_dialogs:
            if shiboken6.isValid(dialog):
                dialog.close()
        self._open_dialogs.clear()
        if self._tray is not None:
            self._tray.hide()
        if self._settings is not None:
            self._settings.setValue("window/geometry", self.saveGeometry())
            self._settings.setValue(
                "window/tokenTableHeader", self.table.horizontalHeader().saveState()
            )
            if self._environment is not None:
                self._settings.setValue("window/environment", self._environment)
            self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


__all__ = ["MainWindow"]
