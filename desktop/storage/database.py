"""Opening the database: durable pragmas, schema migrations keyed on ``PRAGMA user_version``;
:class:`Database`, what services hold: a connection per thread, transactions, and errors in the
project's own terms (:mod:`desktop.storage.errors`).

Peewee is imported only when a model is first used or a migration is needed: the window's
first screen is read through raw SQL alone, and importing Peewee (and the standard modules it
pulls in) would cost about half of the project's own start-up before that paint.
"""

from __future__ import annotations

import glob
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.domain.errors import DatabaseError, SchemaTooNew
from desktop.paths import private_dir, private_file
from desktop.storage.errors import damaged, translate_os_error, translated

if TYPE_CHECKING:
    import peewee as pw

    from desktop.storage.models import BaseModel

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
PRAGMAS: dict[str, str | int] = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a commit survives a power cut, not just a crash
    "foreign_keys": 1,
    "busy_timeout": BUSY_TIMEOUT_MS,
}

DB_FILENAME = "tokendesk.sqlite3"
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


def _create_table(database: pw.SqliteDatabase, model: type[BaseModel], *, safe: bool) -> None:
    """*model*'s table and indexes, on *database* (the models themselves are bound to none)."""
    import peewee as pw

    pw.SchemaManager(model, database).create_all(safe=safe)


def _columns(database: pw.Database, table: str) -> set[str]:
    return {column.name for column in database.get_columns(table)}


def _step_1_initial(database: pw.SqliteDatabase) -> None:
    from desktop.storage.models import ALL_MODELS

    for model in ALL_MODELS:  # in dependency order
        _create_table(database, model, safe=True)


def _step_2_intent_ids_never_reused(database: pw.SqliteDatabase) -> None:
    """Rebuild the journal table with AUTOINCREMENT ids (see ``Intent.id``)."""
    from desktop.storage.models import Intent

    sql = database.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'intent'"
    ).fetchone()[0]
    if "AUTOINCREMENT" in sql.upper():
        return  # created by step 1 from the current models
    # The columns both tables have: later steps add columns to the model that version 1 lacks.
    old = _columns(database, "intent")
    names = [field.column_name for field in Intent._meta.sorted_fields if field.column_name in old]
    columns = ", ".join(f'"{name}"' for name in names)
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


def _step_4_previous_secrets(database: pw.SqliteDatabase) -> None:
    """Replaced secrets in grace become rows of their own (``PreviousSecret``): one column
    kept only the latest, so a second refresh inside a grace period ended the first one's
    early. The one previous secret a token may hold moves over with its deadline, and the old
    columns go (their index first: SQLite drops no indexed column)."""
    from desktop.storage.models import PreviousSecret

    _create_table(database, PreviousSecret, safe=True)
    if "previous_fingerprint" not in _columns(database, "token"):
        return  # created by step 1 from the current models
    database.execute_sql(
        'INSERT INTO "previous_secret" ("token_id", "fingerprint", "valid_until") '
        'SELECT "id", "previous_fingerprint", "grace_until" FROM "token" '
        'WHERE "previous_fingerprint" IS NOT NULL AND "grace_until" IS NOT NULL'
    )
    database.execute_sql('DROP INDEX IF EXISTS "token_previous_fingerprint"')
    database.execute_sql('ALTER TABLE "token" DROP COLUMN "previous_fingerprint"')
    database.execute_sql('ALTER TABLE "token" DROP COLUMN "grace_until"')


def _step_5_intent_owner_started(database: pw.SqliteDatabase) -> None:
    """Journal entries name their owner by PID and start time (``Intent.owner_started``);
    entries written before keep NULL, and the PID-only rule for them."""
    if "owner_started" not in _columns(database, "intent"):
        database.execute_sql('ALTER TABLE "intent" ADD COLUMN "owner_started" INTEGER')


def _step_6_agent_disabled(database: pw.SqliteDatabase) -> None:
    """Agents can be disabled (``agent.disabled``): an admin takes every token a person holds
    out of use in one step, and can give them back."""
    if "disabled" in _columns(database, "agent"):
        return  # created by step 1 from the current models
    database.execute_sql('ALTER TABLE "agent" ADD COLUMN "disabled" INTEGER NOT NULL DEFAULT 0')


