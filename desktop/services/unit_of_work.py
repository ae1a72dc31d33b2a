"""The unit of work: every write is a transaction, its audit events and, once the change is
complete, one notification to the listeners.

A journaled change to a token spans several transactions with keyring calls between them, and
its listeners must hear of it once, when all of it is done: :meth:`UnitOfWork.change` marks such
an operation, :meth:`UnitOfWork.transaction` each of its commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from desktop.domain.clock import Clock
from desktop.storage import repository
from desktop.storage.database import Database
from desktop.storage.models import naive


class Audit:
    """Records audit events inside one transaction: they commit, or vanish, with it."""

    __slots__ = ("_actor", "_now")

    def __init__(self, now: Callable[[], datetime], actor: str) -> None:
        self._now = now
        self._actor = actor

    def __call__(
        self, action: str, token_id: int | None, details: str, actor: str | None = None
    ) -> None:
        """One event; *actor* defaults to the service's (a person, ``cli`` or ``scheduler``)."""
        repository.insert_audit_event(self._now(), actor or self._actor, action, token_id, details)


class UnitOfWork:
    """Transactions, audit events and change notifications for one service."""

    def __init__(self, database: Database, clock: Clock, actor: str) -> None:
        self.database = database
        self.clock = clock
        self.actor = actor
        # The seam every commit passes through: a test may wrap it to crash just before one.
        self.begin: Callable[[], AbstractContextManager[None]] = database.transaction
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        """The service clock's now, as the database keeps times (naive UTC)."""
        return naive(self.clock.now())

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called (on the changing thread) after every committed change."""
        self._listeners.append(callback)

    def notify(self) -> None:
        """Tell every listener that something committed."""
        for callback in list(self._listeners):
            callback()

    @contextmanager
    def transaction(self) -> Iterator[Audit]:
        """BEGIN IMMEDIATE … COMMIT, yielding what records the audit events that commit with
        it. Listeners are not told: the operation around it (:meth:`change`) tells them."""
        with self.begin():
            yield Audit(self.now, self.actor)

    @contextmanager
    def change(self) -> Iterator[None]:
        """One operation as listeners see it: they are told once, when it ends without an
        exception, however many transactions it committed."""
        yield
        self.notify()

    @contextmanager
    def write(self) -> Iterator[Audit]:
        """One transaction that is a whole operation: committed, then listeners told."""
        with self.change(), self.transaction() as audit:
            yield audit
