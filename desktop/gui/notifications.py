"""Desktop notifications: what needs the person while the window is not being looked at.

Four kinds (:class:`Kind`), each of which can be turned off (Settings → Notifications):

* a scheduled rotation failed: once per failure, not at every pass of the scheduler that fails
  again; many failures in one pass are one notification that counts them;
* a rotation is overdue: at most once a day per token, remembered across restarts;
* a token expires within 7 days: at most once a day per token, announced through
  :meth:`Notifier.announce_expiring` by whoever knows when tokens expire;
* a new secret was not delivered (its delivery command failed, or was not run because someone
  other than the holder set it): once per secret, not at every retry; a delivery that then
  succeeds is told by the audit log and the details pane, not by another notification.

A notification names its token as the window does (``Token #3 (Ada, Production)``), never
holds a secret, and a click on it brings the window up with that token selected (the window
only, for a notification that counts several).

Where a freedesktop notification server runs (``org.freedesktop.Notifications`` on the session
bus: every Linux desktop) notifications go there through QtDBus, with an Open action; elsewhere
(macOS, Windows, a session without a server) they are the tray icon's messages. The banner
above the table is the window's own, and stays as it is (:mod:`desktop.gui.notices`).
"""

from __future__ import annotations

import json
import logging
import math
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QSystemTrayIcon

from desktop.domain.errors import TokenDeskError
from desktop.paths import APP_NAME, resources_dir
from desktop.services.display import format_time
from desktop.services.runner import NO_TOKEN, RotationRunner
from desktop.services.tokens import TokenService
from desktop.services.views import DeliveryOutcome, RotationReport, TokenView

if TYPE_CHECKING:
    from PySide6.QtDBus import QDBusConnection, QDBusInterface

log = logging.getLogger(__name__)

# A rotation is overdue once it is this late and the scheduler has been watching all along.
# The scheduler tries a due token within a minute; after a failure it waits, doubling up to
# half an hour (BACKOFF_MAX_SECONDS) before trying again. An hour is longer than the longest
# such wait plus a check, so a token is called overdue only when the scheduler had at least
# one full chance at it, and it is still heard of the same working day. Time the window was
# closed or the machine slept does not count: missed rotations are made at start and resume.
OVERDUE_AFTER = timedelta(hours=1)
EXPIRING_WITHIN = timedelta(days=7)
REMIND_AFTER = timedelta(days=1)  # overdue and expiring tokens: at most once a day each
CHECK_INTERVAL_MS = 5 * 60_000  # how often overdue (and expiring) tokens are looked for
NAMED = 3  # a notification about several tokens names this many and counts the rest
BODY_LIMIT = 300  # servers show a few lines; the window says the rest
TRAY_MESSAGE_MS = 15_000
SETTINGS_GROUP = "notifications"


class Kind(StrEnum):
    """What a notification is about. The value is its key in the settings."""

    ROTATION_FAILED = "rotationFailed"
    OVERDUE = "overdue"
    EXPIRING = "expiring"
    DELIVERY_FAILED = "deliveryFailed"


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification: never a secret in it."""

    kind: Kind
    title: str
    body: str
    token_id: int | None  # what a click selects; None: it only brings the window up


def token_name(token: TokenView) -> str:
    """How a notification names a token: ``Token #3 (Ada, Production)``."""
    return f"Token #{token.id} ({token.agent}, {token.environment})"


