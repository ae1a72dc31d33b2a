"""Copying secrets: hints that keep clipboard managers from storing them, and a timed clear.

The clipboard is cleared after a while (and when the window closes) only if it still holds what
was copied from here: whatever the person copied since is left alone. To tell, only a hash of
the copied text is kept, never the text itself.

Meanwhile it counts down, once a second, as KeePassXC does, so the person knows how long the
secret stays there; the count stops when the clipboard is cleared, or as soon as something else
replaces the secret (then there is nothing left to clear).
"""

from __future__ import annotations

import hashlib
import hmac
import sys

from PySide6.QtCore import QByteArray, QMimeData, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QClipboard, QGuiApplication

CLEAR_AFTER_MS = 30_000
COUNTDOWN_MS = 1_000

# Clipboard managers that honour these do not keep (or sync) what was copied; KeePassXC sets the
# same ones (src/gui/Clipboard.cpp).
KDE_PASSWORD_HINT = "x-kde-passwordManagerHint"  # noqa: S105 - a MIME type, not a password
MACOS_CONCEALED = "application/x-nspasteboard-concealed-type"
WINDOWS_EXCLUDE_MONITORS = "ExcludeClipboardContentFromMonitorProcessing"
WINDOWS_NO_HISTORY = "CanIncludeInClipboardHistory"
WINDOWS_NO_CLOUD = "CanUploadToCloudClipboard"


def secret_mime_data(secret: str) -> QMimeData:
    """text/plain plus the platform's "this is a password" hints."""
    mime = QMimeData()
    mime.setText(secret)
    mime.setData(KDE_PASSWORD_HINT, QByteArray(b"secret"))
    if sys.platform == "darwin":
        mime.setData(MACOS_CONCEALED, QByteArray(b""))
    elif sys.platform == "win32":
        mime.setData(WINDOWS_EXCLUDE_MONITORS, QByteArray(b"1"))
        mime.setData(WINDOWS_NO_HISTORY, QByteArray(b"\x00\x00\x00\x00"))
        mime.setData(WINDOWS_NO_CLOUD, QByteArray(b"\x00\x00\x00\x00"))
    return mime


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class SecretClipboard(QObject):
    """Puts a secret on the clipboard and takes it off again after *clear_after_ms*."""

    copied = Signal()
    cleared = Signal()
    # Whole seconds until the clipboard is cleared: on copying, then once a second.
    countdown = Signal(int)
    # What was copied from here was replaced by something else: nothing is left to clear.
    released = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        clear_after_ms: int = CLEAR_AFTER_MS,
        clipboard: QClipboard | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("secretClipboard")
        self._clipboard = clipboard or QGuiApplication.clipboard()
        self._ours: bytes | None = None
        self.timer = QTimer(self)
        self.timer.setObjectName("clipboardClearTimer")
        self.timer.setSingleShot(True)
        self.timer.setInterval(clear_after_ms)
        self.timer.timeout.connect(self.clear_if_ours)
        self.tick = QTimer(self)
        self.tick.setObjectName("clipboardCountdownTimer")
        self.tick.setInterval(COUNTDOWN_MS)
        self.tick.timeout.connect(self._count_down)
        self._left = 0  # seconds, as last told by countdown
        self._clipboard.dataChanged.connect(self._clipboard_changed)

    @property
    def clear_after_seconds(self) -> int:
        return max(1, round(self.timer.interval() / 1000))

    def copy(self, secret: str) -> None:
        # Ours before it is set: the clipboard's change notice must find it ours.
        self._ours = _digest(secret)
        self._clipboard.setMimeData(secret_mime_data(secret), QClipboard.Mode.Clipboard)
        self.timer.start()
        self.tick.start()
        self._left = self.clear_after_seconds
        self.copied.emit()
        self.countdown.emit(self._left)

    def counting_down(self) -> bool:
        """True while a secret copied from here waits to be cleared."""
        return self.tick.isActive()

    @Slot()
    def _count_down(self) -> None:
        if not self.holds_ours():
            self._release()
            return
        # The clear timer decides when; the count never says 0 before it has.
        self._left = max(1, self._left - 1)
        self.countdown.emit(self._left)

    @Slot()
    def _clipboard_changed(self) -> None:
        if self._ours is not None and not self.holds_ours():
            self._release()

    def _release(self) -> None:
        """Someone else's text is on the clipboard now: stop counting, forget ours."""
        self.timer.stop()
        self.tick.stop()
        self._ours = None
        self.released.emit()

    def holds_ours(self) -> bool:
        """True while the clipboard still holds the text copied from here."""
        if self._ours is None:
            return False
        return hmac.compare_digest(_digest(self._clipboard.text()), self._ours)

    @Slot()
    def clear_if_ours(self) -> bool:
        """Clear the clipboard if it still holds our text; forget the text either way."""
        self.timer.stop()
        self.tick.stop()
        ours = self.holds_ours()
        self._ours = None
        if ours:
            self._clipboard.clear(QClipboard.Mode.Clipboard)
            self.cleared.emit()
        return ours
