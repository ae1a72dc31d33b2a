"""The main window: lays out the tokens of one environment (or all) and wires its parts.

The window shows and asks; its parts do the rest:

* :class:`~desktop.gui.environment_bar.EnvironmentBar`: which environment is shown, its API access;
* :class:`~desktop.gui.table_sync.TableSync`: the table read, then kept current;
* :class:`~desktop.gui.token_commands.TokenCommands`: what the actions do, and their wording;
* :class:`~desktop.gui.notices.Notices`: the banners, the tray and the status bar;
* :class:`~desktop.gui.token_details.TokenDetailsPane`: what the selected token may do;
* :class:`~desktop.gui.actions.WindowActions`: the actions, menus and toolbar, as data.

What runs beyond one window, the keyring session, the rotation runner, the table's reader thread
and the clipboard, is built by the composition root (:func:`desktop.app.main_window_for`) and
handed in; the window owns them from then on and stops them when it closes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, TypedDict

from PySide6.QtCore import QByteArray, QModelIndex, QPoint, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QMainWindow,
    QMenu,
    QSplitter,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import TokenDeskError
from desktop.domain.table import Column
from desktop.gui import messages
from desktop.gui.actions import ActionState, MenuItems, WindowActions, fill_menu, shortcut_text
from desktop.gui.clipboard import SecretClipboard
from desktop.gui.environment_bar import EnvironmentBar
from desktop.gui.notices import Notices
from desktop.gui.notifications import Notifier
from desktop.gui.table_reader import TableReader
from desktop.gui.table_sync import (
    LISTENING_POLL_INTERVAL_MS,
    POLL_INTERVAL_MS,
    READ_IN_BACKGROUND_ABOVE,
    TableSync,
)
from desktop.gui.token_commands import REVEAL_MS, TokenCommands
from desktop.gui.token_details import TokenDetailsPane, selected_rows
from desktop.gui.token_model import HEADER_STATE_KEY, TokenTableModel
from desktop.gui.token_table import TokenTableView
from desktop.gui.usage import UnusedOffer, UsageFollower
from desktop.services.keyring_session import KeyringSession
from desktop.services.runner import RotationRunner
from desktop.services.tokens import TokenService
from desktop.services.views import TokenView


class Registry(Protocol):
    """What the window is opened on: the composition root's open data dir, which the window
    reads and never changes (its owner closes it)."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def service(self) -> TokenService: ...

    @property
    def registry_name(self) -> str:
        """Which registry is open, for people (the file, or the server's database)."""
        ...


class WindowOptions(TypedDict, total=False):
    """What the composition root passes through to :class:`MainWindow` as it is."""

    environment: str | None
    poll_interval_ms: int
    listening_poll_interval_ms: int
    reveal_ms: int
    read_in_background_above: int
    autostart: bool


