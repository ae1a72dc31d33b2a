"""The rotation scheduler: wakes up often, rotates what is due off the GUI thread.

The due times live in the database (``next_rotation_at``, UTC); the timer here is only a
wake-up. A QTimer interval is a 32-bit millisecond count, so there is never one long timer per
token: one short timer checks the database at least once a minute, once right after start,
and again as soon as a jump of the wall clock shows that the machine has resumed from sleep.

A run calls :meth:`TokenService.rotate_due` in a worker thread (each keyring call costs about
10 ms, so a long run would freeze the window) and reports through Qt signals, which reach the
receivers' thread queued. Only one run happens at a time; :meth:`RotationRunner.stop` cancels
the run between two tokens and waits for it.

Only the tokens this desktop's user holds are rotated (:meth:`TokenService.due_token_ids` leaves
out the others): another admin's secret belongs in their keyring, so their TokenDesk rotates it,
and this runner neither starts a run nor reports a failure for it.

A run also delivers new secrets (see :mod:`desktop.services.delivery`): those of the tokens it
rotated, those a refresh in the window just made (the window asks for a run at once), and
those whose delivery failed and is due again. A run is started for due deliveries alone too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from desktop.domain.errors import TokenDeskError
from desktop.services import actors
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport

log = logging.getLogger(__name__)

DEFAULT_CHECK_INTERVAL_MS = 30_000
# A wall clock that moved this much more (or less) than the monotonic clock between two ticks
# means the machine slept (the monotonic clock stops during suspend) or the clock was reset.
CLOCK_JUMP_SECONDS = 60.0
# After a run with failures, wait before trying again (doubling, up to the cap), so a locked
# keyring or a broken entry does not write a failure to the audit log every tick.
BACKOFF_START_SECONDS = 60.0
BACKOFF_MAX_SECONDS = 30 * 60.0
# A failure not tied to one token (the database itself failed) is reported with this id.
NO_TOKEN = 0


class _Worker(QThread):
    """Runs one pass over the due tokens per start(), in its own thread with its own SQLite
    connection. One worker serves every run of its runner (a QThread can be started again once
    finished), so no thread object is ever deleted while events about it are still queued."""

    progressed = Signal(int, int)
    done = Signal(int, object)  # run number, RotationReport

    def __init__(
        self,
        job: Callable[[Callable[[int, int], None]], RotationReport],
        connection: Callable[[], AbstractContextManager[None]],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self._job = job
        self._connection = connection
        self.run_number = 0
        self.setObjectName("rotationWorker")

    def run(self) -> None:
        number = self.run_number
        try:
            # This thread's connection, closed when the run ends: it must not outlive the thread.
            with self._connection():
                report = self._job(self.progressed.emit)
        except Exception as error:  # the database could not even be opened
            report = _failure(error)
        self.done.emit(number, report)


class RotationRunner(QObject):
    """Rotates due tokens: periodically, at start, after resume, and on request."""

    started = Signal(int)  # how many tokens are due
    progress = Signal(int, int)  # done, total
    finished = Signal(object)  # RotationReport
    failed = Signal(int, str)  # token id (0: none in particular), why; never a secret
    resumed = Signal()  # the wall clock jumped: the machine woke up or the clock was reset

    def __init__(
        self,
        service: TokenService,
        check_interval_ms: int = DEFAULT_CHECK_INTERVAL_MS,
        parent: QObject | None = None,
        *,
        actor: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        if not 0 < check_interval_ms <= 60_000:
            raise ValueError("check the due tokens at least once a minute (1..60000 ms)")
        self.setObjectName("rotationRunner")
        self._service = service
        self._actor = actor or actors.scheduler()  # scheduler (alice@laptop)
        self._monotonic = monotonic
        self._wall = wall
        self._cancel = threading.Event()
        self._worker = _Worker(self._rotate, service.connection, self)
        self._worker.progressed.connect(self.progress)
        self._worker.done.connect(self._on_worker_done)
        self._run_number = 0
        self._running = False
        self._again = False  # a run was asked for while one ran: start one when it ends
        self._last_tick: tuple[float, float] | None = None
        self._backoff = 0.0
        self._retry_at = 0.0
        self.timer = QTimer(self)
        self.timer.setObjectName("rotationTimer")
        self.timer.setInterval(check_interval_ms)
        self.timer.timeout.connect(self.tick)

    # ----------------------------------------------------------------- control

    def start(self) -> None:
        """Check now (once the event loop runs) and then every interval. A back-off left by
        earlier failures no longer holds: starting is the moment to try again."""
        self._cancel.clear()
        self._retry_at = 0.0
        self.timer.start()
        QTimer.singleShot(0, self, self.tick)

    def stop(self) -> None:
        """Stop the timer, cancel a run between two tokens (or a delivery command it is
        running: that delivery stays due) and wait for it to end."""
        self.timer.stop()
        self._cancel.set()
        self._worker.wait()
        if self._running:
            self._running = False
            self._run_number += 1  # its report, still queued, is dropped: the owner is leaving

    def is_running(self) -> bool:
        return self._running

    # ----------------------------------------------------------------- ticks

    @Slot()
    def tick(self) -> None:
        """Called by the timer: notice a resume, then start a run if anything is due."""
        if self._clock_jumped():
            log.info("the wall clock jumped (resume from sleep?): checking due rotations now")
            self._retry_at = 0.0
            self.resumed.emit()
        if self._running or self._cancel.is_set() or self._service.store is None:
            return
        if self._monotonic() < self._retry_at:
            return
        self.run_now(blocking=False)

    def _clock_jumped(self) -> bool:
        now = (self._monotonic(), self._wall())
        last, self._last_tick = self._last_tick, now
        if last is None:
            return False
        drift = (now[1] - last[1]) - (now[0] - last[0])
        return abs(drift) > CLOCK_JUMP_SECONDS

    def run_now(self, blocking: bool = False) -> bool:
        """Rotate what is due now. With ``blocking`` the run happens in this thread and every
        signal has been emitted when this returns. False when nothing was started (a run is
        already going, nothing is due, or the keyring is unavailable)."""
        if self._running:
            self._again = True  # what is due now (a refresh's delivery) may be new to that run
            return False
        if self._service.store is None:
            return False
        try:
            due = len(self._service.due_token_ids())
            delivering = due == 0 and bool(self._service.due_deliveries())
        except Exception as error:  # the database is gone or locked: report, do not crash
            self._report_error(error)
            return False
        if due == 0 and not delivering:
            return False
        self._running = True
        self._again = False
        self._cancel.clear()
        if due:  # deliveries alone show no progress: they are not rotations
            self.started.emit(due)
        if blocking:
            report = self._rotate(self.progress.emit)
            self._on_done(report)
            return True
        self._run_number += 1
        self._worker.wait()  # the previous run's thread may still be winding down
        self._worker.run_number = self._run_number
        self._worker.start()
        return True

    def _rotate(self, progress: Callable[[int, int], None]) -> RotationReport:
        try:
            return self._service.rotate_due(
                actor=self._actor, progress=progress, cancelled=self._cancel.is_set
            )
        except Exception as error:
            return _failure(error)

    @Slot(int, object)
    def _on_worker_done(self, number: int, report: RotationReport) -> None:
        if number != self._run_number or not self._running:
            return  # a run that stop() already gave up on
        self._on_done(report)

    def _on_done(self, report: RotationReport) -> None:
        self._running = False
        # A refusal by the rules (the agent may not hold tokens) is recorded once and is no
        # reason to wait: another token, or the agent once enabled, goes at the next tick.
        if any(token_id not in report.refused for token_id, _ in report.failed):
            self._backoff = min(max(self._backoff * 2, BACKOFF_START_SECONDS), BACKOFF_MAX_SECONDS)
            self._retry_at = self._monotonic() + self._backoff
        else:
            self._backoff = 0.0
            self._retry_at = 0.0
        for token_id, message in report.failed:
            self.failed.emit(token_id, message)
        self.finished.emit(report)
        if self._again and not self._cancel.is_set():
            self._again = False
            QTimer.singleShot(0, self, lambda: self.run_now())

    def _report_error(self, error: Exception) -> None:
        _log_error(error)
        self.failed.emit(NO_TOKEN, _message(error))


def _log_error(error: Exception) -> None:
    if isinstance(error, TokenDeskError):
        log.warning("scheduled rotation failed: %s", error)
    else:
        log.exception("scheduled rotation failed")


def _failure(error: Exception) -> RotationReport:
    """A run that failed as a whole (not one token): logged, and reported as such."""
    _log_error(error)
    return RotationReport(failed=((NO_TOKEN, _message(error)),))


def _message(error: Exception) -> str:
    """TokenDesk's own errors are written for people; anything else is named, not quoted."""
    if isinstance(error, TokenDeskError):
        return str(error)
    return f"unexpected {type(error).__name__}; see the log for details"
