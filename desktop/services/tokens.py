"""TokenService: the one door the window and the command line use for every change and read.

The work happens in rooms, each with its own module:

* :mod:`~desktop.services.directory`  environments, roles and agents;
* :mod:`~desktop.services.lifecycle`  create, status, label, schedule, refresh, rotate, delete,
  reveal;
* :mod:`~desktop.services.journal`    the two-store journal (SQLite + keyring) and its reconciler;
* :mod:`~desktop.services.delivery`   delivery commands, run with each new secret;
* :mod:`~desktop.services.access`     access decisions, by SQL or from an in-memory index;
* :mod:`~desktop.services.reads`      the window's table, counts, the change log, the audit log;
* :mod:`~desktop.services.details`    one token's details: what it may do, and its latest events;
* :mod:`~desktop.services.unit_of_work`  transaction + audit event + change notification.

This class only wires them together and forwards each call, so callers keep one object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from desktop.domain.access import Decision
from desktop.domain.clock import Clock, SystemClock
from desktop.services.access import AccessDecisions, AccessIndex
from desktop.services.context import ServiceContext
from desktop.services.delivery import Deliveries
from desktop.services.details import RECENT_EVENTS, TokenDetails, TokenDetailsReader
from desktop.services.directory import MULTIPLE_TOKENS_WARNING, Directory
from desktop.services.journal import STALE_INTENT, Journal, secret_key
from desktop.services.lifecycle import Interval, Lifecycle
from desktop.services.reads import CHANGES_KEPT, ChangeListening, Reads
from desktop.services.unit_of_work import UnitOfWork
from desktop.services.views import (
    AgentView,
    AuditView,
    Changes,
    DeliveryOutcome,
    EnvironmentView,
    IssuedSecret,
    Names,
    ReconcileReport,
    RoleView,
    RotationReport,
    TokenRow,
    TokenView,
)
from desktop.storage.database import Database

if TYPE_CHECKING:
    from desktop.secrets.store import SecretStore

__all__ = [
    "CHANGES_KEPT",
    "MULTIPLE_TOKENS_WARNING",
    "STALE_INTENT",
    "AccessIndex",
    "ChangeListening",
    "Interval",
    "TokenService",
    "secret_key",
]


class TokenService:
    """Every change to environments, roles, agents and tokens, and every read of them."""

    def __init__(
        self,
        database: Database,
        store: SecretStore | None,
        *,
        clock: Clock | None = None,
        actor: str = "cli",
        person: str | None = None,
    ) -> None:
        """*actor* is who the audit log names; *person* (``alice@laptop``, by default this
        machine's user) is whose keyring *store* is: the holder of the secrets issued here, and
        the one whose tokens this service rotates on schedule."""
        context = ServiceContext(database, store, clock or SystemClock(), actor, person)
        self._context = context
        self.directory = Directory(context)
        self.journal = Journal(context)
        self.reads = Reads(context, self.directory)
        self.lifecycle = Lifecycle(context, self.directory, self.journal, self.reads.prune_changes)
        self.access = AccessDecisions(context)
        self.deliveries = Deliveries(context, self.lifecycle)
        self.details = TokenDetailsReader(context, self.lifecycle, self.reads, self.deliveries)

    # ----------------------------------------------------------------- plumbing

    @property
    def clock(self) -> Clock:
        return self._context.clock

    @property
    def actor(self) -> str:
        return self._context.actor

    @property
    def person(self) -> str:
        """Whose keyring this service's store is: ``alice@laptop`` (see
        :mod:`desktop.domain.holders`)."""
        return self._context.person

    @property
    def store(self) -> SecretStore | None:
        return self._context.store

    def set_store(self, store: SecretStore | None) -> None:
        """Use *store* from now on (the keyring became available); run :meth:`reconcile` next."""
        self._context.store = store

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called (on the changing thread) after every committed change."""
        self._context.work.add_listener(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling *callback*; a listener whose owner goes away removes itself."""
        self._context.work.remove_listener(callback)

    @contextmanager
    def connection(self) -> Iterator[None]:
        """This thread's database connection for the block: opened if need be, closed after.
        A thread other than the one that opened the database runs its work inside one."""
        with self._context.connection():
            yield

    @property
    def unit_of_work(self) -> UnitOfWork:
        """Every write's transaction, audit events and notification; its
        :attr:`~UnitOfWork.commit_hook` is the seam a crash test stops a process at."""
        return self._context.work

    def data_version(self) -> int:
        return self.reads.data_version()

    def change_listener(
        self, on_change: Callable[[], None], on_listening: Callable[[bool], None] | None = None
    ) -> ChangeListening | None:
        return self.reads.change_listener(on_change, on_listening)

    # ----------------------------------------------------------------- directory

    def add_environment(self, name: str, *, api_enabled: bool = False) -> EnvironmentView:
        return self.directory.add_environment(name, api_enabled=api_enabled)

    def set_api_enabled(self, name: str, enabled: bool) -> EnvironmentView:
        return self.directory.set_api_enabled(name, enabled)

    def environment(self, name: str) -> EnvironmentView:
        return self.directory.environment(name)

    def environments(self, *, counted: bool = True) -> list[EnvironmentView]:
        return self.directory.environments(counted=counted)

    def add_role(self, name: str, permissions: list[str] | tuple[str, ...] = ()) -> RoleView:
        return self.directory.add_role(name, permissions)

    def set_role_permissions(self, name: str, permissions: list[str] | tuple[str, ...]) -> RoleView:
        return self.directory.set_role_permissions(name, permissions)

    def role(self, name: str) -> RoleView:
        return self.directory.role(name)

    def roles(self) -> list[RoleView]:
        return self.directory.roles()

    def add_agent(
        self,
        name: str,
        role: str,
        *,
        has_logged_in: bool = False,
        signed_agreement: bool = False,
    ) -> AgentView:
        return self.directory.add_agent(
            name, role, has_logged_in=has_logged_in, signed_agreement=signed_agreement
        )

    def update_agent(
        self,
        name: str,
        *,
        role: str | None = None,
        has_logged_in: bool | None = None,
        signed_agreement: bool | None = None,
    ) -> AgentView:
        return self.directory.update_agent(
            name, role=role, has_logged_in=has_logged_in, signed_agreement=signed_agreement
        )

    def set_agent_disabled(self, name: str, disabled: bool) -> AgentView:
        return self.directory.set_agent_disabled(name, disabled)

    def agent(self, name: str) -> AgentView:
        return self.directory.agent(name)

    def agents(self) -> list[AgentView]:
        return self.directory.agents()

    def creation_warnings(self, agent_name: str) -> list[str]:
        return self.directory.creation_warnings(agent_name)

    # ----------------------------------------------------------------- reads

    def tokens(self, environment: str | None = None) -> list[TokenView]:
        return self.lifecycle.tokens(environment)

    def token(self, token_id: int) -> TokenView:
        return self.lifecycle.token(token_id)

    def names(self) -> Names:
        return self.reads.names()

    def token_table(self, environment: str | None = None) -> tuple[int, Names, list[TokenRow]]:
        return self.reads.token_table(environment)

    def token_count(self, environment: str | None = None) -> int:
        return self.reads.token_count(environment)

    def token_page(
        self, environment: str | None, column: int, *, descending: bool, limit: int
    ) -> tuple[Names, list[TokenRow]]:
        return self.reads.token_page(environment, column, descending=descending, limit=limit)

    def token_rows(self, token_ids: Iterable[int]) -> list[TokenRow]:
        return self.reads.token_rows(token_ids)

    def usage_since(self, after: int | None) -> list[tuple[int, int, int]]:
        return self.reads.usage_since(after)

    def change_cursor(self) -> int:
        return self.reads.change_cursor()

    def changes_since(self, cursor: int) -> Changes:
        return self.reads.changes_since(cursor)

    def prune_changes(self, keep: int = CHANGES_KEPT) -> None:
        self.reads.prune_changes(keep)

    def audit(self, token_id: int | None = None, limit: int | None = None) -> list[AuditView]:
        return self.reads.audit(token_id, limit)

    def token_details(self, token_id: int, events: int = RECENT_EVENTS) -> TokenDetails:
        return self.details.token_details(token_id, events)

    # ----------------------------------------------------------------- token lifecycle

    def reveal(self, token_id: int) -> str:
        return self.lifecycle.reveal(token_id)

    def create_token(
        self,
        environment: str,
        agent: str,
        *,
        label: str | None = None,
        rotation: Interval = None,
        grace: Interval = None,
        expires: datetime | None = None,
    ) -> IssuedSecret:
        return self.lifecycle.create_token(
            environment, agent, label=label, rotation=rotation, grace=grace, expires=expires
        )

    def set_status(self, token_id: int, active: bool) -> TokenView:
        return self.lifecycle.set_status(token_id, active)

    def set_label(self, token_id: int, label: str) -> TokenView:
        return self.lifecycle.set_label(token_id, label)

    def set_rotation(self, token_id: int, interval: Interval, grace: Interval = None) -> TokenView:
        return self.lifecycle.set_rotation(token_id, interval, grace)

    def set_expiry(self, token_id: int, expires: datetime | None) -> TokenView:
        return self.lifecycle.set_expiry(token_id, expires)

    def refresh(self, token_id: int, *, grace: Interval = None) -> IssuedSecret:
        return self.lifecycle.refresh(token_id, grace=grace)

    def rotate_if_due(
        self, token_id: int, *, actor: str = "scheduler", check: bool = True
    ) -> IssuedSecret | None:
        return self.lifecycle.rotate_if_due(token_id, actor=actor, check=check)

    def due_token_ids(self) -> list[int]:
        return self.lifecycle.due_token_ids()

    def expiring_token_ids(self, within: timedelta) -> list[int]:
        return self.lifecycle.expiring_token_ids(within)

    def next_due_at(self, environment: str | None = None) -> datetime | None:
        return self.lifecycle.next_due_at(environment)

    def rotate_due(
        self,
        *,
        actor: str = "scheduler",
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> RotationReport:
        """Rotate every due token, then deliver every new secret whose delivery is due (the
        ones just made, and earlier ones tried again), unless the keyring stopped the run."""
        report = self.lifecycle.rotate_due(actor=actor, progress=progress, cancelled=cancelled)
        if report.keyring_unavailable or (cancelled is not None and cancelled()):
            return report
        deliveries = self.deliveries.deliver_due(actor=actor, cancelled=cancelled)
        return replace(report, deliveries=deliveries) if deliveries else report

    # ----------------------------------------------------------------- delivery

    def set_delivery(self, token_id: int, command: str | None) -> TokenView:
        return self.deliveries.set_command(token_id, command)

    def deliver(self, token_id: int, *, actor: str | None = None) -> DeliveryOutcome | None:
        return self.deliveries.deliver(token_id, actor=actor)

    def due_deliveries(self) -> list[int]:
        return self.deliveries.due_token_ids()

    def delete(self, token_id: int) -> None:
        self.lifecycle.delete(token_id)

    # ----------------------------------------------------------------- journal and access

    def reconcile(self) -> ReconcileReport:
        return self.journal.reconcile()

    def verify(self, environment: str, presented: str, method: str, path: str) -> Decision:
        return self.access.verify(environment, presented, method, path)

    def access_index(self) -> AccessIndex:
        return self.access.access_index()