_NAMED = (
    ("environment", "environment", "env"),
    ("role", "role", "role"),
    ("agent", "agent", "agent"),
)


def _step_7_name_keys(database: pw.SqliteDatabase) -> None:
    """A ``name_key`` column with a unique index on environments, roles and agents, so the
    database itself refuses two names that read alike (``NOCASE`` folds ASCII letters only).

    Names stored before may now be invalid or be the same name as another. The database must
    still open and every row stay usable, so no row is removed: each name is repaired where
    that keeps it the same name (:func:`~desktop.domain.validation.repaired_name`), and of
    names that are one name, all but one get a number (``"Prod uction (2)"``), as
    :func:`~desktop.domain.validation.settled_names` decides. Each rename is an audit event
    and a warning in the log, so whoever looks for the old name learns what it is called now.
    """
    from datetime import UTC, datetime

    from desktop.domain.validation import name_key, settled_names, shown
    from desktop.storage.states import naive

    now = naive(datetime.now(UTC))
    for table, what, action in _NAMED:
        columns = {row[1] for row in database.execute_sql(f'PRAGMA table_info("{table}")')}
        if "name_key" not in columns:  # else created by step 1 from the current models
            database.execute_sql(
                f'ALTER TABLE "{table}" ADD COLUMN "name_key" TEXT NOT NULL DEFAULT \'\''
            )
        found = database.execute_sql(f'SELECT id, name FROM "{table}"')  # noqa: S608
        rows = [(int(row_id), str(name)) for row_id, name in found]
        changes = settled_names(rows, what)
        # Out of the way first (no key or name holds a control character), so no step collides.
        for row_id, _ in rows:
            database.execute_sql(
                f'UPDATE "{table}" SET name_key = ? WHERE id = ?',  # noqa: S608
                (f"\x01{row_id}", row_id),
            )
        for row_id in changes:
            database.execute_sql(
                f'UPDATE "{table}" SET name = ? WHERE id = ?',  # noqa: S608
                (f"\x01{row_id}", row_id),
            )
        for row_id, name in rows:
            new = changes.get(row_id, name)
            database.execute_sql(
                f'UPDATE "{table}" SET name = ?, name_key = ? WHERE id = ?',  # noqa: S608
                (new, name_key(new), row_id),
            )
            if new != name:
                details = (
                    f"{what} {shown(name)} renamed {shown(new)} on upgrade: names that differ "
                    "only in case, spaces, invisible characters or how their letters are "
                    "encoded are one name"
                )
                database.execute_sql(
                    'INSERT INTO "audit_event" ("at", "actor", "action", "token_id", "details") '
                    "VALUES (?, ?, ?, NULL, ?)",
                    (str(now), "upgrade", f"{action}-rename", details),
                )
                log.warning("%s", details)
        database.execute_sql(
            f'CREATE UNIQUE INDEX IF NOT EXISTS "{table}_name_key" ON "{table}" ("name_key")'
        )


def add_column(database: pw.Database, table: str, column: str, field: pw.Field) -> None:
    """Add *field* to *table* as *column*, unless it is there already (a database made from the
    current models has it): one ``ALTER TABLE … ADD COLUMN`` for both engines, the column's
    type and constraints written by *database* for its engine, as the models' own DDL is. A
    NOT NULL field must carry its DEFAULT in its DDL (``constraints=[SQL("DEFAULT '')")]``, or a
    field such as :class:`~desktop.storage.models.FalseByDefaultField`): existing rows take it.
    Never a table rebuild, so the table keeps its triggers and indexes."""
    if column in _columns(database, table):
        return
    field.name = field.column_name = column  # unbound: only its DDL is wanted
    context = database.get_sql_context()
    definition, _ = context.sql(field.ddl(context)).query()
    database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN {definition}')


def _step_8_token_expiry(database: pw.Database) -> None:
    """Tokens may expire (``token.expires_at``, NULL for never): existing tokens never do,
    as before."""
    import peewee as pw  # here, not at the top: see the module's docstring

    add_column(database, "token", "expires_at", pw.DateTimeField(null=True))


