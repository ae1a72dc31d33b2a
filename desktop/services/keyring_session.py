"""KeyringSession: whether secrets can be used now, and getting them back when they could not.

The keyring comes and goes while the application runs: it is locked at log-in, its daemon
restarts, the person unlocks it after a failure. One object owns that story, below any window:

* the current problem (why the keyring cannot be used, or None), reported through
  ``problemChanged`` to whoever shows it;
* reconnecting: open the store again; once it opens, hand it to the service, finish the changes
  that waited for it (reconciliation) and start the rotation runner again, which catches up at
  once on the rotations that waited too.

Reconciliation takes every journaled change of this process that is not in flight for
abandoned, so it must not run while the runner's worker thread is between writing its intent
and starting on it: the runner is stopped (it finishes the token at hand) for as long as it runs.

The store is opened through an injectable *opener* (the real keyring by default), so the whole
story runs in tests on an in-memory store that fails first and works later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.store import SecretStore
from desktop.services.runner import RotationRunner
from desktop.services.tokens import TokenService

Opener = Callable[[], SecretStore]


def _open_keyring() -> SecretStore:
    # keyring itself is imported only here: a window paints before it reaches the keyring.
    from desktop.secrets.store import open_secret_store

    return open_secret_store()


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try to reach the keyring came to."""

    opened: bool  # the store opened (even if finishing the waiting changes then failed)
    available: bool  # secrets can be used now
    finished: int = 0  # interrupted changes finished (rolled forward or back) by this try


class KeyringSession(QObject):
    """The keyring as the running application sees it: usable or not, and why not."""

    # The problem now ("" once there is none); emitted only when it changes.
    problemChanged = Signal(str)
    # After each try to reach the keyring: whether secrets can be used now.
    checked = Signal(bool)

    def __init__(
        self,
        service: TokenService,
        runner: RotationRunner,
        *,
        problem: str | None = None,
        tried: bool = True,
        opener: Opener | None = None,
        parent: QObject | None = None,
    ) -> None:
        """*problem*: why the keyring could not be used when the service was opened; *tried*:
        False when it was opened without trying (the first :meth:`retry` is then pending);
        *opener*: how the store is opened (the system keyring when None)."""
        super().__init__(parent)
        self.setObjectName("keyringSession")
        self._service = service
        self._runner = runner
        self._opener = opener or _open_keyring
        self._problem = problem
        self._pending = not tried and problem is None

    @property
    def problem(self) -> str | None:
        """Why the keyring cannot be used now, or None."""
        return self._problem

    def explanation(self) -> str:
        """Why secrets cannot be used, and what to do about it: the problem found, or the
        platform's advice for a keyring that is simply not there."""
        from desktop.secrets.store import remedy

        return self._problem or f"the system keyring is unavailable; {remedy()}"

    @property
    def pending(self) -> bool:
        """True until the first try when the service was opened without trying the keyring.
        Meanwhile secrets cannot be used, but there is nothing to tell the person yet."""
        return self._pending

    def is_available(self) -> bool:
        """Whether secrets can be read and written now."""
        return self._service.store is not None and self._problem is None

    def retry(self) -> Attempt:
        """Open the keyring again; once it opens, use it, finish the interrupted changes and
        let the runner (if it was scheduling) catch up on the rotations that waited."""
        self._pending = False
        try:
            store = self._opener()
        except SecretStoreUnavailable as error:
            self._set_problem(str(error))
            self.checked.emit(False)
            return Attempt(opened=False, available=False)
        scheduling = self._runner.timer.isActive()
        self._runner.stop()
        try:
            self._service.set_store(store)
            report = self._service.reconcile()
        finally:
            if scheduling:
                self._runner.start()  # checks at once: catches up on what waited
        self._set_problem(report.problem)
        finished = len(report.rolled_forward) + len(report.rolled_back)
        attempt = Attempt(opened=True, available=report.problem is None, finished=finished)
        self.checked.emit(attempt.available)
        return attempt

    def lost(self, error: SecretStoreUnavailable) -> None:
        """A secret could not be read or written: the keyring went away since it was reached."""
        self._pending = False
        self._set_problem(str(error))

    def _set_problem(self, problem: str | None) -> None:
        if problem == self._problem:
            return
        self._problem = problem
        self.problemChanged.emit(problem or "")


__all__ = ["Attempt", "KeyringSession", "Opener"]
