"""TableReader: reads every token of the table off the GUI thread.

At 100,000 tokens, turning SQLite's rows into Python objects and sorting them takes a few
hundred milliseconds. The window paints its first screen from a small query instead and lets
this thread read the rest, in its own SQLite connection (closed when it is done); the result
is handed to the GUI thread, which only swaps it in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal

from desktop.services.token_index import PreparedRows, prepare_rows
from desktop.services.tokens import TokenService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    number: int  # the window's count of reads; a newer read makes an older result stale
    environment: str | None  # None: every environment
    show_environment: bool


@dataclass(frozen=True, slots=True)
class Result:
    request: Request
    cursor: int  # the change-log cursor the rows are current at
    prepared: PreparedRows


class TableReader(QThread):
    """One read per :meth:`read`; ``done`` reports its request number when it has ended."""

    done = Signal(int)

    def __init__(self, service: TokenService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tableReader")
        self._service = service
        self._request: Request | None = None
        self._result: Result | None = None

    def read(self, request: Request) -> None:
        """Start reading (after the read before, if one is still going, has ended)."""
        self.wait()
        self._request = request
        self._result = None
        self.start()

    def result(self) -> Result | None:
        """What the last read produced, once it has ended (None: it failed; see the log)."""
        self.wait()
        return self._result

    def run(self) -> None:
        request = self._request
        if request is None:
            return
        try:
            with self._service.connection():  # this thread's own, closed when the read ends
                cursor, names, rows = self._service.token_table(request.environment)
            prepared = prepare_rows(names, rows, show_environment=request.show_environment)
            self._result = Result(request, cursor, prepared)
        except Exception:
            log.exception("reading the tokens failed")
        self.done.emit(request.number)