def _step_9_token_holder(database: pw.Database) -> None:
    """Each token names whose keyring holds its secret (``token.holder``, ``alice@laptop``):
    the tokens there are were all made on this machine, by its user. (Only a SQLite file can
    be this old: registries on PostgreSQL came with holders and are made at the current
    schema, so none is ever upgraded here from an earlier version.)"""
    import peewee as pw  # here, not at the top: see the module's docstring

    from desktop.domain.people import person
    from desktop.storage.models import Token

    add_column(database, "token", "holder", pw.TextField(constraints=[pw.SQL("DEFAULT ''")]))
    Token.update(holder=person()).where(Token.holder == "").bind(database).execute()


def _step_10_intent_owner_host(database: pw.Database) -> None:
    """Journal entries name their owner's host too (``intent.owner_host``), since processes
    on several machines share a registry on PostgreSQL; entries written before keep NULL: this
    host's in a SQLite file, any host's in a shared registry (they wait for their lease)."""
    import peewee as pw  # here, not at the top: see the module's docstring

    add_column(database, "intent", "owner_host", pw.TextField(null=True))


def _step_11_token_usage(database: pw.Database) -> None:
    """When and how often each token was last presented to a forward-auth server: a table of
    its own (``token_usage``), empty until a server records a use."""
    import peewee as pw  # here, not at the top: see the module's docstring

    from desktop.storage.models import TokenUsage

    pw.SchemaManager(TokenUsage, database).create_all(safe=True)


DELIVERY_INDEX = 'CREATE INDEX IF NOT EXISTS "token_delivery_due_at" ON "token" ("delivery_due_at")'


def _step_12_token_delivery(database: pw.Database) -> None:
    """A token may name a command that delivers each new secret (``token.delivery_command``),
    with who set it and when its next delivery is due (see :mod:`desktop.domain.delivery`);
    existing tokens have none."""
    import peewee as pw  # here, not at the top: see the module's docstring

    add_column(database, "token", "delivery_command", pw.TextField(null=True))
    add_column(database, "token", "delivery_set_by", pw.TextField(null=True))
    add_column(database, "token", "delivery_due_at", pw.DateTimeField(null=True))
    attempts = pw.IntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")])
    add_column(database, "token", "delivery_attempts", attempts)
    database.execute_sql(DELIVERY_INDEX)  # the scheduler's look for due deliveries, each pass


