"""When something in the window fails unexpectedly: log it, and tell the person instead of
vanishing.

:class:`ExceptionHook` stands in for ``sys.excepthook`` while the window runs (Qt hands it every
exception a slot or an overridden event handler lets escape). It writes the exception to the
log, masked, then shows one :class:`ErrorDialog` with where the log is and a *Copy details*
button; an exception while that dialog is open is logged and added to it, never a second
dialog. The details are masked before they are shown, so copying them cannot copy a secret.
"""

from __future__ import annotations

import logging
import platform
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QVBoxLayout, QWidget

from desktop import __version__, logs

log = logging.getLogger(__name__)

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]

TITLE = "TokenDesk: Unexpected Error"
MESSAGE = (
    "Something went wrong inside TokenDesk. The window is still running, but what you just did "
    "may not have finished: check the tokens it concerns before you go on."
)


def details_text(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> str:
    """The traceback as Python prints it, with anything that looks like a token masked."""
    return logs.mask("".join(traceback.format_exception(kind, error, trace)).rstrip())


def _where(log_file: Path | None) -> str:
    if log_file is None:
        return "No log file is being written in this run."
    return f"The details are also in the log file:\n{log_file}"


class ErrorDialog(QDialog):
    """The message, where the log is, the (masked) details and *Copy details*."""

    def __init__(self, details: str, log_file: Path | None, parent: QWidget | None = None) -> None:
        # Imported here: the hook is installed before the window's first paint, and making
        # these Python types costs milliseconds that paint does not need.
        from PySide6.QtWidgets import QDialogButtonBox, QPlainTextEdit

        super().__init__(parent)
        self.setObjectName("errorDialog")
        self.setWindowTitle(TITLE)
        self._details = details

        message = QLabel(MESSAGE, self)
        message.setObjectName("errorMessage")
        message.setWordWrap(True)
        where = QLabel(_where(log_file), self)
        where.setObjectName("logLocation")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._view = QPlainTextEdit(details, self)
        self._view.setObjectName("errorDetails")
        self._view.setReadOnly(True)
        self._view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = buttons.addButton("&Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("copyDetailsButton")
        copy.clicked.connect(self.copy_details)  # an ActionRole button leaves the dialog open
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeButton")
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(where)
        layout.addWidget(self._view, 1)
        layout.addWidget(buttons)
        self.resize(640, 420)
        close.setFocus()

    def details(self) -> str:
        return self._details

    def add_details(self, details: str) -> None:
        """Another exception while this dialog is open: shown below the first."""
        self._details = f"{self._details}\n\n{details}"
        self._view.setPlainText(self._details)

    def report(self) -> str:
        """What *Copy details* copies: which TokenDesk on what, then the details."""
        system = f"{platform.system()} {platform.release()}".strip()
        about = f"TokenDesk {__version__}, Python {platform.python_version()}, {system}"
        return f"{about}\n\n{self._details}"

    def copy_details(self) -> None:
        """Put :meth:`report` on the clipboard as plain text (masked: nothing secret in it)."""
        QGuiApplication.clipboard().setText(self.report())


class ExceptionHook:
    """``sys.excepthook`` while the window runs; :meth:`install` it, :meth:`uninstall` after.

    ``KeyboardInterrupt`` (Ctrl+C in the terminal) goes to the hook it replaced."""

    def __init__(self, log_file: Callable[[], Path | None] = logs.log_file) -> None:
        self._log_file = log_file
        self._previous: ExceptHook | None = None
        self._opening = False
        self.dialog: ErrorDialog | None = None  # the one open, if any

    @classmethod
    def install(cls) -> ExceptionHook:
        hook = cls()
        hook._previous = sys.excepthook
        sys.excepthook = hook
        return hook

    def uninstall(self) -> None:
        """Put the previous hook back (if this one is still in place) and close the dialog."""
        if sys.excepthook is self and self._previous is not None:
            sys.excepthook = self._previous
        if self.dialog is not None:
            self.dialog.close()

    def __call__(
        self, kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            (self._previous or sys.__excepthook__)(kind, error, trace)
            return
        details = details_text(kind, error, trace)
        # Masked here as well as by the log's filter: a logging setup without it stays clean.
        log.error("unexpected error in the window\n%s", details)
        if self._opening:  # failing while the dialog is being made: the log has it
            return
        if self.dialog is not None:
            self.dialog.add_details(details)
            return
        self._opening = True
        try:
            self._show(details)
        except Exception:  # the dialog itself failed: Python's own report is the last resort
            log.exception("cannot show the error dialog")
            sys.__excepthook__(kind, error, trace)
        finally:
            self._opening = False

    def _show(self, details: str) -> None:
        if QApplication.instance() is None:
            raise RuntimeError("no QApplication")
        dialog = ErrorDialog(details, self._log_file())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.show()  # not exec(): a nested event loop inside a failing slot invites more

    def _closed(self) -> None:
        self.dialog = None


__all__ = ["ErrorDialog", "ExceptionHook", "details_text"]
