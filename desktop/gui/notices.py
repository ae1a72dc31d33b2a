"""Notices: everything the window tells without being asked.

* the keyring banner: why secrets cannot be used right now, with a Retry button;
* the notification banner: what went wrong while nobody was looking (scheduled rotations),
  never modal, because the scheduler runs unattended (the desktop's notifications and the
  tray's messages about it: :mod:`desktop.gui.notifications`);
* the status bar: a passing message for what was just done, and what stays there: which
  registry is open (a file, or a team's database on a server), the counts of the tokens shown,
  the next rotation, the progress of a run of rotations, and while a copied secret waits on the
  clipboard, the seconds until it is cleared;
* what the empty table says: why it is empty, and what to do;
* a change that failed: a message box that says why (:meth:`Notices.attempt`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSystemTrayIcon,
    QWidget,
)

from desktop.domain.errors import SecretStoreUnavailable, TokenDeskError
from desktop.domain.usage import UNUSED_DAYS
from desktop.gui import messages
from desktop.gui.actions import shortcut_text
from desktop.gui.banner import Banner
from desktop.gui.clipboard import SecretClipboard
from desktop.gui.environment_bar import EnvironmentBar
from desktop.gui.token_model import TokenTableModel
from desktop.gui.widgets import plural
from desktop.services.display import describe_token, format_time, token_ref
from desktop.services.keyring_session import Attempt, KeyringSession
from desktop.services.runner import NO_TOKEN
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport

STATUS_MESSAGE_MS = 10_000


def sentence_case(title: str) -> str:
    """A title as the start of a sentence: ``Refresh Secret`` → ``Refresh secret``; words in
    capitals (``API``) and names with capitals inside (``TokenDesk``) stay as they are."""
    words = title.split(" ")
    return " ".join(
        [words[0]] + [word if word[1:] != word[1:].lower() else word.lower() for word in words[1:]]
    )


def short_registry_name(name: str, home: Path | None = None) -> str:
    """The registry's name as the status bar shows it: a file in the home folder starts with
    ``~`` (``~/.local/share/tokendesk/tokendesk.sqlite3``); a server's name is short already."""
    home_text = str(home if home is not None else Path.home()).rstrip(os.sep)
    if home_text and name.startswith(home_text + os.sep):
        return "~" + name[len(home_text) :]
    return name