# Each step runs in one transaction together with its version bump. Append, never edit.
#
# Steps 1 to 7 are SQLite's history: a PostgreSQL registry is made at the current schema
# (desktop.storage.postgres), so only later steps ever run there, and they must run on both
# engines. Such a step takes the Peewee database (SqliteDatabase or PostgresqlDatabase), is a
# no-op where a database made from the current models already has its change (as every step
# is), and speaks through Peewee rather than engine SQL: add_column() for a column (the model
# gains the same field, last), pw.SchemaManager(Model, database) for a table or an index, a
# model query bound to the database for data. Where the engines must differ, it asks which it
# is on: isinstance(database, peewee.PostgresqlDatabase). For example:
#
#     def _step_13_token_retired(database: pw.Database) -> None:
#         import peewee as pw  # imported when a migration runs, never at start-up
#
#         add_column(database, "token", "retired_at", pw.DateTimeField(null=True))
MIGRATIONS: list[Callable[[Any], None]] = [  # Peewee's database of the engine the step runs on
    _step_1_initial,
    _step_2_intent_ids_never_reused,
    _step_3_change_log,
    _step_4_previous_secrets,
    _step_5_intent_owner_started,
    _step_6_agent_disabled,
    _step_7_name_keys,
    _step_8_token_expiry,
    _step_9_token_holder,
    _step_10_intent_owner_host,
    _step_11_token_usage,
    _step_12_token_delivery,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _user_version(handle: pw.Database) -> int:
    return int(handle.execute_sql("PRAGMA user_version").fetchone()[0])


def user_version(database: Database) -> int:
    """The schema version the database says it has (0 for a new one)."""
    if database.engine == "postgresql":
        from desktop.storage.postgres import PostgresDatabase, schema_version

        assert isinstance(database, PostgresDatabase)
        return schema_version(database)
    row = database.first("PRAGMA user_version")
    return int(row[0]) if row else 0


def quick_check(database: Database) -> str:
    """SQLite's quick integrity check: ``ok``, or what it found damaged. A PostgreSQL server
    keeps its own files whole: ``ok`` once it answers."""
    if database.engine == "postgresql":
        return "ok" if database.first("SELECT 1") == (1,) else "no answer"
    row = database.first("PRAGMA quick_check")
    return str(row[0]) if row else ""


def open_registry(location: Path | str) -> Database:
    """Open the registry at *location*: a PostgreSQL URL (``postgresql://user@host/db``, see
    :mod:`desktop.storage.postgres`) or an SQLite file's path (:func:`open_database`)."""
    if isinstance(location, str) and location.startswith(("postgresql://", "postgres://")):
        from desktop.storage.postgres import open_postgres

        return open_postgres(location)
    return open_database(Path(location))


def open_database(path: Path) -> Database:
    """Open (creating if need be) and migrate the database at *path*: a new :class:`Database`
    on each call, sharing nothing with any other one open in the process.

    The folder is made owner-only (0700) and the database, its WAL and shared-memory files and
    its backups are owner-only (0600), whatever the umask; an existing folder or file that
    others could read is narrowed, with one warning. A new database is made only where no file
    exists, complete before it appears (see :func:`_create`); an existing file that is empty,
    not an SQLite file or damaged is refused, never replaced, since the keyring holds secrets
    that only its rows name. Refuses a database written by a newer TokenDesk. Copies the file
    aside before migrating an existing database, so a failed migration never costs data. What
    cannot be done raises :class:`~desktop.domain.errors.DatabaseError` (a full disk, a
    read-only file or a missing folder :class:`~desktop.domain.errors.DatabaseUnavailable`). A
    file already at this schema version opens without importing Peewee.
    """
    try:
        narrowed = [path.parent] if private_dir(path.parent) else []
        if path.exists() or path.is_symlink():
            _check_header(path)
            narrowed += [file for file in _private_files(path) if private_file(file)]
        else:
            _create(path)
    except OSError as error:
        raise translate_os_error(error, path) from error
    if narrowed:
        log.warning("%s", narrowed_message(narrowed))
    database = Database(path)
    database.narrowed = tuple(narrowed)
    try:
        current = user_version(database)  # a damaged file is refused here, as such
        refuse_newer(current, path)
        if current != SCHEMA_VERSION:
            with translated(path):
                migrate(database.handle, path)
    except BaseException:
        database.close()
        raise
    return database


def narrowed_message(narrowed: Sequence[Path]) -> str:
    """The one warning for the folder and files :func:`open_database` made private."""
    listed = ", ".join(str(item) for item in narrowed)
    return f"others could read {listed}: made private to this user (owner-only access)"


def _private_files(path: Path) -> list[Path]:
    """The database's own files beside it: itself, its WAL and shared memory, its backups."""
    names = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return names + sorted(path.parent.glob(f"{glob.escape(path.name)}.v*.bak"))


def _check_header(path: Path) -> None:
    """Refuse an existing file that is not an SQLite database: an empty one (a copy that failed,
    a disk that filled up) is not a new database, and opening it would make it one."""
    with open(path, "rb") as file:
        header = file.read(len(SQLITE_HEADER))
    if not header:
        raise DatabaseError(damaged(path, "the file is empty"))
    if header != SQLITE_HEADER:
        raise DatabaseError(damaged(path, "not an SQLite file"))


def _create(path: Path) -> None:
    """A new, migrated database at *path*, which must not exist.

    It is built under a private temporary name beside *path* (0600 from the start, so SQLite
    gives its WAL and shared-memory files that mode too: it copies the database file's) and
    then linked into place, which fails rather than replace a file another process made
    meanwhile; that one is then used. A crash leaves either no database or a whole one, never
    an empty file that the next start would have to refuse.
    """
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    os.close(descriptor)
    temporary = Path(name)
    try:
        database = Database(temporary)
        try:
            with translated(path):
                migrate(database.handle, temporary)
        finally:
            database.close()
        try:
            os.link(temporary, path)
        except FileExistsError:
            log.debug("%s was made by another process meanwhile", path)
        except OSError:  # a file system without hard links: a rename refuses less, but works
            if not path.exists():
                os.rename(temporary, path)
    finally:
        for leftover in (temporary, *_private_files(temporary)[1:3]):
            leftover.unlink(missing_ok=True)


class _Connections(threading.local):
    connection: sqlite3.Connection | None = None


class Database:
    """One SQLite database as the services use it (and the interface that
    :class:`~desktop.storage.postgres.PostgresDatabase` gives a PostgreSQL one).

    It keeps one :mod:`sqlite3` connection per thread, opened with :data:`PRAGMAS`; raw reads
    and statements (:mod:`~desktop.storage.queries`) run on it directly. :attr:`handle`, the
    Peewee database the models run on, is made on first use and runs on that same connection,
    so a model write and a raw read inside one transaction see one transaction. :meth:`close`
    is the one place a thread's connection ends (closing the handle ends it too).
    :meth:`connection` makes its lifetime explicit for threads other than the one that opened
    the database, whose connection must not outlive them. Transactions and reads go through
    here so that a driver error reaches callers as :class:`~desktop.domain.errors.DatabaseError`.

    The models are bound to no database: every model query in :mod:`~desktop.storage.repository`
    is bound to the :class:`Database` it is given (through :attr:`handle`), so any number of
    databases may be open in one process, each used from any number of threads.
    """

    engine = "sqlite"  # or "postgresql": desktop.storage.postgres.PostgresDatabase

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        # Every connection opens the file that is there, never makes one (mode=rw): only
        # open_database makes a database. A file moved or deleted while the window or the
        # scheduler runs would otherwise come back empty at a thread's first read, at schema
        # version 0, and the next start would take it for a new database. Absolute from the
        # start, so a later change of the working directory points nowhere else; quoted, so a
        # space, "?", "#" or "%" in the path is part of the name and not of the URI.
        self._uri = Path(path).absolute().as_uri() + "?mode=rw"
        # What open_database found readable by others and made private (for the window to say).
        self.narrowed: tuple[Path, ...] = ()
        self._connections = _Connections()
        self._handle: pw.Database | None = None
        self._handle_lock = threading.Lock()

    @property
    def registry_name(self) -> str:
        """How this registry is named to people (the window's title, messages): the file."""
        return self.path

    @property
    def handle(self) -> pw.Database:
        """The Peewee database on this database's connections (storage's own: the layers above
        hold the Database and never reach for the handle). Importing Peewee happens here."""
        if self._handle is None:
            with self._handle_lock:
                if self._handle is None:
                    self._handle = _shared_connection_database()(self)
        return self._handle

    def load_models(self) -> None:
        """Import Peewee and the models now and make :attr:`handle`, rather than at the first
        model query (the window calls this once its first screen is painted)."""
        import desktop.storage.repository  # noqa: F401 - the models and their queries

        self.handle  # noqa: B018 - made here, not at the first write

    def _thread_connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (with the pragmas) if it is not open yet; an
        absent file is an error (see :func:`~desktop.storage.errors.translate`), not made."""
        connection = self._connections.connection
        if connection is None:
            connection = sqlite3.connect(
                self._uri, timeout=BUSY_TIMEOUT_MS // 1000, isolation_level=None, uri=True
            )
            try:
                for pragma, value in PRAGMAS.items():
                    connection.execute(f"PRAGMA {pragma} = {value};")
            except BaseException:
                connection.close()
                raise
            self._connections.connection = connection
        return connection

    def _is_open(self) -> bool:
        """Whether this thread has its connection open."""
        return self._connections.connection is not None

    def _close_thread_connection(self) -> bool:
        """Close this thread's connection, if open; whether it was."""
        connection = self._connections.connection
        if connection is None:
            return False
        self._connections.connection = None
        connection.close()
        return True

    @contextmanager
    def connection(self) -> Iterator[None]:
        """This thread's connection for the block: opened if it is not open yet, and then
        closed when the block ends (a worker thread's connection must not outlive it)."""
        opened_here = not self._is_open()
        try:
            with translated(self.path):
                self._thread_connection()
            yield
        finally:
            if opened_here and self._is_open():
                self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction. BEGIN IMMEDIATE takes the write lock up front, so a
        read-check-write inside it cannot interleave with another writer."""
        with translated(self.path), self.handle.atomic("IMMEDIATE"):
            yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every read inside it sees the same committed state. Inside a
        transaction it is a savepoint of it, as before; otherwise a deferred transaction of its
        own on the raw connection (reads only: a write inside it is a programming error)."""
        handle = self._handle
        if handle is not None and handle.in_transaction():
            with translated(self.path), handle.atomic():
                yield
            return
        with translated(self.path):
            connection = self._thread_connection()
            if connection.in_transaction:  # inside another snapshot: the same state
                outer = False
            else:
                connection.execute("BEGIN")
                outer = True
        try:
            yield
        except BaseException:
            if outer and connection.in_transaction:  # SQLite may have rolled back already
                with translated(self.path):
                    connection.execute("ROLLBACK")
            raise
        if outer:
            with translated(self.path):
                connection.execute("COMMIT")

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> None:
        """Run one statement that returns no rows."""
        with translated(self.path):
            self._thread_connection().execute(sql, params)

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row one statement returns."""
        with translated(self.path):
            rows: list[tuple[Any, ...]] = self._thread_connection().execute(sql, params).fetchall()
        return rows

    def first(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...] | None:
        """The first row one statement returns, or None."""
        with translated(self.path):
            row = self._thread_connection().execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def close(self) -> None:
        """Close this thread's connection (through the handle, when there is one, so that it
        knows)."""
        with translated(self.path):
            if self._handle is not None:
                self._handle.close()
            self._close_thread_connection()


@cache
def _shared_connection_database() -> Callable[[Database], pw.Database]:
    """The Peewee database class whose connections are its :class:`Database`'s (made once,
    on first use: defining it imports Peewee)."""
    import peewee as pw

    class SharedConnectionDatabase(pw.SqliteDatabase):
        """A Peewee database that opens and closes nothing itself: each thread's connection
        is the one its :class:`Database` keeps (opened with the pragmas already)."""

        def __init__(self, owner: Database) -> None:
            self._owner: Database | None = None  # Peewee's set-up must find nothing open
            super().__init__(owner.path, timeout=BUSY_TIMEOUT_MS // 1000)
            self._owner = owner

        def get_context_options(self) -> dict[str, Any]:
            options: dict[str, Any] = super().get_context_options()
            return {**options, "engine": "sqlite"}

        def _connect(self) -> sqlite3.Connection:
            assert self._owner is not None
            connection = self._owner._thread_connection()
            # Peewee's own SQL functions, as its _connect registers them (its stubs omit it).
            self._load_functions(connection)  # type: ignore[attr-defined]
            return connection

        def _close(self, conn: sqlite3.Connection) -> None:
            if self._owner is not None:
                self._owner._close_thread_connection()

        def is_closed(self) -> bool:
            return self._owner is None or not self._owner._is_open()

        def cursor(self, named_cursor: object = None) -> sqlite3.Cursor:
            # is_closed() speaks of the thread's connection, which raw reads may have opened
            # before Peewee knew of it: then Peewee takes it over (its own state, unstubbed).
            state = self._state  # type: ignore[attr-defined]
            if state.closed:
                self.connect()
            cursor: sqlite3.Cursor = state.conn.cursor()
            return cursor

        def close(self) -> bool:
            closed = bool(super().close())
            return (self._owner is not None and self._owner._close_thread_connection()) or closed

    return SharedConnectionDatabase


def refuse_newer(current: int, path: Path | str) -> None:
    if current > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database {path} has schema version {current}, but this TokenDesk only knows "
            f"up to {SCHEMA_VERSION}: install a newer TokenDesk to open it"
        )


def migrate(database: pw.Database, path: Path) -> None:
    current = _user_version(database)
    refuse_newer(current, path)
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
    """A consistent copy through SQLite's backup API (the WAL may hold recent commits), made
    owner-only under a temporary name and then renamed into place: never a half-written
    backup, never one others may read."""
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".new")
    os.close(descriptor)
    temporary = Path(name)
    try:
        source = sqlite3.connect(str(path))
        try:
            dest = sqlite3.connect(str(temporary))
            try:
                source.backup(dest)
            finally:
                dest.close()
        finally:
            source.close()
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


__all__ = [
    "DB_FILENAME",
    "SCHEMA_VERSION",
    "Database",
    "add_column",
    "narrowed_message",
    "open_database",
    "open_registry",
    "quick_check",
    "user_version",
]
