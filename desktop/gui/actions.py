"""The main window's actions, kept as data: text, icon, shortcut, where each one appears (menu bar,
toolbar, context menu) and when it is enabled.

The menus are lists of actions (``None`` is a separator), so tests can check what a menu offers
without opening it; :meth:`WindowActions.update` is the one place that decides what is enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QSizePolicy, QToolBar, QWidget

from desktop.domain import holders
from desktop.gui import icons
from desktop.gui.notifications import Kind
from desktop.services.views import TokenView

MenuItems = list[QAction | None]  # None is a separator

COPY_TIP = "Copy the selected token's secret; the clipboard is cleared after a while"
REVEAL_TIP = "Show the selected token's secret for a short while"


def shortcut_text(key: QKeySequence.StandardKey) -> str:
    """How the platform writes a standard shortcut, e.g. ``Ctrl+F``."""
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


def fill_menu(menu: QMenu, items: MenuItems) -> QMenu:
    for item in items:
        if item is None:
            menu.addSeparator()
        else:
            menu.addAction(item)
    return menu


@dataclass(frozen=True)
class ActionState:
    """What the enabled states depend on."""

    selected: Sequence[TokenView]
    keyring: bool  # secrets can be read and written
    has_environments: bool
    rotating: bool  # a run of scheduled rotations is going on
    revealed: Collection[int]  # ids of the tokens whose secret is shown in the table
    api_off: str | None = None  # the environment shown, when its API access is off
    # Who this window acts for (alice@laptop): another admin's secret is not in their keyring,
    # so Copy and Reveal say so instead. None: not known here, and the service still refuses.
    person: str | None = None


class TokenHandlers(Protocol):
    """What the token and tool actions call (``TokenCommands`` is one)."""

    def create_token(self) -> object: ...
    def set_status(self, active: bool) -> object: ...
    def refresh_secret(self) -> object: ...
    def edit_rotation(self) -> object: ...
    def edit_expiry(self) -> object: ...
    def copy_token(self) -> object: ...
    def reveal_token(self) -> object: ...
    def edit_label(self) -> object: ...
    def show_token_history(self) -> object: ...
    def delete_tokens(self) -> object: ...
    def show_directory(self) -> object: ...
    def show_audit_log(self) -> object: ...
    def try_request(self) -> object: ...
    def run_due_rotations(self) -> object: ...


class WindowActions:
    """Every action of the main window, created once and parented to *parent*. The token and
    tool actions call *handlers*; Find, Quit and About call the three window callbacks."""

    def __init__(
        self,
        handlers: TokenHandlers,
        *,
        find: Callable[[], object],
        quit: Callable[[], object],
        about: Callable[[], object],
        parent: QObject,
    ) -> None:
        self._parent = parent
        key = QKeySequence.StandardKey
        self.create = self._make(
            "actionCreateToken",
            "&New token…",
            handlers.create_token,
            icon="new",
            shortcut=key.New,
            tip="Create a token for an agent",
        )
        self.activate = self._make(
            "actionActivate",
            "&Activate",
            lambda: handlers.set_status(True),
            icon="activate",
            tip="Let the selected tokens make requests again",
        )
        self.deactivate = self._make(
            "actionDeactivate",
            "&Deactivate",
            lambda: handlers.set_status(False),
            icon="deactivate",
            tip="Make every request with the selected tokens get 401",
        )
        self.refresh = self._make(
            "actionRefresh",
            "Refresh &secret…",
            handlers.refresh_secret,
            icon="refresh",
            tip="Issue a new secret for the selected tokens",
        )
        self.rotate = self._make(
            "actionRotate",
            "R&otation…",
            handlers.edit_rotation,
            icon="rotation",
            tip="Set how often the selected token's secret is replaced",
        )
        self.expiry = self._make(
            "actionSetExpiry",
            "E&xpiry…",
            handlers.edit_expiry,
            tip="Set when the selected token expires (401 from then on), or that it never does",
        )
        self.copy = self._make(
            "actionCopyToken",
            "&Copy",
            handlers.copy_token,
            icon="copy",
            shortcut=key.Copy,
            tip=COPY_TIP,
            table_only=True,
        )
        self.reveal = self._make(
            "actionRevealToken",
            "Re&veal",
            handlers.reveal_token,
            icon="reveal",
            tip=REVEAL_TIP,
        )
        self.label = self._make(
            "actionEditLabel",
            "Edit la&bel…",
            handlers.edit_label,
            icon="label",
            tip="Change what the selected token is for",
        )
        self.history = self._make(
            "actionTokenHistory",
            "&History…",
            handlers.show_token_history,
            icon="history",
            tip="The audit log of the selected token",
        )
        self.delete = self._make(
            "actionDelete",
            "De&lete…",
            handlers.delete_tokens,
            icon="delete",
            shortcut=key.Delete,
            tip="Delete the selected tokens and their secrets",
            table_only=True,
        )
        self.find = self._make(
            "actionFind",
            "&Find…",
            find,
            icon="find",
            shortcut=key.Find,
            tip="Filter the tokens",
        )
        self.directory = self._make(
            "actionAgentsRoles",
            "A&gents && roles…",
            handlers.show_directory,
            icon="directory",
            tip="Agents, roles and environments",
        )
        self.audit = self._make(
            "actionAuditLog",
            "&Audit log…",
            handlers.show_audit_log,
            icon="audit",
            tip="Every change, who made it and when",
        )
        self.try_request = self._make(
            "actionTryRequest",
            "&Try a request…",
            handlers.try_request,
            icon="try",
            tip="See what the API would answer to a request with a token",
        )
        self.run_due = self._make(
            "actionRunDueRotations",
            "&Rotate due tokens now",
            handlers.run_due_rotations,
            tip="Rotate every token whose scheduled rotation is due",
        )
        self.quit = self._make("actionQuit", "&Quit", quit, icon="quit", shortcut=key.Quit)
        # F9 shows and hides a side panel in GNOME's and KDE's file managers, and nothing
        # standard takes it (Ctrl+D bookmarks, duplicates or deletes elsewhere, a risky
        # neighbour for Delete). The window shows or hides the pane as it toggles.
        self.toggle_details = QAction("Token &details", self._parent)
        self.toggle_details.setObjectName("actionToggleDetails")
        self.toggle_details.setCheckable(True)
        self.toggle_details.setChecked(True)
        self.toggle_details.setShortcut(QKeySequence(Qt.Key.Key_F9))
        tip = "Show or hide what the selected token may do and its latest events"
        self.toggle_details.setStatusTip(tip)
        key_text = self.toggle_details.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.toggle_details.setToolTip(f"{tip} ({key_text})")
        # Ctrl+U, for Unused: taken by nothing standard in a window (a line edit that has the
        # focus keeps it). The window filters the table as it toggles.
        self.show_unused = QAction("&Unused tokens only", self._parent)
        self.show_unused.setObjectName("actionShowUnused")
        self.show_unused.setCheckable(True)
        self.show_unused.setShortcut(QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_U))
        tip = "Show only the active tokens no request has presented for 90 days"
        self.show_unused.setStatusTip(tip)
        key_text = self.show_unused.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.show_unused.setToolTip(f"{tip} ({key_text})")
        self.about = self._make("actionAbout", "&About TokenDesk", about, icon="about")
        self._notifications_menu()

    def _notifications_menu(self) -> None:
        """Settings → Notifications: a checkable action per kind (the notifier binds them)."""
        self.notifications: dict[Kind, QAction] = {}
        for kind, name, text, tip in (
            (
                Kind.ROTATION_FAILED,
                "actionNotifyRotationFailed",
                "Rotation &failures",
                "Notify when a scheduled rotation fails",
            ),
            (
                Kind.OVERDUE,
                "actionNotifyOverdue",
                "&Overdue rotations",
                "Notify once a day while a token's rotation is overdue",
            ),
            (
                Kind.EXPIRING,
                "actionNotifyExpiring",
                "&Expiring tokens",
                "Notify once a day while a token expires within 7 days",
            ),
            (
                Kind.DELIVERY_FAILED,
                "actionNotifyDeliveryFailed",
                "&Delivery failures",
                "Notify when a new secret could not be delivered by its delivery command",
            ),
        ):
            action = QAction(text, self._parent)
            action.setObjectName(name)
            action.setCheckable(True)
            action.setChecked(True)
            action.setStatusTip(tip)
            action.setToolTip(tip)
            self.notifications[kind] = action
        # The submenu's own action; its QMenu is made with the menu bar (a widget owns it).
        self.notifications_action = QAction("&Notifications", self._parent)
        self.notifications_action.setObjectName("actionNotifications")

    def _explain_create(self, api_off: str | None) -> None:
        """New token says why it is disabled where the environment shown has no API access."""
        tip = "Create a token for an agent"
        if api_off is not None:
            tip = f"Turn on API access for {api_off} first"
        self.create.setStatusTip(tip)
        self.create.setToolTip(f"{tip} ({shortcut_text(QKeySequence.StandardKey.New)})")

    def _explain_secret(self, holder: str | None) -> None:
        """Copy and Reveal say why they are disabled where another admin holds the secret
        (*holder*), and what to do: their own tips otherwise."""
        reason = None if holder is None else holders.not_held(holder)
        for action, tip, shortcut in (
            (self.copy, COPY_TIP, QKeySequence.StandardKey.Copy),
            (self.reveal, REVEAL_TIP, None),
        ):
            action.setStatusTip(reason or tip)
            shown = reason or tip
            action.setToolTip(f"{shown} ({shortcut_text(shortcut)})" if shortcut else shown)

    def _make(
        self,
        name: str,
        text: str,
        slot: Callable[[], object],
        *,
        icon: str | None = None,
        shortcut: QKeySequence.StandardKey | None = None,
        tip: str = "",
        table_only: bool = False,
    ) -> QAction:
        action = QAction(text, self._parent)
        action.setObjectName(name)
        if icon:
            action.setIcon(icons.icon(icon))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if table_only:
            # Only while the table has focus: elsewhere Ctrl+C and Delete edit text.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if tip:
            action.setStatusTip(tip)
            # The toolbar shows the tooltip: name the shortcut there too.
            action.setToolTip(f"{tip} ({shortcut_text(shortcut)})" if shortcut else tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # ----------------------------------------------------------------- where they appear

    def table_actions(self) -> list[QAction]:
        """The actions whose shortcuts work only while the table has focus."""
        return [self.copy, self.delete]

    def token_menu(self) -> MenuItems:
        return [
            self.find,
            None,
            self.copy,
            self.reveal,
            None,
            self.activate,
            self.deactivate,
            None,
            self.refresh,
            self.rotate,
            self.expiry,
            self.label,
            self.history,
            None,
            self.delete,
        ]

    def context_menu(self, has_selection: bool) -> MenuItems:
        """A right click on the table: the token actions, or what makes sense on empty space."""
        if not has_selection:
            return [self.create, None, self.try_request]
        return [
            self.copy,
            self.reveal,
            None,
            self.activate,
            self.deactivate,
            None,
            self.refresh,
            self.rotate,
            self.expiry,
            self.label,
            self.history,
            self.try_request,
            None,
            self.delete,
        ]

    def menu_bar(self) -> list[tuple[str, str, MenuItems]]:
        """(object name, title, items) of each menu in the menu bar."""
        return [
            ("menuFile", "&File", [self.create, None, self.quit]),
            ("menuToken", "&Token", self.token_menu()),
            ("menuView", "&View", [self.toggle_details, None, self.show_unused]),
            (
                "menuTools",
                "T&ools",
                [self.directory, self.audit, self.try_request, None, self.run_due],
            ),
            ("menuSettings", "&Settings", [self.notifications_action]),
            ("menuHelp", "&Help", [self.about]),
        ]

    def notification_menu(self) -> MenuItems:
        """Settings → Notifications: which kinds of desktop notification are raised."""
        return list(self.notifications.values())

    def fill_menu_bar(self, bar: QMenuBar) -> None:
        submenu = fill_menu(QMenu("&Notifications", bar), self.notification_menu())
        submenu.setObjectName("menuNotifications")
        self.notifications_action.setMenu(submenu)
        for name, title, items in self.menu_bar():
            menu = bar.addMenu(title)
            menu.setObjectName(name)
            fill_menu(menu, items)

    def build_toolbar(self, parent: QWidget) -> QToolBar:
        toolbar = QToolBar("Main toolbar", parent)
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setIconSize(QSize(22, 22))
        groups = [
            [self.create],
            [self.activate, self.deactivate],
            [self.refresh, self.rotate],
            [self.copy, self.reveal],
            [self.delete],
        ]
        for n, group in enumerate(groups):
            if n:
                toolbar.addSeparator()
            for action in group:
                toolbar.addAction(action)
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        for action in (self.directory, self.audit):
            toolbar.addAction(action)
        return toolbar

    # ----------------------------------------------------------------- enabled states

    def update(self, state: ActionState) -> None:
        """Enable each action only where it applies."""
        selected = state.selected
        count = len(selected)
        keyring = state.keyring
        self.create.setEnabled(keyring and state.has_environments and state.api_off is None)
        self._explain_create(state.api_off)
        self.activate.setEnabled(any(not t.active for t in selected))
        self.deactivate.setEnabled(any(t.active for t in selected))
        self.refresh.setEnabled(keyring and count >= 1)
        self.delete.setEnabled(keyring and count >= 1)
        self.rotate.setEnabled(count == 1)
        self.expiry.setEnabled(count == 1)
        elsewhere = None  # the holder of the one selected secret, when it is not this person
        if count == 1 and state.person is not None and selected[0].holder != state.person:
            elsewhere = selected[0].holder
        self._explain_secret(elsewhere)
        self.copy.setEnabled(keyring and count == 1 and elsewhere is None)
        self.reveal.setEnabled(keyring and count == 1 and elsewhere is None)
        self.label.setEnabled(count == 1)
        self.history.setEnabled(count == 1)
        self.try_request.setEnabled(state.has_environments)
        self.run_due.setEnabled(keyring and not state.rotating)
        shown = count == 1 and selected[0].id in state.revealed
        self.reveal.setText("H&ide" if shown else "Re&veal")
