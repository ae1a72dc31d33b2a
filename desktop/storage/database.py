"""Opening the database: durable pragmas, schema migrations keyed on ``PRAGMA user_version``;
:class:`Database`, what services hold: a connection per thread, transactions, and errors in the
project's own terms (:mod:`desktop.storage.errors`)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee as pw

from desktop.domain.errors import SchemaTooNew
from desktop.storage.errors import translated
from desktop.storage.models import ALL_MODELS, BaseModel, Intent

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
PRAGMAS: dict[str, str | int] = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a commit survives a power cut, not just a crash
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
}

DB_FILENAME = "tokendesk.sqlite3"


def _create_table(database: pw.SqliteDatabase, model: type[BaseModel], *, safe: bool) -> None:
    """*model*'s table and indexes, on *database* (the models themselves are bound to none)."""
    pw.SchemaManager(model, database).create_all(safe=safe)


def _step_1_initial(database: pw.SqliteDatabase) -> None:
    for model in ALL_MODELS:  # in dependency order
        _create_table(database, model, safe=True)


def _step_2_intent_ids_never_reused(database: pw.SqliteDatabase) -> None:
    """Rebuild the journal table with AUTOINCREMENT ids (see ``Intent.id``)."""
    sql = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'intent'"
    ).fetchone()[0]
    if "AUTOINCREMENT" in sql.upper():
        return  # created by step 1 from the current models
    columns = ", ".join(f'"{field.column_name}"' for field in Intent._meta.sorted_fields)
    database.execute_sql('ALTER TABLE "intent" RENAME TO "intent_v1"')
    for (index,) in database.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'intent_v1' "
        "AND sql IS NOT NULL"
    ).fetchall():
        database.execute_sql(f'DROP INDEX "{index}"')
    _create_table(database, Intent, safe=False)
    copy = f'INSERT INTO "intent" ({columns}) SELECT {columns} FROM "intent_v1"'  # noqa: S608
    database.execute_sql(copy)
    database.execute_sql('DROP TABLE "intent_v1"')


def _step_3_change_log(database: pw.SqliteDatabase) -> None:
    """A log of what changed, written by triggers, so a window showing 100,000 tokens reads
    only the rows that changed (in this process or any other) instead of all of them.

    Kinds: ``token`` (``token_id`` was inserted, updated or deleted), ``names`` (an agent's
    role or a name shown beside many tokens changed) and ``directory`` (environments, roles,
    permissions or agents changed, but no token's row). Ids are AUTOINCREMENT and writers are
    serialised, so committed ids have no gaps: a reader that finds one knows entries were
    pruned since it last looked, and reads everything again.
    """
    token_events = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    triggers = [("token", event, "'token'", f'{row}."id"') for event, row in token_events]
    triggers += [
        (table, event, "'names'", "NULL")
        for table in ("agent", "role")
        for event in ("UPDATE", "DELETE")
    ]
    triggers += [(table, "INSERT", "'directory'", "NULL") for table in ("agent", "role")]
    triggers += [
        (table, event, "'directory'", "NULL")
        for table in ("environment", "role_permission")
        for event in ("INSERT", "UPDATE", "DELETE")
    ]
    database.execute_sql(
        'CREATE TABLE IF NOT EXISTS "change_log" ('
        '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "kind" TEXT NOT NULL, "token_id" INTEGER)'
    )
    # Tokens per environment and per agent, counted from the index alone.
    for column in ("environment_id", "agent_id"):
        database.execute_sql(
            f'CREATE INDEX IF NOT EXISTS "token_{column}_phase" ON "token" ("{column}", "phase")'
        )
    # The window's first screen in its default order (oldest first) without sorting them all.
    database.execute_sql('CREATE INDEX IF NOT EXISTS "token_created_at" ON "token" ("created_at")')
    # Every part is a literal from above.
    for table, event, kind, token_id in triggers:
        trigger = (
            f'CREATE TRIGGER IF NOT EXISTS "change_log_{table}_{event.lower()}" AFTER {event} '  # noqa: S608
            f'ON "{table}" BEGIN INSERT INTO "change_log" ("kind", "token_id") '
            f"VALUES ({kind}, {token_id}); END"
        )
        database.execute_sql(trigger)


