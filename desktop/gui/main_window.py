"""The main window: the tokens of one environment, their actions, and what runs in the background.

Everything the window changes goes through :class:`TokenService`; the window only reloads what
the service reports. Changes made elsewhere (the command line, a cron ``rotate-due``) show up by
polling SQLite's ``data_version``; changes made in this process (the scheduler's worker thread
included) arrive through a service listener marshalled to the GUI thread.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QSettings,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QCloseEvent, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSystemTrayIcon,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import SecretStoreUnavailable, TokenDeskError
from desktop.gui import icons, messages
from desktop.gui.clipboard import CLEAR_AFTER_MS, SecretClipboard
from desktop.gui.token_model import (
    TOKEN_ID_ROLE,
    Column,
    TokenTableModel,
    describe_token,
    format_duration,
    format_time,
)
from desktop.secrets import store as secret_store
from desktop.services.runner import DEFAULT_CHECK_INTERVAL_MS, NO_TOKEN, RotationRunner
from desktop.services.views import EnvironmentView, IssuedSecret, RotationReport, TokenView

if TYPE_CHECKING:
    from desktop.app import Context

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 1_500
REVEAL_MS = 30_000
STATUS_MESSAGE_MS = 10_000
LIST_AT_MOST = 8  # tokens listed by name in a confirmation; the rest are counted


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


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


def _ranges(rows: list[int]) -> Iterator[tuple[int, int]]:
    """Runs of consecutive numbers in a sorted list, as (first, last) pairs."""
    start = previous = None
    for row in rows:
        if previous is not None and start is not None and row != previous + 1:
            yield start, previous
            start = None
        if start is None:
            start = row
        previous = row
    if start is not None and previous is not None:
        yield start, previous


class _ChangeRelay(QObject):
    """Carries the service's change callbacks (from any thread) to the GUI thread."""

    changed = Signal()


