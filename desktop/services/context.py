"""What every room of the service shares: the database, the secret store, the clock, the
actor, the person whose keyring the store is, and the unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from desktop.domain import people
from desktop.domain.clock import Clock
from desktop.domain.errors import SecretStoreUnavailable
from desktop.services.unit_of_work import UnitOfWork
from desktop.storage.database import Database

if TYPE_CHECKING:
    from desktop.secrets.store import SecretStore


class ServiceContext:
    """One service's shared state. The store changes when the keyring comes or goes."""

    def __init__(
        self,
        database: Database,
        store: SecretStore | None,
        clock: Clock,
        actor: str,
        person: str | None = None,
    ) -> None:
        self.database = database
        self.store = store
        self.work = UnitOfWork(database, clock, actor)
        # Whose keyring the store is (alice@laptop): the holder of every secret issued here.
        self.person = person or people.person()

    @property
    def clock(self) -> Clock:
        return self.work.clock

    @property
    def actor(self) -> str:
        """Who the audit log names for changes made here (a person, ``cli`` or ``scheduler``)."""
        return self.work.actor

    def now(self) -> datetime:
        """The clock's now, as the database keeps times (naive UTC)."""
        return self.work.now()

    def require_store(self) -> SecretStore:
        """The secret store, or :class:`SecretStoreUnavailable` with what to do about it."""
        if self.store is None:
            from desktop.secrets.store import remedy

            raise SecretStoreUnavailable(
                f"this action needs the system keyring, which is unavailable; {remedy()}."
            )
        return self.store

    @contextmanager
    def connection(self) -> Iterator[None]:
        """This thread's database connection for the block (see :meth:`Database.connection`)."""
        with self.database.connection():
            yield