# Each step runs in one transaction together with its ``user_version`` bump. Append, never edit.
MIGRATIONS: list[Callable[[pw.SqliteDatabase], None]] = [
    _step_1_initial,
    _step_2_intent_ids_never_reused,
    _step_3_change_log,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _user_version(handle: pw.SqliteDatabase) -> int:
    return int(handle.execute_sql("PRAGMA user_version").fetchone()[0])


def user_version(database: Database) -> int:
    """The schema version the file says it has (0 for a new file)."""
    row = database.first("PRAGMA user_version")
    return int(row[0]) if row else 0


def quick_check(database: Database) -> str:
    """SQLite's quick integrity check: ``ok``, or what it found damaged."""
    row = database.first("PRAGMA quick_check")
    return str(row[0]) if row else ""


def open_database(path: Path) -> Database:
    """Open (creating if need be) and migrate the database at *path*: a new :class:`Database`
    on each call, sharing nothing with any other one open in the process.

    Refuses a database written by a newer TokenDesk. Copies the file aside before migrating an
    existing database, so a failed migration never costs data. A file SQLite cannot open or
    read raises :class:`~desktop.domain.errors.DatabaseError`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = pw.SqliteDatabase(str(path), pragmas=PRAGMAS, timeout=BUSY_TIMEOUT_MS // 1000)
    try:
        with translated():
            handle.connect()
            migrate(handle, path)
    except BaseException:
        handle.close()
        raise
    return Database(handle)


class Database:
    """One SQLite database as the services use it.

    Peewee keeps one connection per thread; :meth:`connection` makes its lifetime explicit for
    threads other than the one that opened the database, whose connection must not outlive
    them. Transactions and reads go through here so that a driver error reaches callers as
    :class:`~desktop.domain.errors.DatabaseError`.

    The models are bound to no database: every model query in :mod:`~desktop.storage.repository`
    is bound to the :class:`Database` it is given (through :attr:`handle`), so any number of
    databases may be open in one process, each used from any number of threads.
    """

    def __init__(self, handle: pw.SqliteDatabase) -> None:
        # Storage's own: the layers above hold the Database and never reach for the handle.
        self.handle = handle

    @contextmanager
    def connection(self) -> Iterator[None]:
        """This thread's connection for the block: opened if it is not open yet, and then
        closed when the block ends (a worker thread's connection must not outlive it)."""
        opened_here = self.handle.is_closed()
        try:
            with translated():
                self.handle.connect(reuse_if_open=True)
            yield
        finally:
            if opened_here and not self.handle.is_closed():
                self.handle.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction. BEGIN IMMEDIATE takes the write lock up front, so a
        read-check-write inside it cannot interleave with another writer."""
        with translated(), self.handle.atomic("IMMEDIATE"):
            yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every read inside it sees the same committed state."""
        with translated(), self.handle.atomic():
            yield

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> None:
        """Run one statement that returns no rows."""
        with translated():
            self.handle.execute_sql(sql, params)

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row one statement returns."""
        with translated():
            rows: list[tuple[Any, ...]] = self.handle.execute_sql(sql, params).fetchall()
        return rows

    def first(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...] | None:
        """The first row one statement returns, or None."""
        with translated():
            row = self.handle.execute_sql(sql, params).fetchone()
        return None if row is None else tuple(row)

    def close(self) -> None:
        """Close this thread's connection."""
        with translated():
            self.handle.close()


def migrate(database: pw.SqliteDatabase, path: Path) -> None:
    current = _user_version(database)
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database {path} has schema version {current}, but this TokenDesk only knows "
            f"up to {SCHEMA_VERSION}: install a newer TokenDesk to open it"
        )
    if current == SCHEMA_VERSION:
        return
    if current > 0:
        backup = path.with_name(f"{path.name}.v{current}.bak")
        _backup(path, backup)
        log.info("database copied to %s before migrating from version %d", backup, current)
    for version in range(current, SCHEMA_VERSION):
        with database.atomic("IMMEDIATE"):
            # Re-read inside the lock: another process may have migrated meanwhile.
            if _user_version(database) != version:
                continue
            MIGRATIONS[version](database)
            database.execute_sql(f"PRAGMA user_version = {version + 1}")
        log.info("database migrated to schema version %d", version + 1)


def _backup(path: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the WAL may hold recent commits)."""
    source = sqlite3.connect(str(path))
    try:
        dest = sqlite3.connect(str(target))
        try:
            source.backup(dest)
        finally:
            dest.close()
    finally:
        source.close()


__all__ = [
    "DB_FILENAME",
    "SCHEMA_VERSION",
    "Database",
    "open_database",
    "quick_check",
    "user_version",
]