class Banner(QFrame):
    """A notice across the top of the window: an icon, a message and optional buttons."""

    COLORS = {
        "warning": ("#fff4ce", "#c9a227"),
        "error": ("#fde7e9", "#c42b1c"),
        "info": ("#e8f1fb", "#5b8ccc"),
    }

    def __init__(self, name: str, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        background, border = self.COLORS[kind]
        self.setStyleSheet(
            f"#{name} {{ background: {background}; border: 1px solid {border}; "
            "border-radius: 4px; } "
            f"#{name} QLabel {{ color: #1f1f1f; background: transparent; border: none; }}"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        symbol = QLabel(self)
        size = self.style().pixelMetric(self.style().PixelMetric.PM_SmallIconSize)
        symbol.setPixmap(icons.icon(kind).pixmap(size, size))
        symbol.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(symbol)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self._plain = ""
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.label, 1)
        self._buttons = layout
        self.hide()

    def text(self) -> str:
        """The message as plain text."""
        return self._plain

    def set_text(self, text: str, heading: str = "") -> None:
        """Show *text* after a bold *heading*; both are plain text (names are escaped)."""
        self._plain = f"{heading} {text}".strip()
        body = html.escape(text).replace("\n", "<br>")
        self.label.setText(f"<b>{html.escape(heading)}</b> {body}" if heading else body)

    def add_button(self, text: str, name: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.clicked.connect(slot)
        self._buttons.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        return button

    def add_close_button(self, name: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setAutoRaise(True)
        button.setIcon(icons.icon("close"))
        button.setToolTip("Dismiss")
        button.clicked.connect(slot)
        self._buttons.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        return button


class MainWindow(QMainWindow):
    """The tokens of the selected environment, their actions, the scheduler and notices."""

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
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.context = context
        self.service = context.service
        self.setWindowTitle(f"TokenDesk — {context.data_dir}")
        self._environments: list[EnvironmentView] = []
        self._environment: str | None = None
        self._data_version: int | None = None
        self._token_column_width: int | None = None
        self._failures: list[str] = []
        self._tray: QSystemTrayIcon | None = None
        self._open_dialogs: list[QDialog] = []
        self._settings: QSettings | None = None
        self._shut_down = False

        self.clipboard = SecretClipboard(self, clear_after_ms)
        self.clipboard.cleared.connect(
            lambda: self.statusBar().showMessage("Clipboard cleared", STATUS_MESSAGE_MS)
        )
        self.reveal_timer = QTimer(self)
        self.reveal_timer.setObjectName("revealTimer")
        self.reveal_timer.setSingleShot(True)
        self.reveal_timer.setInterval(reveal_ms)
        self.reveal_timer.timeout.connect(self.conceal)

        self.model = TokenTableModel(self)
        self._build_actions()
        self._build_central()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()

        self._reload_timer = QTimer(self)
        self._reload_timer.setObjectName("reloadTimer")
        self._reload_timer.setSingleShot(True)
        self._reload_timer.timeout.connect(self._scheduled_reload)
        self.poll_timer = QTimer(self)
        self.poll_timer.setObjectName("pollTimer")
        self.poll_timer.setInterval(poll_interval_ms)
        self.poll_timer.timeout.connect(self.poll)

        self._relay = _ChangeRelay(self)
        self._relay.changed.connect(self._schedule_reload)
        relay = self._relay

        def notify() -> None:
            try:
                if shiboken6.isValid(relay):
                    relay.changed.emit()
            except RuntimeError:  # the window went away meanwhile
                pass

        self.service.add_listener(notify)

        self.runner = RotationRunner(self.service, check_interval_ms, self)
        self.runner.started.connect(self._rotation_started)
        self.runner.progress.connect(self._rotation_progress)
        self.runner.finished.connect(self._rotation_finished)
        self.runner.failed.connect(self._rotation_failed)

        self.resize(1180, 640)
        self._update_keyring_banner()
        self.reload()
        self.table.setFocus()
        if autostart:
            self.poll_timer.start()
            self.runner.start()

    # ----------------------------------------------------------------- construction

    def _action(
        self,
        name: str,
        text: str,
        slot: Callable[[], object],
        *,
        icon: str | None = None,
        shortcut: QKeySequence.StandardKey | str | None = None,
        tip: str = "",
        table_only: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if icon:
            action.setIcon(icons.icon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if table_only:
            # Only while the table has focus: elsewhere Ctrl+C and Delete edit text.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.action_create = self._action(
            "actionCreateToken",
            "&New token…",
            self.create_token,
            icon="new",
            shortcut=key.New,
            tip="Create a token for an agent",
        )
        self.action_activate = self._action(
            "actionActivate",
            "&Activate",
            lambda: self.set_status(True),
            icon="activate",
            tip="Let the selected tokens make requests again",
        )
        self.action_deactivate = self._action(
            "actionDeactivate",
            "&Deactivate",
            lambda: self.set_status(False),
            icon="deactivate",
            tip="Make every request with the selected tokens get 401",
        )
        self.action_refresh = self._action(
            "actionRefresh",
            "Refresh &secret…",
            self.refresh_secret,
            icon="refresh",
            tip="Issue a new secret for the selected tokens",
        )
        self.action_rotate = self._action(
            "actionRotate",
            "R&otation…",
            self.edit_rotation,
            icon="rotation",
            tip="Set how often the selected token's secret is replaced",
        )
        self.action_copy = self._action(
            "actionCopyToken",
            "&Copy",
            self.copy_token,
            icon="copy",
            shortcut=key.Copy,
            tip="Copy the selected token's secret; the clipboard is cleared after a while",
            table_only=True,
        )
        self.action_reveal = self._action(
            "actionRevealToken",
            "Re&veal",
            self.reveal_token,
            icon="reveal",
            tip="Show the selected token's secret for a short while",
        )
        self.action_label = self._action(
            "actionEditLabel",
            "Edit &label…",
            self.edit_label,
            icon="label",
            tip="Change what the selected token is for",
        )
        self.action_history = self._action(
            "actionTokenHistory",
            "&History…",
            self.show_token_history,
            icon="history",
            tip="The audit log of the selected token",
        )
        self.action_delete = self._action(
            "actionDelete",
            "De&lete…",
            self.delete_tokens,
            icon="delete",
            shortcut=key.Delete,
            tip="Delete the selected tokens and their secrets",
            table_only=True,
        )
        self.action_find = self._action(
            "actionFind",
            "&Find…",
            self.focus_filter,
            icon="find",
            shortcut=key.Find,
            tip="Filter the tokens",
        )
        self.action_directory = self._action(
            "actionAgentsRoles",
            "A&gents && roles…",
            self.show_directory,
            icon="directory",
            tip="Agents, roles and environments",
        )
        self.action_audit = self._action(
            "actionAuditLog",
            "&Audit log…",
            self.show_audit_log,
            icon="audit",
            tip="Every change, who made it and when",
        )
        self.action_try = self._action(
            "actionTryRequest",
            "&Try a request…",
            self.try_request,
            icon="try",
            tip="See what the API would answer to a request with a token",
        )
        self.action_run_due = self._action(
            "actionRunDueRotations",
            "&Rotate due tokens now",
            self.run_due_rotations,
            tip="Rotate every token whose scheduled rotation is due",
        )
        self.action_quit = self._action(
            "actionQuit",
            "&Quit",
            self.close,
            icon="quit",
            shortcut=key.Quit,
        )
        self.action_about = self._action(
            "actionAbout",
            "&About TokenDesk",
            self.show_about,
            icon="about",
        )

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
        self.api_toggle = QCheckBox("API access", central)
        self.api_toggle.setObjectName("apiAccessToggle")
        self.api_toggle.setToolTip(
            "When off, every token of this environment answers 401 to every request"
        )
        self.api_toggle.clicked.connect(self._api_toggled)
        self.filter_edit = QLineEdit(central)
        self.filter_edit.setObjectName("tokenFilter")
        self.filter_edit.setPlaceholderText("Filter tokens (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(280)
        self.filter_edit.setToolTip("Shows tokens whose text in any column contains this")
        self.filter_edit.textChanged.connect(self._filter_changed)
        top.addWidget(environment_label)
        top.addWidget(self.environment_selector)
        top.addSpacing(8)
        top.addWidget(self.api_toggle)
        top.addStretch(1)
        top.addWidget(self.filter_edit)
        layout.addLayout(top)

        self.keyring_banner = Banner("keyringBanner", "error", central)
        self.keyring_retry = self.keyring_banner.add_button(
            "Retry", "keyringRetry", self.retry_keyring
        )
        self.api_banner = Banner("apiAccessBanner", "warning", central)
        self.notification_banner = Banner("notificationBanner", "error", central)
        self.notification_banner.add_close_button("notificationDismiss", self.dismiss_notices)
        for banner in (self.keyring_banner, self.api_banner, self.notification_banner):
            layout.addWidget(banner)

        self.table = QTableView(central)
        self.table.setObjectName("tokenTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(self._double_clicked)
        vertical = self.table.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.table.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._set_column_widths()
        header.setSortIndicator(Column.CREATED, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        for action in (self.action_copy, self.action_delete):
            self.table.addAction(action)
        layout.addWidget(self.table, 1)
        self.setCentralWidget(central)

    def _set_column_widths(self) -> None:
        metrics = self.table.fontMetrics()
        mono = QFontMetrics(self.model.token_font())
        padding = 28

        def width(sample: str, fm: QFontMetrics = metrics) -> int:
            return fm.horizontalAdvance(sample) + padding

        widths = {
            Column.TOKEN: width("tdk_••••••••WWWW", mono),
            Column.NAME: width("Partner Portal Sync Bot"),
            Column.LABEL: width("Nightly payments import"),
            Column.ROLE: width("Integrations admin"),
            Column.STATUS: width("Inactive"),
            Column.ROTATION: width("Every 30 days"),
            Column.NEXT_ROTATION: width("2026-01-05 09:00 (paused)"),
            Column.CREATED: width("2026-01-05 09:00"),
        }
        header = self.table.horizontalHeader()
        for column, value in widths.items():
            header.resizeSection(column, value)
        header.setSectionResizeMode(Column.LABEL, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(metrics.horizontalAdvance("Status") + padding)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        bar.setObjectName("menuBar")
        file_menu = bar.addMenu("&File")
        file_menu.setObjectName("menuFile")
        file_menu.addAction(self.action_create)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        token_menu = bar.addMenu("&Token")
        token_menu.setObjectName("menuToken")
        for action in self.token_menu_actions():
            if action is None:
                token_menu.addSeparator()
            else:
                token_menu.addAction(action)
        tools_menu = bar.addMenu("T&ools")
        tools_menu.setObjectName("menuTools")
        for tool in (self.action_directory, self.action_audit, self.action_try):
            tools_menu.addAction(tool)
        tools_menu.addSeparator()
        tools_menu.addAction(self.action_run_due)
        help_menu = bar.addMenu("&Help")
        help_menu.setObjectName("menuHelp")
        help_menu.addAction(self.action_about)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main toolbar", self)
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setIconSize(QSize(22, 22))
        groups = [
            [self.action_create],
            [self.action_activate, self.action_deactivate],
            [self.action_refresh, self.action_rotate],
            [self.action_copy, self.action_reveal],
            [self.action_delete],
        ]
        for n, group in enumerate(groups):
            if n:
                toolbar.addSeparator()
            for action in group:
                toolbar.addAction(action)
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        for action in (self.action_directory, self.action_audit):
            toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

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
        self.next_rotation_label.setToolTip("The earliest scheduled rotation in any environment")
        for label in (self.next_rotation_label, self.counts_label):
            label.setContentsMargins(8, 0, 8, 0)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.next_rotation_label)
        status.addPermanentWidget(self.counts_label)

    # ----------------------------------------------------------------- action lists

    def token_menu_actions(self) -> list[QAction | None]:
        """The Token menu, as data (None is a separator)."""
        return [
            self.action_find,
            None,
            self.action_copy,
            self.action_reveal,
            None,
            self.action_activate,
            self.action_deactivate,
            None,
            self.action_refresh,
            self.action_rotate,
            self.action_label,
            self.action_history,
            None,
            self.action_delete,
        ]

    def context_menu_actions(self) -> list[QAction | None]:
        """What a right click on the table offers, as data (None is a separator), so it can
        be checked without opening the menu."""
        if not self.selected_tokens():
            return [self.action_create, None, self.action_try]
        return [
            self.action_copy,
            self.action_reveal,
            None,
            self.action_activate,
            self.action_deactivate,
            None,
            self.action_refresh,
            self.action_rotate,
            self.action_label,
            self.action_history,
            self.action_try,
            None,
            self.action_delete,
        ]

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self.table)
        menu.setObjectName("tokenContextMenu")
        for action in self.context_menu_actions():
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        return menu

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        menu = self.build_context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(position))

    # ----------------------------------------------------------------- state

    def keyring_available(self) -> bool:
        return self.service.store is not None and self.context.keyring_problem is None

    def current_environment(self) -> EnvironmentView | None:
        return next((e for e in self._environments if e.name == self._environment), None)

    def selected_tokens(self) -> list[TokenView]:
        selection = self.table.selectionModel()
        rows = sorted({index.row() for index in selection.selectedRows()})
        return [self.model.token_at(row) for row in rows if row < self.model.rowCount()]

    def select_tokens(self, token_ids: list[int], current: int | None = None) -> None:
        """Select these tokens (those shown), making *current* (or the first) current."""
        selection_model = self.table.selectionModel()
        rows = self.model.rows_of(token_ids)
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for first, final in _ranges(rows):
            selection.select(self.model.index(first, 0), self.model.index(final, last))
        flags = QItemSelectionModel.SelectionFlag
        selection_model.select(selection, flags.ClearAndSelect)
        current_row = self.model.row_of(current) if current is not None else None
        if current_row is None and rows:
            current_row = rows[0]
        if current_row is not None:
            selection_model.setCurrentIndex(
                self.model.index(current_row, max(self.table.currentIndex().column(), 0)),
                flags.NoUpdate,
            )

    @contextmanager
    def _keeping_view(self) -> Iterator[None]:
        """Selection (by token id), current token and scroll position survive a model reset."""
        selected = [t.id for t in self.selected_tokens()]
        current = self.table.currentIndex()
        current_id = current.data(TOKEN_ID_ROLE) if current.isValid() else None
        vertical = self.table.verticalScrollBar().value()
        horizontal = self.table.horizontalScrollBar().value()
        yield
        self.table.doItemsLayout()
        if selected or current_id is not None:
            self.select_tokens(selected, current_id)
        self.table.verticalScrollBar().setValue(vertical)
        self.table.horizontalScrollBar().setValue(horizontal)

    # ----------------------------------------------------------------- reloading

    def reload(self) -> None:
        """Read everything shown again, keeping selection and scroll position."""
        self._reload_timer.stop()
        self._data_version = self.service.data_version()
        self._environments = self.service.environments()
        self._fill_environments()
        environment = self.current_environment()
        tokens = self.service.tokens(environment.name) if environment else []
        with self._keeping_view():
            self.model.set_tokens(tokens)
        self._update_environment_state()
        self._update_status()
        self._update_actions()
        self._reload_dialogs()

    @Slot()
    def _schedule_reload(self, delay_ms: int = 0) -> None:
        if self._shut_down:
            return
        if not self._reload_timer.isActive():
            self._reload_timer.start(delay_ms)

    @Slot()
    def _scheduled_reload(self) -> None:
        try:
            self.reload()
        except Exception:  # keep the window alive; the next poll tries again
            log.exception("reloading the tokens failed")

    @Slot()
    def poll(self) -> None:
        """Reload when another connection (process or thread) committed a change."""
        try:
            version = self.service.data_version()
        except Exception:
            log.exception("checking the database for changes failed")
            return
        if version != self._data_version:
            self._scheduled_reload()

    def _fill_environments(self) -> None:
        combo = self.environment_selector
        names = [e.name for e in self._environments]
        if self._environment not in names:
            self._environment = names[0] if names else None
        combo.blockSignals(True)
        try:
            if [combo.itemData(i) for i in range(combo.count())] != names:
                combo.clear()
                for env in self._environments:
                    combo.addItem(env.name, env.name)
            for i, env in enumerate(self._environments):
                combo.setItemData(
                    i,
                    f"{_plural(env.token_count, 'token')}; API access "
                    f"{'enabled' if env.api_enabled else 'disabled'}",
                    Qt.ItemDataRole.ToolTipRole,
                )
            combo.setCurrentIndex(names.index(self._environment) if self._environment else -1)
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
        total, inactive = self.model.counts()
        shown = self.model.rowCount()
        text = "No tokens" if total == 0 else _plural(total, "token")
        if self.model.filter_text:
            text = f"{shown} of {total} token{'' if total == 1 else 's'} shown"
        if inactive:
            text += f", {inactive} inactive"
        self.counts_label.setText(text)
        next_due = self.service.next_due_at()
        self.next_rotation_label.setText(
            f"Next rotation: {format_time(next_due)}" if next_due else "No rotation scheduled"
        )

    def _update_actions(self) -> None:
        selected = self.selected_tokens()
        count = len(selected)
        keyring = self.keyring_available()
        has_environments = bool(self._environments)
        self.action_create.setEnabled(keyring and has_environments)
        self.action_activate.setEnabled(any(not t.active for t in selected))
        self.action_deactivate.setEnabled(any(t.active for t in selected))
        self.action_refresh.setEnabled(keyring and count >= 1)
        self.action_delete.setEnabled(keyring and count >= 1)
        self.action_rotate.setEnabled(count == 1)
        self.action_copy.setEnabled(keyring and count == 1)
        self.action_reveal.setEnabled(keyring and count == 1)
        self.action_label.setEnabled(count == 1)
        self.action_history.setEnabled(count == 1)
        self.action_try.setEnabled(has_environments)
        self.action_run_due.setEnabled(keyring and not self.runner.is_running())
        revealed = count == 1 and selected[0].id in self.model.revealed_ids()
        self.action_reveal.setText("&Hide" if revealed else "Re&veal")

    @Slot()
    def _selection_changed(self) -> None:
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
        with self._keeping_view():
            self.model.set_filter(text)
        self._update_status()
        self._update_actions()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    # ----------------------------------------------------------------- keyring

    def _update_keyring_banner(self) -> None:
        if self.keyring_available():
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

    def retry_keyring(self) -> bool:
        """Try the keyring again; on success use it and finish interrupted changes."""
        try:
            store = secret_store.open_secret_store()
        except SecretStoreUnavailable as error:
            self.context.keyring_problem = str(error)
            self._update_keyring_banner()
            self.statusBar().showMessage("The keyring is still unavailable", STATUS_MESSAGE_MS)
            return False
        self.service.set_store(store)
        report = self.service.reconcile()
        self.context.keyring_problem = report.problem
        self._update_keyring_banner()
        self.reload()
        if report.problem:
            self.statusBar().showMessage("The keyring is still unavailable", STATUS_MESSAGE_MS)
            return False
        finished = len(report.rolled_forward) + len(report.rolled_back)
        message = "The keyring is available again"
        if finished:
            message += f"; {_plural(finished, 'interrupted change')} finished"
        self.statusBar().showMessage(message, STATUS_MESSAGE_MS)
        return True

    def _keyring_failed(self, error: SecretStoreUnavailable) -> None:
        self.context.keyring_problem = str(error)
        self._update_keyring_banner()
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
        if not self.action_create.isEnabled():
            return
        from desktop.gui.create_dialog import CreateTokenDialog

        issued = CreateTokenDialog.ask(self.service, self, self._environment)
        if issued is None:
            return
        self._show_token(issued.token)
        message = f"Token {describe_token(issued.token)} was created in {issued.token.environment}."
        if issued.warnings:
            message += "\n\n" + "\n".join(f"Note: {w}." for w in issued.warnings)
        self._show_secret(issued, "New token", message)

    def _show_token(self, token: TokenView) -> None:
        """Switch to the token's environment, reload and select it."""
        self._environment = token.environment
        self.reload()
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
        if token is None or not self.action_copy.isEnabled():
            return
        self._attempt("Copy", lambda: self.copy_text(self.service.reveal(token.id)))

    def reveal_token(self) -> None:
        token = self._single()
        if token is None or not self.action_reveal.isEnabled():
            return
        if token.id in self.model.revealed_ids():
            self.conceal()
            return

        def reveal() -> None:
            secret = self.service.reveal(token.id)
            self.conceal()
            self.model.reveal(token.id, secret)
            self._widen_token_column(secret)
            self.reveal_timer.start()

        if self._attempt("Reveal", reveal):
            seconds = max(1, round(self.reveal_timer.interval() / 1000))
            self._status(f"Revealed {token.masked}; it is hidden again in {seconds} s")
            self._update_actions()

    def _widen_token_column(self, secret: str) -> None:
        header = self.table.horizontalHeader()
        mono = QFontMetrics(self.model.token_font())
        needed = mono.horizontalAdvance(secret) + 28
        if header.sectionSize(Column.TOKEN) < needed:
            self._token_column_width = header.sectionSize(Column.TOKEN)
            header.resizeSection(Column.TOKEN, needed)

    @Slot()
    def conceal(self) -> None:
        """Hide every revealed secret again."""
        self.reveal_timer.stop()
        if not self.model.revealed_ids():
            return
        self.model.conceal()
        if self._token_column_width is not None:
            self.table.horizontalHeader().resizeSection(Column.TOKEN, self._token_column_width)
            self._token_column_width = None
        self._update_actions()

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
        self.reload()
        if done:
            tokens = _plural(len(done), "token")
            self._status(
                f"Activated {tokens}"
                if active
                else f"Deactivated {tokens}: requests using {'it' if len(done) == 1 else 'them'}"
                " get 401 now"
            )

    def refresh_secret(self) -> None:
        targets = self.selected_tokens()
        if not targets or not self.action_refresh.isEnabled():
            return
        if len(targets) == 1:
            token = targets[0]
            text = f"Issue a new secret for token {describe_token(token)}?"
            informative = (
                f"Requests using token {describe_token(token)}: "
                f"{_old_secret_fate(token)}. The new secret is shown once."
            )
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
        self.reload()
        for n, new in enumerate(issued, 1):
            title = "New secret" if len(issued) == 1 else f"New secret {n} of {len(issued)}"
            message = (
                f"Token {describe_token(new.token)} has a new secret; "
                f"{_old_secret_fate(new.token)}."
            )
            self._show_secret(new, title, message)
        if issued:
            self._status(f"Issued new secrets for {_plural(len(issued), 'token')}")

    def delete_tokens(self) -> None:
        targets = self.selected_tokens()
        if not targets or not self.action_delete.isEnabled():
            return
        if len(targets) == 1:
            text = f"Delete token {describe_token(targets[0])}?"
            informative = (
                f"Requests using token {describe_token(targets[0])} will get 401 immediately. "
                "Its secret is removed from the keyring; this cannot be undone. The audit log "
                "keeps its history."
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
        deleted: list[int] = []

        def work() -> None:
            for token in targets:
                self.service.delete(token.id)
                deleted.append(token.id)

        self._attempt("Delete", work)
        self.reload()
        if deleted:
            self._status(f"Deleted {_plural(len(deleted), 'token')}")

    def edit_rotation(self) -> None:
        token = self._single()
        if token is None:
            return
        from desktop.gui.rotation_dialog import RotationDialog

        if RotationDialog.ask(self.service, token.id, self):
            self.reload()

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
        self.reload()

    @Slot(QModelIndex)
    def _double_clicked(self, index: QModelIndex) -> None:
        column = index.column()
        if column == Column.LABEL:
            self.edit_label()
        elif column in (Column.ROTATION, Column.NEXT_ROTATION):
            self.edit_rotation()
        elif column == Column.TOKEN and self.action_reveal.isEnabled():
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
            f"Every token in {environment.name} ({_plural(environment.token_count, 'token')}) "
            "will answer 401 until API access is turned on again.",
            accept="Turn off",
            destructive=True,
        ):
            self.api_toggle.setChecked(True)
            return
        self._attempt("API access", lambda: self.service.set_api_enabled(environment.name, enabled))
        self.reload()

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
        self.reload()

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
            environment=self._environment,
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
        self._status(f"Rotating {_plural(total, 'due token')}…")
        self._update_actions()

    @Slot(int, int)
    def _rotation_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self._schedule_reload(200)

    @Slot(object)
    def _rotation_finished(self, report: RotationReport) -> None:
        self.progress_bar.hide()
        self.reload()
        if report.rotated:
            self._status(f"Rotated {_plural(len(report.rotated), 'token')} on schedule")

    @Slot(int, str)
    def _rotation_failed(self, token_id: int, message: str) -> None:
        name = f"token {token_id}"
        if token_id != NO_TOKEN:
            with suppress(TokenDeskError):
                name = f"token {describe_token(self.service.token(token_id))}"
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
            if self._environment:
                self._settings.setValue("window/environment", self._environment)
            self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


__all__ = ["Banner", "MainWindow"]