def _shorten(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[: BODY_LIMIT - 1].rstrip() + "…"


def _names(tokens: Sequence[TokenView], total: int) -> str:
    """``Token #3 (…), Token #4 (…) and 5 more``: the first few of *total* tokens."""
    names = [token_name(t) for t in tokens[:NAMED]]
    rest = total - len(names)
    if rest > 0:
        return f"{', '.join(names)} and {rest} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# ----------------------------------------------------------------- freedesktop notifications

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
DEFAULT_ACTION = "default"  # the spec's key for a click on the notification itself
NOTIFY_TIMEOUT_MS = 2_000  # a server answers at once; a hung one must not hold the window
# Where the typed shape of the interface is registered on our own connection (see below).
_SHAPE_PATH = "/org/tokendesk/NotificationsShape"
_NOTIFY = "Notify(QString,uint,QString,QString,QString,QStringList,QVariantMap,int)"


def _app_icon() -> str:
    """The notification's icon: TokenDesk's own file when it is at hand, else its theme name
    (what the .desktop file names)."""
    icon = resources_dir() / "icons" / "hicolor" / "128x128" / "apps" / "tokendesk.png"
    return QUrl.fromLocalFile(str(icon)).toString() if icon.is_file() else "tokendesk"


class DesktopNotifications(QObject):
    """The freedesktop notification server on the session bus, through QtDBus.

    ``Notify`` takes a uint32 (``replaces_id``), and PySide6 has no way to put one into a plain
    call's arguments: a Python int goes out as int32, and servers refuse the call for its
    signature. A :class:`QDBusInterface` calls a method with the argument types of its meta
    object, so the call goes through one whose meta object says ``uint``. Qt builds that meta
    object from the server's introspection, where ``hints`` (``a{sv}``) has no Qt type unless
    the server is itself written with Qt; so the interface's shape is first registered on our
    own connection from an adaptor (which says ``QVariantMap``), and QtDBus, which keeps one
    meta object per interface name and connection, uses it for the server too. That also
    spares the remote introspection. Should a Qt version ever build it otherwise,
    :meth:`notify` finds no typed ``Notify`` and returns None: the tray takes over.

    The call waits for its reply (at most :data:`NOTIFY_TIMEOUT_MS`): notifications are rare,
    and a server answers in a millisecond.
    """

    invoked = Signal(int)  # the server's id of a notification its person clicked
    closed = Signal(int)  # the server's id of a notification gone from the screen

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("desktopNotifications")
        self._interface: QDBusInterface | None = None
        self._tried = False

    @staticmethod
    def supported() -> bool:
        """Whether this platform has freedesktop notifications at all (not macOS, Windows)."""
        return sys.platform not in ("darwin", "win32", "cygwin")

    def notify(self, title: str, body: str) -> int | None:
        """Show a notification; the server's id for it, or None when no server took it."""
        interface = self._reach()
        if interface is None:
            return None
        from PySide6.QtCore import Q_ARG, Q_RETURN_ARG, QMetaObject, Qt

        number = QMetaObject.invokeMethod(
            interface,
            "Notify",
            Qt.ConnectionType.DirectConnection,
            Q_RETURN_ARG("uint"),
            Q_ARG(str, APP_NAME),
            Q_ARG("uint", 0),
            Q_ARG(str, _app_icon()),
            Q_ARG(str, title),
            Q_ARG(str, body),
            Q_ARG("QStringList", [DEFAULT_ACTION, "Open"]),
            Q_ARG("QVariantMap", {"desktop-entry": "tokendesk"}),
            Q_ARG(int, -1),
        )
        error = interface.lastError()
        if error.isValid() or not isinstance(number, int) or number <= 0:
            log.info("no desktop notification (%s): using the tray", error.name() or "no id")
            return None
        return number

    def _reach(self) -> QDBusInterface | None:
        """The interface to the server, made once; None where there is no session bus."""
        if self._tried:
            return self._interface
        self._tried = True
        from PySide6.QtCore import SLOT
        from PySide6.QtDBus import QDBusConnection, QDBusInterface

        bus = QDBusConnection.sessionBus()
        if not bus.isConnected():
            return None
        _register_shape(bus)
        interface = QDBusInterface(SERVICE, PATH, INTERFACE, bus, self)
        if interface.metaObject().indexOfMethod(_NOTIFY) < 0:
            log.info("QtDBus has no typed Notify: notifications use the tray")
            return None
        interface.setTimeout(NOTIFY_TIMEOUT_MS)
        for name, slot in (
            ("ActionInvoked", "_invoked(uint,QString)"),
            ("NotificationClosed", "_closed(uint,uint)"),
        ):
            # The binding takes the slot as text; its stub says bytes.
            bus.connect(SERVICE, PATH, INTERFACE, name, self, SLOT(slot))  # type: ignore[call-overload]
        self._interface = interface
        return interface

    @Slot("uint", str)
    def _invoked(self, number: int, key: str) -> None:
        if key == DEFAULT_ACTION:
            self.invoked.emit(number)

    @Slot("uint", "uint")
    def _closed(self, number: int, _reason: int) -> None:
        self.closed.emit(number)


def _register_shape(bus: QDBusConnection) -> None:
    """Make QtDBus know the notification interface's Qt types on *bus* (see
    :class:`DesktopNotifications`): introspect an adaptor of ours that has them, once."""
    from PySide6.QtCore import ClassInfo
    from PySide6.QtDBus import QDBusAbstractAdaptor, QDBusInterface

    class_info: Any = ClassInfo  # its stub declares neither the call nor str values

    @class_info(**{"D-Bus Interface": INTERFACE})
    class Shape(QDBusAbstractAdaptor):
        @Slot(str, "uint", str, str, str, "QStringList", "QVariantMap", int, result="uint")
        def Notify(self, *_arguments: object) -> int:
            return 0  # never called: only its shape is read

    holder = QObject()
    Shape(holder)
    if bus.registerObject(_SHAPE_PATH, holder):
        QDBusInterface(bus.baseService(), _SHAPE_PATH, INTERFACE, bus).isValid()
        bus.unregisterObject(_SHAPE_PATH)


# ----------------------------------------------------------------- the notifier


class Notifier(QObject):
    """Decides what to notify and when, remembers what it told, and sends it the way the
    platform offers. Follows the rotation runner; looks for overdue tokens every few minutes."""

    shown = Signal(object)  # a Notice, as it was sent (desktop, tray, or neither)
    opened = Signal(object)  # the token id a click opened, or None (the window only)

    def __init__(
        self,
        service: TokenService,
        runner: RotationRunner,
        *,
        tray: Callable[[], QSystemTrayIcon | None],
        open_token: Callable[[int | None], object],
        parent: QObject | None = None,
    ) -> None:
        """*tray* gives the window's tray icon (None where there is no tray); *open_token*
        brings the window up and selects a token (or nothing, for None)."""
        super().__init__(parent)
        self.setObjectName("notifier")
        self._service = service
        self._tray = tray
        self._open_token = open_token
        self._settings: QSettings | None = None
        self._enabled = dict.fromkeys(Kind, True)
        self._actions: dict[Kind, QAction] = {}
        # Failures told this session, until the token rotates or stops being due.
        self._failing: set[int] = set()
        self._run_failure: str | None = None  # a failure of a whole run, told once
        # (token id, generation) of each secret whose failed delivery was told: retries are not.
        self._undelivered: set[tuple[int, int]] = set()
        # When each overdue or expiring token was last told of (POSIX seconds).
        self._told: dict[Kind, dict[int, float]] = {Kind.OVERDUE: {}, Kind.EXPIRING: {}}
        self._watching_since = service.clock.now()
        self._desktop = DesktopNotifications(self) if DesktopNotifications.supported() else None
        self._sent: dict[int, int | None] = {}  # the server's id → the token it opens
        self._tray_token: int | None = None  # what the tray's latest message opens
        self._tray_connected: QSystemTrayIcon | None = None
        if self._desktop is not None:
            self._desktop.invoked.connect(self._desktop_clicked)
            self._desktop.closed.connect(lambda number: self._sent.pop(number, None))
        self.timer = QTimer(self)
        self.timer.setObjectName("notificationTimer")
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        runner.failed.connect(self.rotation_failed)
        runner.finished.connect(self.rotations_finished)
        runner.resumed.connect(self.resumed)

    # ----------------------------------------------------------------- settings

    def use_settings(self, settings: QSettings) -> None:
        """Read which kinds are on and what was told when from *settings*, and keep them there."""
        self._settings = settings
        for kind in Kind:
            value = settings.value(f"{SETTINGS_GROUP}/{kind.value}", True, type=bool)
            self._enabled[kind] = bool(value)
            if kind in self._actions:
                self._actions[kind].setChecked(self._enabled[kind])
        for kind, told in self._told.items():
            text = settings.value(f"{SETTINGS_GROUP}/{kind.value}Told", "", type=str)
            try:
                stored = json.loads(str(text)) if text else {}
                told.update({int(key): float(when) for key, when in stored.items()})
            except (ValueError, TypeError, AttributeError):
                log.info("forgetting unreadable notification memory for %s", kind.value)

    def bind(self, actions: Mapping[Kind, QAction]) -> None:
        """The menu's checkable actions turn each kind on and off."""
        for kind, action in actions.items():
            self._actions[kind] = action
            action.setChecked(self._enabled[kind])
            action.toggled.connect(lambda on, kind=kind: self.set_enabled(kind, on))

    def is_enabled(self, kind: Kind) -> bool:
        return self._enabled[kind]

    def set_enabled(self, kind: Kind, on: bool) -> None:
        self._enabled[kind] = on
        if kind in self._actions and self._actions[kind].isChecked() != on:
            self._actions[kind].setChecked(on)
        if self._settings is not None:
            self._settings.setValue(f"{SETTINGS_GROUP}/{kind.value}", on)

    def _remember(self, kind: Kind) -> None:
        if self._settings is not None:
            told = {str(key): when for key, when in self._told[kind].items()}
            self._settings.setValue(f"{SETTINGS_GROUP}/{kind.value}Told", json.dumps(told))

    # ----------------------------------------------------------------- running

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def resumed(self) -> None:
        """After sleep, rotations missed meanwhile are being made: they are not overdue yet."""
        self._watching_since = self._service.clock.now()

    # ----------------------------------------------------------------- rotation failures

    @Slot(int, str)
    def rotation_failed(self, token_id: int, message: str) -> None:
        """A failure of the scheduler as a whole (the database), once until a run succeeds.
        Each token's failures come with the run's report (:meth:`rotations_finished`)."""
        if token_id != NO_TOKEN or message == self._run_failure:
            return
        self._run_failure = message
        if self._enabled[Kind.ROTATION_FAILED]:
            body = f"Due tokens could not be rotated: {message}"
            self._send(Notice(Kind.ROTATION_FAILED, "Scheduled Rotations Failed", body, None))

    @Slot(object)
    def rotations_finished(self, report: RotationReport) -> None:
        """Tell the failures of one pass that were not told yet: one, or how many; then its
        deliveries that failed (see :meth:`deliveries_failed`)."""
        self.deliveries_failed(report.deliveries)
        if all(token_id != NO_TOKEN for token_id, _ in report.failed):
            self._run_failure = None
        self._failing.difference_update(report.rotated)
        self._failing.difference_update(report.skipped)
        new = [(t, why) for t, why in report.failed if t != NO_TOKEN and t not in self._failing]
        self._failing.update(token_id for token_id, _ in new)
        if not new or not self._enabled[Kind.ROTATION_FAILED]:
            return  # told already, or not wanted (and not told later either)
        tokens = self._views(token_id for token_id, _ in new[:NAMED])
        if not tokens:
            return  # deleted since: nothing to open, nothing to name
        if len(new) == 1:
            text = f"{token_name(tokens[0])} was not rotated: {new[0][1]}"
            self._send(
                Notice(Kind.ROTATION_FAILED, "Scheduled Rotation Failed", text, tokens[0].id)
            )
            return
        title = f"{len(new)} Rotations Failed"
        text = f"{_names(tokens, len(new))} were not rotated. TokenDesk shows why."
        self._send(Notice(Kind.ROTATION_FAILED, title, text, None))

    def deliveries_failed(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """One notification for the new secrets of *outcomes* not delivered and not told of
        yet (the first failure of each secret; its retries are audited, not notified)."""
        for outcome in outcomes:
            if outcome.ok:
                self._undelivered.discard((outcome.token_id, outcome.generation))
        new = [
            outcome
            for outcome in outcomes
            if not outcome.ok and (outcome.token_id, outcome.generation) not in self._undelivered
        ]
        self._undelivered.update((outcome.token_id, outcome.generation) for outcome in new)
        if not new or not self._enabled[Kind.DELIVERY_FAILED]:
            return
        tokens = self._views(outcome.token_id for outcome in new[:NAMED])
        if not tokens:
            return  # deleted since: nothing to open, nothing to name
        if len(new) == 1:
            outcome = new[0]
            if outcome.refused:
                text = f"{token_name(tokens[0])}: {outcome.text}"
            else:
                text = f"{token_name(tokens[0])}: its new secret was not delivered: {outcome.text}"
            self._send(Notice(Kind.DELIVERY_FAILED, "Delivery Failed", text, tokens[0].id))
            return
        names = _names(tokens, len(new))
        text = f"{names}: their new secrets were not delivered. The audit log says why."
        self._send(Notice(Kind.DELIVERY_FAILED, f"{len(new)} Deliveries Failed", text, None))

    # ----------------------------------------------------------------- overdue and expiring

    @Slot()
    def check(self) -> None:
        """Look for overdue tokens (and forget failures of tokens no longer due), and for
        active tokens that expire within EXPIRING_WITHIN."""
        try:
            due = self._service.due_token_ids()
            expiring = (
                self._service.expiring_token_ids(EXPIRING_WITHIN)
                if self._enabled[Kind.EXPIRING]
                else []
            )
        except TokenDeskError as error:
            log.info("overdue rotations and expiring tokens not checked: %s", error)
            return
        self._failing.intersection_update(due)
        if self._enabled[Kind.OVERDUE]:
            self._announce(Kind.OVERDUE, self._overdue(due))
        if expiring:
            self._announce(Kind.EXPIRING, expiring)

    def _overdue(self, due: list[int]) -> list[int]:
        """Those of *due* (earliest rotation first) late by more than OVERDUE_AFTER while the
        window watched: a prefix of the list, found by bisection, so 100,000 due tokens cost
        a few lookups rather than reading them all."""
        cutoff = self._service.clock.now() - OVERDUE_AFTER
        if self._watching_since > cutoff or not due:
            return []

        def due_at(token_id: int) -> float:
            rows = self._service.token_rows([token_id])
            at = rows[0].next_rotation if rows else None
            return math.inf if at is None else float(at)

        return due[: bisect_right(due, cutoff.timestamp(), key=due_at)]

    def announce_expiring(self, tokens: Sequence[TokenView]) -> None:
        """Tell of tokens that expire within EXPIRING_WITHIN, each at most once a day."""
        if self._enabled[Kind.EXPIRING]:
            self._announce(Kind.EXPIRING, [token.id for token in tokens])

    def _announce(self, kind: Kind, token_ids: Sequence[int]) -> None:
        """One notification for those of *token_ids* not told of in the last day."""
        now = self._service.clock.now().timestamp()
        told = self._told[kind]
        stale = [key for key, when in told.items() if now - when >= REMIND_AFTER.total_seconds()]
        for key in stale:
            del told[key]
        fresh = [token_id for token_id in token_ids if token_id not in told]
        tokens = self._views(fresh[:NAMED])
        if not tokens:
            if stale:
                self._remember(kind)
            return
        told.update(dict.fromkeys(fresh, now))
        self._remember(kind)
        self._send(_notice(kind, tokens, len(fresh)))

    def _views(self, token_ids: Iterable[int]) -> list[TokenView]:
        views = []
        for token_id in token_ids:
            try:
                views.append(self._service.token(token_id))
            except TokenDeskError:
                continue  # deleted since: nothing to tell
        return views

    # ----------------------------------------------------------------- sending and clicks

    def _send(self, notice: Notice) -> None:
        body = _shorten(notice.body)
        number = self._desktop.notify(notice.title, body) if self._desktop is not None else None
        if number is not None:
            self._sent[number] = notice.token_id
        else:
            tray = self._tray()
            if tray is not None:
                if tray is not self._tray_connected:
                    tray.messageClicked.connect(self._tray_clicked)
                    self._tray_connected = tray
                self._tray_token = notice.token_id
                icon = QSystemTrayIcon.MessageIcon.Warning
                tray.showMessage(notice.title, body, icon, TRAY_MESSAGE_MS)
        self.shown.emit(notice)

    @Slot(int)
    def _desktop_clicked(self, number: int) -> None:
        if number in self._sent:  # the signal reaches every client: only ours
            self._open(self._sent[number])

    @Slot()
    def _tray_clicked(self) -> None:
        self._open(self._tray_token)

    def _open(self, token_id: int | None) -> None:
        self._open_token(token_id)
        self.opened.emit(token_id)


def _notice(kind: Kind, tokens: Sequence[TokenView], total: int) -> Notice:
    """The notification about *total* overdue or expiring tokens, the first of them *tokens*."""
    token = tokens[0]
    if kind == Kind.OVERDUE:
        if total == 1:
            when = format_time(token.next_rotation_at)
            text = f"{token_name(token)} was due for rotation at {when} and is not rotated yet."
            return Notice(kind, "Rotation Overdue", text, token.id)
        text = f"{_names(tokens, total)} are due for rotation and not rotated yet."
        return Notice(kind, f"{total} Rotations Overdue", text, None)
    within = EXPIRING_WITHIN.days
    if total == 1:
        when = format_time(token.expires_at) if token.expires_at else f"within {within} days"
        text = f"{token_name(token)} expires at {when} and then answers 401 to every request."
        return Notice(kind, "Token Expires Soon", text, token.id)
    text = f"{_names(tokens, total)} expire within {within} days."
    return Notice(kind, f"{total} Tokens Expire Soon", text, None)


__all__ = [
    "EXPIRING_WITHIN",
    "OVERDUE_AFTER",
    "DesktopNotifications",
    "Kind",
    "Notice",
    "Notifier",
    "token_name",
]
