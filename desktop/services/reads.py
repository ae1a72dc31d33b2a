"""What the window reads: the token table (all of it in one snapshot, or its first page), token
counts, names, the change log that keeps it current, and the audit log.

The SQL lives in :mod:`desktop.storage.queries`; here it is put together into consistent answers
(a table and the change cursor it is current at are read in one snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from desktop.domain.clock import utc
from desktop.domain.table import Column
from desktop.services.context import ServiceContext
from desktop.services.directory import Directory
from desktop.services.views import AuditView, Changes, Names, TokenRow
from desktop.storage import queries
from desktop.storage.lazy import deferred
from desktop.storage.states import naive

if TYPE_CHECKING:
    from desktop.storage import repository
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

# The change log keeps this many entries; a reader further behind reads everything again.
CHANGES_KEPT = 20_000


class ChangeListening(Protocol):
    """Hears commits made anywhere to the registry (see :meth:`Reads.change_listener`)."""

    @property
    def listening(self) -> bool:
        """Whether commits are heard now (False while the server cannot be reached)."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None:
        """Hear nothing more; the callbacks are not called once this returns."""
        ...


class Reads:
    """The window's table, counts and logs."""

    def __init__(self, context: ServiceContext, directory: Directory) -> None:
        self._database = context.database
        self._work = context.work
        self._directory = directory

    def data_version(self) -> int:
        """Changes whenever another connection commits: cheap polling for outside changes."""
        return queries.data_version(self._database)

    def names(self) -> Names:
        """Environment, agent and role names for the ids in :class:`TokenRow`."""
        return queries.names(self._database)

    def token_table(self, environment: str | None = None) -> tuple[int, Names, list[TokenRow]]:
        """Every ready token (of one environment, or all) as rows, with their names and the
        change cursor they are current at, read in one snapshot."""
        with self._database.snapshot():
            cursor = queries.change_cursor(self._database)
            names = queries.names(self._database)
            environment_id = self._directory.environment_id(environment)
            rows = queries.token_rows(self._database, environment_id)
        return cursor, names, rows

    def token_count(self, environment: str | None = None) -> int:
        """How many ready tokens there are (in one environment, or in all)."""
        environment_id = self._directory.environment_id(environment)
        return queries.token_count(self._database, environment_id)

    def token_page(
        self, environment: str | None, column: int, *, descending: bool, limit: int
    ) -> tuple[Names, list[TokenRow]]:
        """The first *limit* rows in the table's order by *column* (a
        :class:`~desktop.domain.table.Column`), read without reading the others: what the
        window paints first."""
        environment_id = self._directory.environment_id(environment)
        rows = queries.token_page(
            self._database, environment_id, Column(column), descending=descending, limit=limit
        )
        return queries.names(self._database), rows

    def token_rows(self, token_ids: Iterable[int]) -> list[TokenRow]:
        """The rows of these tokens that exist and are ready (the others are gone)."""
        return queries.token_rows_by_id(self._database, token_ids)

    def usage_since(self, after: int | None) -> list[tuple[int, int, int]]:
        """The tokens last used later than *after* (POSIX seconds; None: every token ever
        used): (token id, last use in POSIX seconds, use count). Usage is written every few
        seconds by every forward-auth server and never reaches the change log (it would wake
        every window and server), so a window asks this now and then instead."""
        since = None if after is None else naive(datetime.fromtimestamp(after, UTC))
        return queries.usage_since(self._database, since)

    # ----------------------------------------------------------------- the change log

    def change_cursor(self) -> int:
        """The id of the newest change-log entry ever written (0 for none)."""
        return queries.change_cursor(self._database)

    def change_listener(
        self, on_change: Callable[[], None], on_listening: Callable[[bool], None] | None = None
    ) -> ChangeListening | None:
        """Something that calls *on_change* (from a thread of its own) soon after any process
        commits a change, so a window reads :meth:`changes_since` then rather than asking
        every second; *on_listening* hears whether it can (False while the server is away:
        it reconnects by itself). Not started. None on SQLite, whose :meth:`data_version` is
        a read of shared memory, cheap enough to ask often."""
        if self._database.engine != "postgresql":
            return None
        from desktop.storage.postgres import PostgresDatabase

        assert isinstance(self._database, PostgresDatabase)
        return self._database.change_listener(on_change, on_listening)

    def changes_since(self, cursor: int) -> Changes:
        """What committed since *cursor* (from :meth:`token_table` or an earlier call)."""
        with self._database.snapshot():
            newest = queries.change_cursor(self._database)
            if newest == cursor:
                return Changes(cursor)
            entries = queries.changes_after(self._database, cursor)
        if newest < cursor or not entries or entries[0][0] != cursor + 1:
            return Changes(newest, complete=False)  # pruned past us (or another database)
        kinds = {kind for _, kind, _ in entries}
        return Changes(
            newest,
            frozenset(
                token_id
                for _, kind, token_id in entries
                if kind == "token" and token_id is not None
            ),
            names="names" in kinds,
            directory="directory" in kinds,
        )

    def prune_changes(self, keep: int = CHANGES_KEPT) -> None:
        """Drop all but the newest *keep* change-log entries."""
        with self._work.transaction():
            repository.prune_changes(self._database, queries.change_cursor(self._database) - keep)

    # ----------------------------------------------------------------- the audit log

    def audit(self, token_id: int | None = None, limit: int | None = None) -> list[AuditView]:
        """Audit events, newest first (of one token, or of everything)."""
        return [
            AuditView(e.id, utc(e.at), e.actor, e.action, e.token_id, e.details)
            for e in repository.audit_events(self._database, token_id, limit)
        ]