class MainWindow(QMainWindow):
    """The tokens of the selected environment, their actions and the notices about them."""

    # After each try to reach the keyring (the first one right after the first paint): whether
    # secrets can be used now.
    keyringChecked = Signal(bool)
    # Every token shown has been read (after a read in the background; see wait_until_loaded).
    tableLoaded = Signal()

    def __init__(
        self,
        context: Registry,
        *,
        keyring: KeyringSession,
        runner: RotationRunner,
        reader: TableReader,
        clipboard: SecretClipboard,
        environment: str | None = None,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        listening_poll_interval_ms: int = LISTENING_POLL_INTERVAL_MS,
        reveal_ms: int = REVEAL_MS,
        read_in_background_above: int = READ_IN_BACKGROUND_ABOVE,
        autostart: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        """*context* is read, never changed (its owner closes it); *environment* is shown
        first; ``autostart=False`` leaves polling and the scheduler to the caller (tests)."""
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.context = context
        self.service = service = context.service
        self._title_note = ""
        self.keyring = keyring
        self.runner = runner
        self.reader = reader
        self.clipboard = clipboard
        for part in (keyring, runner, reader, clipboard):
            part.setParent(self)  # stopped in shutdown(), deleted with the window
        self._settings: QSettings | None = None
        self._details_split: QByteArray | None = None  # the split before the pane was hidden
        self._shut_down = False

        central = QWidget(self)
        central.setObjectName("centralWidget")
        self.model = TokenTableModel(self, clock=service.clock)
        self.model.use_person(service.person)
        self.notices = Notices(self, service, keyring, self.retry_keyring, central)
        self.notices.show_registry(context.registry_name)
        self.environments = EnvironmentBar(
            service,
            self.notices.attempt,
            self.notices.status,
            environment=environment,
            parent=central,
        )
        self.filter_edit = QLineEdit(central)
        self.table = TokenTableView(self.model, central)
        self.details = TokenDetailsPane(service, central)
        self.sync = TableSync(
            service,
            reader,
            self.model,
            self.table,
            self.environments,
            poll_interval_ms=poll_interval_ms,
            listening_poll_interval_ms=listening_poll_interval_ms,
            read_in_background_above=read_in_background_above,
            parent=self,
        )
        self.commands = TokenCommands(
            service,
            runner,
            clipboard,
            self.sync,
            self.environments,
            self.table,
            self.model,
            self.filter_edit,
            self.notices,
            actions_changed=self._update_actions,
            reveal_ms=reveal_ms,
            parent=self,
        )
        self.window_actions = WindowActions(
            self.commands,
            find=self.focus_filter,
            quit=self.close,
            about=self.show_about,
            parent=self,
        )
        self.commands.use_actions(self.window_actions)
        self.usage = UsageFollower(service, self.model, self, self)
        self.unused = UnusedOffer(
            service, self.model, self.window_actions.show_unused, self.notices.status, central, self
        )
        self.notifier = Notifier(
            service, runner, tray=self.notices.tray, open_token=self.show_token, parent=self
        )
        self.notifier.bind(self.window_actions.notifications)

        # The widgets automation and tests reach by name, kept at hand.
        self.environment_selector = self.environments.selector
        self.api_toggle = self.environments.api_toggle
        self.api_banner = self.environments.api_banner
        self.keyring_banner = self.notices.keyring_banner
        self.keyring_retry = self.notices.keyring_retry
        self.notification_banner = self.notices.notification_banner
        self.progress_bar = self.notices.progress_bar
        self.counts_label = self.notices.counts_label
        self.registry_label = self.notices.registry_label
        self.next_rotation_label = self.notices.next_rotation_label
        self.unused_banner = self.unused.banner

        self._lay_out(central)
        self.window_actions.fill_menu_bar(self.menuBar())
        self.menuBar().setObjectName("menuBar")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.window_actions.build_toolbar(self))
        self._wire()

        # Every column beside a whole label at the desktops' usual 10-point font; a window manager
        # fits it to a smaller screen.
        self.resize(1440, 720)
        self.setMinimumWidth(self.minimum_width())
        # Opened without trying the keyring (to paint sooner): it is tried right after the
        # first paint; until then it counts as unavailable, without the banner.
        self.notices.show_keyring()
        self.sync.reload()
        self.table.setFocus()
        if autostart:
            self.sync.start()
            self.usage.start()
            self.runner.start()
            self.notifier.start()

    # ----------------------------------------------------------------- construction

    def minimum_width(self) -> int:
        """As narrow as the window gets: the toolbar still shows every action up to the last
        of the most used ones (the rest go behind its » menu), and the table every column up
        to Status, however long the names in it."""
        return max(self.minimumSizeHint().width(), self._toolbar_width(), self._table_width())

    def _toolbar_width(self) -> int:
        """What the toolbar needs to show New, Activate, Deactivate, Refresh, Copy and Delete
        (and what comes between them) beside its » button."""
        toolbar = self.findChild(QToolBar, "mainToolBar")
        layout = toolbar.layout() if toolbar is not None else None
        if toolbar is None or layout is None:
            return 0
        acts = self.window_actions
        key = (acts.create, acts.activate, acts.deactivate, acts.refresh, acts.copy, acts.delete)
        actions = toolbar.actions()
        shown = actions[: max(actions.index(action) for action in key) + 1]
        widgets = [toolbar.widgetForAction(action) for action in shown]
        width = sum(widget.sizeHint().width() for widget in widgets if widget is not None)
        width += layout.spacing() * (len(shown) - 1)
        margins = toolbar.contentsMargins() + layout.contentsMargins()
        style, metric = toolbar.style(), QStyle.PixelMetric
        extension = style.pixelMetric(metric.PM_ToolBarExtensionExtent, None, toolbar)
        frame = style.pixelMetric(metric.PM_ToolBarFrameWidth, None, toolbar)
        return width + margins.left() + margins.right() + extension + 2 * frame

    def _table_width(self) -> int:
        """What the table needs to show every column up to Status, each at its widest."""
        table = self.table
        header = table.horizontalHeader()
        columns = (header.logicalIndex(v) for v in range(header.visualIndex(Column.STATUS) + 1))
        width = sum(table.widest_width(c) for c in columns if not header.isSectionHidden(c))
        width += table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        central = self.centralWidget()
        layout = central.layout() if central is not None else None
        if layout is not None:
            margins = layout.contentsMargins()
            width += margins.left() + margins.right()
        return width + 2 * table.frameWidth()

    def set_title_note(self, note: str) -> None:
        """A word after the environment in the window title (``demo data``)."""
        self._title_note = note
        self._update_title()

    def _update_title(self) -> None:
        """The title names what is shown, ``Production — TokenDesk``, as a document window
        names its document; the data dir is in Help → About."""
        place = "All environments" if self.showing_all() else self.environments.choice
        title = f"{place} — TokenDesk" if place else "TokenDesk"
        self.setWindowTitle(f"{title} ({self._title_note})" if self._title_note else title)

    def _lay_out(self, central: QWidget) -> None:
        layout = QVBoxLayout(central)
        layout.setContentsMargins(9, 9, 9, 6)
        layout.setSpacing(6)

        top = QHBoxLayout()
        top.setSpacing(8)
        edit = self.filter_edit
        edit.setObjectName("tokenFilter")
        find = shortcut_text(QKeySequence.StandardKey.Find)
        edit.setPlaceholderText(f"Filter tokens ({find})")
        edit.setAccessibleName("Filter tokens")
        edit.setClearButtonEnabled(True)
        edit.setMinimumWidth(280)
        edit.setToolTip(
            "Shows tokens whose text in any column contains this. Enter goes to them, Esc "
            "clears the filter"
        )
        clear_filter = QAction(edit)
        clear_filter.setObjectName("actionClearFilter")
        clear_filter.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        clear_filter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        clear_filter.triggered.connect(self.clear_filter)
        edit.addAction(clear_filter)
        top.addWidget(self.environments)
        top.addStretch(1)
        top.addWidget(edit)
        layout.addLayout(top)

        banners = (self.keyring_banner, self.api_banner, self.notification_banner)
        for banner in (*banners, self.unused_banner):
            layout.addWidget(banner)
        for action in self.window_actions.table_actions():
            self.table.addAction(action)
        # The details under the table: beside it they would take the width its columns need
        # (Status must stay in view at the window's smallest), while below it the pane's four
        # parts stand in one row at the usual width, two by two in a narrow window. The person
        # sets the split; it is remembered.
        splitter = self.details_splitter = QSplitter(Qt.Orientation.Vertical, central)
        splitter.setObjectName("detailsSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        layout.addWidget(splitter, 1)
        open_details = QAction(self.table)
        open_details.setObjectName("actionFocusDetails")
        open_details.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        open_details.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        open_details.triggered.connect(self.focus_details)
        self.table.addAction(open_details)
        self.setCentralWidget(central)
        # Tab order: what is shown, which of it, the tokens, then what the selected one may do.
        QWidget.setTabOrder(self.environment_selector, self.api_toggle)
        QWidget.setTabOrder(self.api_toggle, self.filter_edit)
        QWidget.setTabOrder(self.filter_edit, self.table)
        QWidget.setTabOrder(self.table, self.details)

    def _wire(self) -> None:
        sync, notices, runner = self.sync, self.notices, self.runner
        sync.tableLoaded.connect(self.tableLoaded)
        sync.shownChanged.connect(self._shown_changed)
        sync.firstPainted.connect(self._after_first_paint)
        self.environments.chosen.connect(self._environment_chosen)
        self.environments.apiAccessChanged.connect(sync.catch_up)
        self.keyring.problemChanged.connect(self._keyring_changed)
        notices.follow_clipboard(self.clipboard)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.filter_edit.returnPressed.connect(self._filter_done)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.window_actions.toggle_details.toggled.connect(self._toggle_details)
        # Last used: uses read now and then, and the unused tokens counted after every change.
        self.window_actions.show_unused.toggled.connect(self._show_unused)
        self.usage.usageChanged.connect(self._usage_changed)
        sync.shownChanged.connect(self.unused.schedule_refresh)
        # A new table (another environment) is counted at once: the banner never speaks of
        # the rows shown before.
        sync.tableLoaded.connect(self.unused.refresh)
        self.unused.deactivated.connect(sync.catch_up)
        self.details.leave.connect(self._leave_details)
        # A token that expired meanwhile answers 401 and takes no refresh: nothing in the
        # database changed, so the pane and the actions are told here.
        self.model.tokensExpired.connect(self.details.refresh)
        self.model.tokensExpired.connect(self._update_actions)
        runner.started.connect(notices.rotation_started)
        runner.started.connect(self._update_actions)
        runner.progress.connect(notices.rotation_progress)
        runner.progress.connect(lambda _done, _total: sync.schedule_catch_up(200))
        runner.finished.connect(notices.rotation_finished)
        runner.finished.connect(sync.catch_up)
        runner.failed.connect(notices.rotation_failed)

    # ----------------------------------------------------------------- menus

    def context_menu_actions(self) -> MenuItems:
        """What a right click on the table offers, as data (None is a separator), so it can
        be checked without opening the menu."""
        return self.window_actions.context_menu(bool(self.selected_tokens()))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self.table)
        menu.setObjectName("tokenContextMenu")
        return fill_menu(menu, self.context_menu_actions())

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        menu = self.build_context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(position))

    @Slot(QModelIndex)
    def _double_clicked(self, index: QModelIndex) -> None:
        column = index.column()
        if column == Column.LABEL:
            self.commands.edit_label()
        elif column in (Column.ROTATION, Column.NEXT_ROTATION):
            self.commands.edit_rotation()
        elif column == Column.EXPIRES:
            self.commands.edit_expiry()
        elif column == Column.TOKEN and self.window_actions.reveal.isEnabled():
            self.commands.reveal_token()

    # ----------------------------------------------------------------- state

    def showing_all(self) -> bool:
        """True while the table shows the tokens of every environment."""
        return self.environments.showing_all()

    def selected_tokens(self) -> list[TokenView]:
        return self.table.selected_tokens()

    def select_tokens(self, token_ids: list[int], current: int | None = None) -> None:
        """Select these tokens (those shown), making *current* (or the first) current."""
        self.table.select_tokens(token_ids, current)

    def wait_until_loaded(self) -> None:
        """Block until every token shown has been read (at once, if the first paint has not
        happened yet); a no-op when they are."""
        self.sync.wait_until_loaded()

    def show_token(self, token_id: int | None) -> None:
        """Bring the window up and select the token (a click on its notification): its
        environment is shown unless all are, and a filter that hides it is cleared."""
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.show()
        self.raise_()
        self.activateWindow()
        if token_id is None:
            return
        try:
            token = self.service.token(token_id)
        except TokenDeskError:
            self.notices.status(f"Token #{token_id} no longer exists")
            return
        if not self.showing_all() and token.environment != self.environments.choice:
            self.environments.select(token.environment)
        self.wait_until_loaded()
        if self.model.row_of(token_id) is None:
            self.sync.catch_up()  # made a moment ago, by another process, before the next poll
        if self.model.row_of(token_id) is None and self.model.filter_text:
            self.clear_filter()
        self.select_tokens([token_id])
        row = self.model.row_of(token_id)
        if row is not None:
            self.table.scrollTo(self.model.index(row, 0))
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    # ----------------------------------------------------------------- what follows what

    @Slot()
    def _environment_chosen(self) -> None:
        self._update_title()
        self.table.clearSelection()
        self.sync.reload()
        self.table.scrollToTop()

    @Slot()
    def _shown_changed(self) -> None:
        """Everything that depends on the tokens shown."""
        self.commands.conceal_unless_selected()
        self.environments.update_state()
        self._update_title()
        self._update_status()
        self._update_actions()
        self.commands.reload_dialogs()
        self._show_details(changed=True)

    def _update_status(self) -> None:
        empty = self.notices.show_counts(self.model, self.environments, self.filter_edit.text())
        self.table.set_empty_text(empty)

    @Slot()
    def _update_actions(self) -> None:
        self.window_actions.update(
            ActionState(
                selected=self.selected_tokens(),
                keyring=self.keyring.is_available(),
                has_environments=self.environments.has_environments(),
                rotating=self.runner.is_running(),
                revealed=self.model.revealed_ids(),
                api_off=self.environments.api_off(),
                person=self.service.person,
            )
        )

    @Slot()
    def _selection_changed(self) -> None:
        if self.table.restoring:
            return  # a reload is putting the selection back; it updates everything after
        self.commands.conceal_unless_selected()
        self._update_actions()
        self._show_details()

    # ----------------------------------------------------------------- details

    def _show_details(self, *, changed: bool = False) -> None:
        """The pane follows the selection; *changed*: what is shown may have changed too."""
        count, row = selected_rows(self.table.selectionModel().selection())
        self.details.show_selection(count, None if row is None else self.model.token_at(row).id)
        if changed:
            self.details.refresh()

    @Slot(bool)
    def _toggle_details(self, shown: bool) -> None:
        if not shown:
            self._details_split = self.details_splitter.saveState()  # its height, for next time
            if self.details.hasFocus():
                self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self.details.setVisible(shown)

    def focus_details(self) -> None:
        """Enter on a row: on to what the selected token may do (the pane shown if hidden)."""
        self.window_actions.toggle_details.setChecked(True)
        self.details.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _leave_details(self) -> None:
        """Esc in the pane: back to the tokens."""
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ----------------------------------------------------------------- filter

    @Slot(str)
    def _filter_changed(self, text: str) -> None:
        with self.table.keeping_view():
            self.model.set_filter(text)
        self.commands.conceal_unless_selected()
        self._update_status()
        self._update_actions()
        self._show_details()

    @Slot(bool)
    def _show_unused(self, shown: bool) -> None:
        """View → Unused tokens only: the table filtered as by the filter box, with it."""
        with self.table.keeping_view():
            self.unused.show_unused(shown)
        self.commands.conceal_unless_selected()
        self._update_status()
        self._update_actions()
        self._show_details()

    @Slot(list)
    def _usage_changed(self, token_ids: list[int]) -> None:
        """Uses arrived: the selected token's details say so too, and unused ones may be used."""
        _, row = selected_rows(self.table.selectionModel().selection())
        if row is not None and self.model.token_at(row).id in token_ids:
            self.details.refresh()
        if self.model.filtering:
            self._update_status()
        self.unused.schedule_refresh()

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

    @Slot()
    def _after_first_paint(self) -> None:
        if self.keyring.pending and not self._shut_down:
            self.retry_keyring(quiet=True)

    def retry_keyring(self, *, quiet: bool = False) -> bool:
        """Try the keyring again (the keyring session finishes what waited for it), then show
        what came of it. ``quiet``: no status message (the first try)."""
        attempt = self.keyring.retry()
        if attempt.opened:
            self.progress_bar.hide()  # the runner was stopped meanwhile
        self.notices.show_keyring()
        if attempt.opened:
            self.sync.catch_up()
        self._update_actions()
        self.notices.keyring_tried(attempt, quiet=quiet)
        self.keyringChecked.emit(attempt.available)
        return attempt.available

    @Slot(str)
    def _keyring_changed(self, _problem: str) -> None:
        self.notices.show_keyring()
        self._update_status()
        self._update_actions()

    # ----------------------------------------------------------------- other windows

    def show_about(self) -> None:
        from desktop import __version__

        store = self.service.store
        messages.inform(
            self,
            "About TokenDesk",
            f"TokenDesk {__version__}",
            "Manages API tokens: environments, agents and roles, scheduled rotation. Secrets "
            "are kept only in the system keyring.\n\n"
            f"Data: {self.context.data_dir}\n"
            f"Keyring: {store.backend_name if store else 'unavailable'}",
        )

    # ----------------------------------------------------------------- settings and closing

    def use_settings(self, settings: QSettings) -> None:
        """Remember geometry, column layout and which notifications are wanted in *settings*
        (restored now, saved on close)."""
        self._settings = settings
        self.notifier.use_settings(settings)
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        header = settings.value(HEADER_STATE_KEY)
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        environment = settings.value("window/environment")
        if isinstance(environment, str) and environment != self.environments.choice:
            self.environments.select(environment)
        split = settings.value("window/detailsSplitter")
        if split is not None:
            self.details_splitter.restoreState(split)
        shown = settings.value("window/detailsShown", True, type=bool)
        self.window_actions.toggle_details.setChecked(bool(shown))

    def shutdown(self) -> None:
        """Stop every timer, the reader and the scheduler; take our secret off the clipboard."""
        if self._shut_down:
            return
        self._shut_down = True
        self.notifier.stop()
        self.sync.stop()
        self.usage.stop()
        self.unused.stop()
        self.model.expiry_timer.stop()
        self.model.grace_timer.stop()
        self.details.stop()
        self.commands.close()
        self.runner.stop()
        self.clipboard.clear_if_ours()
        self.notices.hide_tray()
        if self._settings is not None:
            self._settings.setValue("window/geometry", self.saveGeometry())
            self._settings.setValue(HEADER_STATE_KEY, self.table.horizontalHeader().saveState())
            if self.environments.choice is not None:
                self._settings.setValue("window/environment", self.environments.choice)
            shown = self.window_actions.toggle_details.isChecked()
            self._settings.setValue("window/detailsShown", shown)
            # A hidden pane has no height of its own: remember the one it had.
            split = self.details_splitter.saveState() if shown else self._details_split
            if split is not None:
                self._settings.setValue("window/detailsSplitter", split)
            self._settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


__all__ = ["MainWindow", "WindowOptions"]