@contextmanager
def _busy() -> Iterator[None]:
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class Notices(QObject):
    """The banners, the tray icon and the status bar of one window."""

    def __init__(
        self,
        window: QMainWindow,
        service: TokenService,
        keyring: KeyringSession,
        retry: Callable[[], object],
        parent: QWidget,
    ) -> None:
        """*window* owns the status bar and the tray icon; the banners are made in *parent*
        (the window lays them out); *retry* is what the keyring banner's Retry button does."""
        super().__init__(window)
        self.setObjectName("notices")
        self._window = window
        self._service = service
        self._keyring = keyring
        self._failures: list[str] = []
        # (token id, generation) of each new secret whose failed delivery the banner told:
        # its retries are audited, not told again.
        self._undelivered: set[tuple[int, int]] = set()
        self._tray: QSystemTrayIcon | None = None

        self.keyring_banner = Banner("keyringBanner", "error", parent)
        self.keyring_retry = self.keyring_banner.add_button("&Retry", "keyringRetry", retry)
        self.notification_banner = Banner("notificationBanner", "error", parent)
        self.notification_banner.add_close_button("notificationDismiss", self.dismiss)

        status = window.statusBar()
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
        self.clipboard_label = QLabel(status)
        self.clipboard_label.setObjectName("clipboardCountdown")
        self.clipboard_label.setToolTip(
            "The copied secret is taken off the clipboard then, unless something else was copied"
        )
        self.clipboard_label.hide()
        # Which registry: one person's file, or the team's server (the title names the
        # environment).
        self.registry_label = QLabel(status)
        self.registry_label.setObjectName("registryLabel")
        labels = (
            self.registry_label,
            self.clipboard_label,
            self.next_rotation_label,
            self.counts_label,
        )
        for label in labels:
            label.setContentsMargins(8, 0, 8, 0)
        status.addPermanentWidget(self.registry_label)
        status.addPermanentWidget(self.clipboard_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.next_rotation_label)
        status.addPermanentWidget(self.counts_label)

    def show_registry(self, name: str) -> None:
        """Say which registry is open: *name* shortened in the status bar, whole in its
        tooltip."""
        self.registry_label.setText(short_registry_name(name))
        self.registry_label.setToolTip(f"Registry: {name}")

    def status(self, text: str) -> None:
        """A passing message in the status bar."""
        self._window.statusBar().showMessage(text, STATUS_MESSAGE_MS)

    def attempt(self, title: str, work: Callable[[], object]) -> bool:
        """Run *work*; a TokenDesk error becomes a message box titled *title* (title case,
        ``Refresh Secret``), never a crash. A keyring that went away is reported to the keyring
        session, which the banner follows."""
        try:
            with _busy():
                work()
        except SecretStoreUnavailable as error:
            self._keyring.lost(error)
            messages.error(self._window, title, f"{sentence_case(title)} failed.", str(error))
            return False
        except TokenDeskError as error:
            messages.error(self._window, title, f"{sentence_case(title)} failed.", str(error))
            return False
        return True

    # ----------------------------------------------------------------- the clipboard

    def follow_clipboard(self, clipboard: SecretClipboard) -> None:
        """Count down in the status bar while a copied secret waits to be cleared."""
        clipboard.countdown.connect(self._clipboard_countdown)
        clipboard.cleared.connect(self._clipboard_cleared)
        clipboard.released.connect(self.clipboard_label.hide)

    @Slot(int)
    def _clipboard_countdown(self, seconds: int) -> None:
        self.clipboard_label.setText(f"Copied; clipboard clears in {seconds} s")
        self.clipboard_label.show()

    @Slot()
    def _clipboard_cleared(self) -> None:
        self.clipboard_label.hide()
        self.status("Clipboard cleared")

    # ----------------------------------------------------------------- the keyring

    def show_keyring(self) -> None:
        """The keyring banner, shown while secrets cannot be used (not before the first try)."""
        keyring = self._keyring
        if keyring.is_available() or keyring.pending:
            self.keyring_banner.hide()
            return
        problem = keyring.explanation()
        self.keyring_banner.set_text(
            f"{problem[:1].upper()}{problem[1:]}\n"
            "Creating, copying, revealing, refreshing and deleting tokens wait until it is back; "
            "nothing is lost meanwhile.",
            heading="Secrets cannot be used right now.",
        )
        self.keyring_banner.show()

    def keyring_tried(self, attempt: Attempt, *, quiet: bool) -> None:
        """Say what a try to reach the keyring came to (``quiet``: only what it finished)."""
        if not attempt.available:
            if not quiet:
                self.status("The keyring is still unavailable")
            return
        message = "The keyring is available again" if not quiet else ""
        if attempt.finished:
            message = f"{plural(attempt.finished, 'interrupted change')} finished"
            if not quiet:
                message = f"The keyring is available again; {message}"
        if message:
            self.status(message)

    # ----------------------------------------------------------------- scheduled rotations

    @Slot(int)
    def rotation_started(self, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.status(f"Rotating {plural(total, 'due token')}…")

    @Slot(int, int)
    def rotation_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)

    @Slot(object)
    def rotation_finished(self, report: RotationReport) -> None:
        self.progress_bar.hide()
        if report.rotated:
            self.status(f"Rotated {plural(len(report.rotated), 'token')} on schedule")
        self._deliveries_failed(report)

    def _deliveries_failed(self, report: RotationReport) -> None:
        """A new secret its command did not deliver breaks its clients once the grace ends:
        told in the window as a failed rotation is, not only by a desktop notification (which
        a session without a notification server or tray never shows). Once per secret."""
        for outcome in report.deliveries:
            key = (outcome.token_id, outcome.generation)
            if outcome.ok:
                self._undelivered.discard(key)
                continue
            if key in self._undelivered:
                continue
            self._undelivered.add(key)
            name = f"token {token_ref(outcome.token_id)}"
            with suppress(TokenDeskError):
                token = self._service.token(outcome.token_id)
                name = f"token {describe_token(token)} in {token.environment}"
            self.notify(
                "New secret not delivered",
                f"The new secret of {name} was not delivered: {outcome.text}",
            )

    @Slot(int, str)
    def rotation_failed(self, token_id: int, message: str) -> None:
        if token_id == NO_TOKEN:
            self.notify("Scheduled rotations failed", f"Due tokens could not be rotated: {message}")
            return
        name = f"token {token_ref(token_id)}"
        with suppress(TokenDeskError):
            token = self._service.token(token_id)
            name = f"token {describe_token(token)} in {token.environment}"
        self.notify(
            "Scheduled rotation failed", f"The scheduled rotation of {name} failed: {message}"
        )

    # ----------------------------------------------------------------- notices kept

    def notify(self, title: str, text: str) -> None:
        """A notice that must not go unseen: a banner and the status bar (the desktop's
        notification is the notifier's, which tells each failure once). Never modal: the
        scheduler runs unattended."""
        self._failures.append(text)
        if len(self._failures) == 1:
            self.notification_banner.set_text(text, heading=f"{title}.")
        else:
            self.notification_banner.set_text(
                f"The latest: {text}", heading=f"{len(self._failures)} problems."
            )
        self.notification_banner.show()
        self.status(f"{title}: see the notice above the table")

    def notices(self) -> list[str]:
        """The notices not dismissed yet, oldest first."""
        return list(self._failures)

    def dismiss(self) -> None:
        self._failures.clear()
        self.notification_banner.hide()

    def tray(self) -> QSystemTrayIcon | None:
        """The window's tray icon, made and shown on first use; None where the desktop has no
        tray to show messages. Notifications go there where no notification server runs."""
        if not (QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()):
            return None
        if self._tray is None:
            self._tray = QSystemTrayIcon(self._window.windowIcon(), self._window)
            self._tray.setObjectName("trayIcon")
            self._tray.setToolTip("TokenDesk")
        self._tray.show()
        return self._tray

    def hide_tray(self) -> None:
        if self._tray is not None:
            self._tray.hide()

    # ----------------------------------------------------------------- the tokens shown

    def show_counts(
        self, model: TokenTableModel, environments: EnvironmentBar, filter_text: str
    ) -> str:
        """The counts and the next rotation in the status bar; returns what the table says
        when it shows no token (*filter_text*: what the filter box holds)."""
        total, inactive = model.counts()  # inactive: None while the table is read
        shown = model.rowCount()
        text = "No tokens" if total == 0 else plural(total, "token")
        if model.filtering:
            text = f"{shown:,} of {plural(total, 'token')} shown"
        if inactive:
            text += f", {inactive:,} inactive"
        self.counts_label.setText(text)
        self._show_next_rotation(environments)
        return self._empty_text(model, environments, filter_text.strip())

    def _show_next_rotation(self, environments: EnvironmentBar) -> None:
        """The next rotation in the environment shown (the scheduler serves every one)."""
        label = self.next_rotation_label
        shown = environments.current()
        every = environments.showing_all()
        label.setVisible(shown is not None or every)
        if shown is None and not every:
            return
        environment = shown.name if shown is not None else "any environment"
        due = self._service.next_due_at(shown.name if shown is not None else None)
        if due is None:
            label.setText(f"No rotation scheduled in {environment}")
        elif due <= self._service.clock.now():
            label.setText(f"Next rotation in {environment}: due now")
        else:
            label.setText(f"Next rotation in {environment}: {format_time(due)}")
        label.setToolTip(
            f"The earliest scheduled rotation of an active token in {environment} (local "
            "time). While TokenDesk runs, due tokens of every environment are rotated."
        )

    def _empty_text(
        self, model: TokenTableModel, environments: EnvironmentBar, filter_text: str
    ) -> str:
        """What the table says when it shows no token: why, and what to do."""
        environment = environments.current()
        filtered_out = bool(model.filtering and model.counts()[0])
        if filtered_out and not model.filter_text:  # only unused tokens are asked for
            where = f" in {environment.name}" if environment is not None else ""
            return (
                f"No active token{where} has gone unused for {UNUSED_DAYS} days. View → Unused "
                "tokens only shows them all again."
            )
        if environments.showing_all():
            if filtered_out:
                return (
                    f"No token matches “{filter_text}”. Press Esc in the filter box to show "
                    "them all."
                )
            return "There are no tokens in any environment yet."
        if environment is None:
            return (
                "There are no environments yet. Add one on the Environments tab of "
                "Tools → Agents & roles."
            )
        if filtered_out:
            return (
                f"No token in {environment.name} matches “{filter_text}”. "
                "Press Esc in the filter box to show them all."
            )
        text = f"There are no tokens in {environment.name} yet."
        if not environment.api_enabled:
            return f"{text} Turn on API access to create tokens here."
        if not self._keyring.is_available():
            return f"{text} Creating one needs the system keyring (see above)."
        return f"{text} Create one with New token ({shortcut_text(QKeySequence.StandardKey.New)})."


__all__ = ["STATUS_MESSAGE_MS", "Notices"]
