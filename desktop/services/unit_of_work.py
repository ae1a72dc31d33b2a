"""The unit of work: every write is a transaction, its audit events and, once the change is
complete, one notification to the listeners.

A journaled change to a token spans several transactions with keyring calls between them, and
its listeners must hear of it once, when all of it is done: :meth:`UnitOfWork.change` marks such
an operation, :meth:`UnitOfWork.transaction` each of its commits.

Listeners hear of a change only when it changed something. Every change records an audit
event, so an operation that recorded none (setting a label to the label it has) is not heard
of; one that changes rows without an event of its own (recovery rolling a change back) says so
with :meth:`Change.mark`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from desktop.domain.clock import Clock
from desktop.storage.database import Database
from desktop.storage.lazy import deferred
from desktop.storage.states import naive

if TYPE_CHECKING:
    from desktop.storage import repository
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

CommitHook = Callable[[], AbstractContextManager[None]]


class Change:
    """One operation as listeners see it: whether it has changed anything yet."""

    __slots__ = ("changed",)

    def __init__(self) -> None:
        self.changed = False

    def mark(self) -> None:
        """Something was written: listeners are told when the operation ends."""
        self.changed = True


class Audit:
    """Records audit events inside one transaction: they commit, or vanish, with it."""

    __slots__ = ("_actor", "_change", "_database", "_now")

    def __init__(
        self, database: Database, now: Callable[[], datetime], actor: str, change: Change | None
    ) -> None:
        self._database = database
        self._now = now
        self._actor = actor
        self._change = change

    def __call__(
        self, action: str, token_id: int | None, details: str, actor: str | None = None
    ) -> None:
        """One event; *actor* defaults to the service's (a person, ``cli`` or ``scheduler``).
        The operation around the transaction, if any, has changed something."""
        repository.insert_audit_event(
            self._database, self._now(), actor or self._actor, action, token_id, details
        )
        if self._change is not None:
            self._change.mark()


class UnitOfWork:
    """Transactions, audit events and change notifications for one service."""

    def __init__(self, database: Database, clock: Clock, actor: str) -> None:
        self.database = database
        self.clock = clock
        self.actor = actor
        self.commit_hook: CommitHook | None = None
        """The seam every commit passes through: when set, a context manager from it is entered
        just before each COMMIT (still inside the transaction: raising there rolls it back) and
        left once the COMMIT is done. Crash tests use it to stop a process at a commit."""
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        self._local = threading.local()  # this thread's open Change, if any

    def now(self) -> datetime:
        """The service clock's now, as the database keeps times (naive UTC)."""
        return naive(self.clock.now())

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called (on the changing thread) after every committed change."""
        with self._listeners_lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling *callback* (added with :meth:`add_listener`); nothing if it was not."""
        with self._listeners_lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _notify(self) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    @contextmanager
    def transaction(self) -> Iterator[Audit]:
        """BEGIN IMMEDIATE … COMMIT, yielding what records the audit events that commit with
        it. Listeners are not told: the operation around it (:meth:`change`) tells them."""
        change: Change | None = getattr(self._local, "change", None)
        with ExitStack() as committed, self.database.transaction():
            yield Audit(self.database, self.now, self.actor, change)
            if self.commit_hook is not None:
                committed.enter_context(self.commit_hook())

    @contextmanager
    def change(self) -> Iterator[Change]:
        """One operation as listeners see it: they are told once, when it ends without an
        exception, however many transactions it committed, if it changed anything (an audit
        event recorded in it, or :meth:`Change.mark`). A change opened inside another on the
        same thread is part of it."""
        outer: Change | None = getattr(self._local, "change", None)
        if outer is not None:
            yield outer
            return
        change = Change()
        self._local.change = change
        try:
            yield change
        finally:
            self._local.change = None
        if change.changed:
            self._notify()

    @contextmanager
    def write(self) -> Iterator[Audit]:
        """One transaction that is a whole operation: committed, then listeners told if it
        recorded an audit event (nothing changed otherwise)."""
        with self.change(), self.transaction() as audit:
            yield audit
