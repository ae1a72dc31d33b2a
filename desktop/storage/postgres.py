"""A registry shared by a team: the same schema, rules and queries on a PostgreSQL server.

:class:`PostgresDatabase` is a :class:`~desktop.storage.database.Database` whose rows live on a
server: a :mod:`psycopg` connection per thread (psycopg 3: its ``conninfo`` goes to libpq as it
is, so ``PGPASSWORD``, ``~/.pgpass``, ``sslmode`` and the rest work as in ``psql``), the same
Peewee models on them, and the same raw reads. Those are written once, in SQLite's dialect with
``?`` placeholders; :func:`postgres_sql` rewrites the few constructs that differ (planner hints,
epoch seconds, SQLite's NOCASE order) once per statement.

Writers are serialised as SQLite's ``BEGIN IMMEDIATE`` serialises them: every write transaction
first takes one advisory lock. So a read-check-write cannot interleave with another writer, and
change-log ids commit in order (what :mod:`desktop.services.reads` relies on). Each write
transaction also says ``NOTIFY`` on :data:`CHANNEL`, which the server delivers when it commits
(never for one rolled back): a :class:`ChangeListener` in every open window hears it and the
window reads the change log at once, rather than asking the server every second. Migrations run
under another advisory lock, one transaction each, the version kept in ``schema_version``: two
desktops starting at once never both migrate, and a database newer than the code is refused.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import select
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from desktop.domain.errors import DatabaseError
from desktop.storage.database import (
    DELIVERY_INDEX,
    MIGRATIONS,
    SCHEMA_VERSION,
    Database,
    refuse_newer,
)
from desktop.storage.errors import translated

if TYPE_CHECKING:
    import peewee as pw
    import psycopg

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")

# Advisory lock keys (any two bigints of our own): writers, and schema changes.
WRITE_LOCK = 0x546F6B656E_01
MIGRATION_LOCK = 0x546F6B656E_02
# What every write transaction notifies on commit, and every window listens to.
CHANNEL = "tokendesk_changes"

# What libpq is asked unless the URL says otherwise: a name in pg_stat_activity, and a bound on
# how long an unreachable server keeps a window or a command waiting.
_DEFAULTS = {"application_name": "tokendesk", "connect_timeout": "10"}
# A listening connection only waits, so nothing it sends would find a server that vanished
# (a host powered off, a network cut): TCP keepalives find it within about half a minute.
_LISTENER_DEFAULTS = {
    **_DEFAULTS,
    "application_name": "tokendesk listener",
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
}


_VERSION_TABLE = "schema_version"


def is_url(location: object) -> bool:
    """Whether *location* names a PostgreSQL database rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def registry_name(url: str) -> str:
    """How the registry at *url* is named to people: ``PostgreSQL alice@db:5432/tokens``,
    with libpq's defaults where the URL leaves a part out. Never the password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:  # a malformed URL is reported when it is used
        return "PostgreSQL (an invalid URL)"
    user = str(parts.get("user") or os.environ.get("PGUSER") or _os_user())
    host = str(parts.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(parts.get("port") or os.environ.get("PGPORT") or "5432")
    dbname = str(parts.get("dbname") or os.environ.get("PGDATABASE") or user)
    return f"PostgreSQL {user}@{host}:{port}/{dbname}"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "?"


# SQLite's NOCASE: ASCII letters folded, then code point order (what "C" is for UTF-8).
_NOCASE = re.compile(r"([\w.]+) COLLATE NOCASE")
_NOCASE_SQL = (
    r"translate(\1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE " + '"C"'
)


def _connect_error(error: BaseException, url: str, name: str) -> DatabaseError:
    """The one line for a connection that could not be made: the server's reason (libpq never
    says the password), or, for a URL it cannot read, the reason with the URL and the password
    blanked out, since libpq quotes what it could not parse."""
    from desktop.storage.errors import translate_postgres

    translated_error = translate_postgres(error, name)
    if translated_error is not None:
        return translated_error
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    detail = detail.replace(url, "the URL")
    password = _PASSWORD.search(url)
    if password and password.group(1):
        detail = detail.replace(password.group(1), "***")
    return DatabaseError(
        f"{name}: the URL is not one PostgreSQL can use ({detail}); the form is "
        "postgresql://user@host:port/dbname"
    )


# The password in postgresql://user:password@host/…, found even where the URL does not parse.
_PASSWORD = re.compile(r"^[a-z]+://[^:/@]*:([^@]*)@")
_EPOCH = re.compile(r"CAST\(strftime\('%s', (.+?)\) AS INTEGER\)")
# "+column" keeps SQLite's planner off an index; PostgreSQL has no unary plus on text.
_HINT = re.compile(r"(?<=[\s(])\+(?=[A-Za-z_])")


@lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """A raw statement in SQLite's dialect as PostgreSQL runs it: epoch seconds through
    EXTRACT, no planner hints, NOCASE as ASCII folding in code point order, ``%s``
    placeholders (and a literal ``%`` doubled)."""
    sql = _EPOCH.sub(r"CAST(FLOOR(EXTRACT(EPOCH FROM \1)) AS BIGINT)", sql)
    sql = _HINT.sub("", sql)
    sql = _NOCASE.sub(_NOCASE_SQL, sql)
    return sql.replace("%", "%%").replace("?", "%s")


def _has_input(fd: int) -> bool:
    """Whether the socket *fd* has something to read (or was closed) right now."""
    waiting = select.poll()
    waiting.register(fd, select.POLLIN)
    return bool(waiting.poll(0))


def _conninfo(url: str, defaults: dict[str, str]) -> str:
    """*url* as libpq takes it, with *defaults* for what it leaves out."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    given = conninfo_to_dict(url)
    return make_conninfo(url, **{key: value for key, value in defaults.items() if key not in given})


class _Connections(threading.local):
    connection: psycopg.Connection[Any] | None = None
    depth = 0  # transactions and snapshots open on it


class PostgresDatabase(Database):
    """One PostgreSQL database as the services use it: the interface of
    :class:`~desktop.storage.database.Database`, on a server.

    Each thread has its own connection (autocommit: transactions are begun explicitly), shared
    by the raw reads and the Peewee handle, so a model write and a raw read inside one
    transaction see one transaction. :meth:`transaction` takes :data:`WRITE_LOCK`;
    :meth:`snapshot` is a read-only REPEATABLE READ transaction.
    """

    engine = "postgresql"

    def __init__(self, url: str) -> None:  # no file: the base's set-up does not apply
        self.url = url
        # What every message names: the registry, never the URL (it may hold a password).
        self.path = registry_name(url)
        self.narrowed = ()
        self._pg = _Connections()
        self._handle: pw.Database | None = None
        self._handle_lock = threading.Lock()

    @property
    def registry_name(self) -> str:
        return self.path

    @property
    def handle(self) -> pw.Database:
        """The Peewee database on this database's connections."""
        if self._handle is None:
            with self._handle_lock:
                if self._handle is None:
                    self._handle = _shared_connection_database()(self)
        return self._handle

    def _pg_connection(self) -> psycopg.Connection[Any]:
        """This thread's connection, opened if it is not open yet."""
        connection = self._pg.connection
        if connection is None:
            import psycopg

            try:
                connection = psycopg.connect(_conninfo(self.url, _DEFAULTS), autocommit=True)
            except psycopg.Error as error:
                # Not chained: the driver's words about a URL it cannot read may quote it.
                raise _connect_error(error, self.url, self.path) from None
            self._pg.connection = connection
        return connection

    def _reconnect_if_lost(self) -> None:
        """Forget this thread's connection if the server ended it (a restart, a failover), so
        the next statement opens a new one rather than fail. A server that shuts down says so
        on every connection before it closes them, and an idle connection that listens to
        nothing is otherwise told nothing: one with something to read (one ``poll`` of its
        socket) is replaced. Only between transactions: a transaction whose connection was
        lost fails as a whole, and is never carried on elsewhere."""
        connection = self._pg.connection
        if connection is None or self._pg.depth:
            return
        if self._handle is not None and self._handle.in_transaction():
            return
        if connection.closed or _has_input(connection.fileno()):
            log.info("%s: the server ended the connection; opening a new one", self.path)
            self.close()

    def _is_open(self) -> bool:
        return self._pg.connection is not None

    def _close_thread_connection(self) -> bool:
        connection = self._pg.connection
        if connection is None:
            return False
        self._pg.connection = None
        connection.close()
        return True

    @contextmanager
    def connection(self) -> Iterator[None]:
        opened_here = not self._is_open()
        try:
            with translated(self.path):
                self._pg_connection()
            yield
        finally:
            if opened_here and self._is_open():
                self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction, serialised with every other writer's, that wakes every
        listener when it commits (see the module). A transaction that changed nothing a window
        shows wakes them too, for one indexed read each: cheaper than asking whether it did."""
        self._reconnect_if_lost()
        with translated(self.path), self.handle.atomic():
            self._pg.depth += 1
            try:
                self.handle.execute_sql(
                    "SELECT pg_advisory_xact_lock(%s), pg_notify(%s, '')", (WRITE_LOCK, CHANNEL)
                )
                yield
            finally:
                self._pg.depth -= 1

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see one committed state (a savepoint inside a transaction)."""
        handle = self._handle
        if handle is not None and handle.in_transaction():
            with translated(self.path), handle.atomic():
                yield
            return
        from psycopg.pq import TransactionStatus

        self._reconnect_if_lost()
        with translated(self.path):
            connection = self._pg_connection()
            outer = connection.info.transaction_status == TransactionStatus.IDLE
            if outer:
                connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._pg.depth += 1
        try:
            yield
        except BaseException:
            if outer and connection.info.transaction_status not in (
                TransactionStatus.IDLE,
                TransactionStatus.UNKNOWN,  # the connection is gone, and the transaction with it
            ):
                with translated(self.path):
                    connection.execute("ROLLBACK")
            raise
        finally:
            self._pg.depth -= 1
        if outer:
            with translated(self.path):
                connection.execute("COMMIT")

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> None:
        self._reconnect_if_lost()
        with translated(self.path):
            self._pg_connection().execute(postgres_sql(sql), tuple(params))

    def rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        self._reconnect_if_lost()
        with translated(self.path):
            cursor = self._pg_connection().execute(postgres_sql(sql), tuple(params))
            return list(cursor.fetchall()) if cursor.description is not None else []

    def first(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> tuple[Any, ...] | None:
        self._reconnect_if_lost()
        with translated(self.path):
            cursor = self._pg_connection().execute(postgres_sql(sql), tuple(params))
            row = cursor.fetchone() if cursor.description is not None else None
        return None if row is None else tuple(row)

    def change_listener(
        self, on_change: Callable[[], None], on_listening: Callable[[bool], None] | None = None
    ) -> ChangeListener:
        """A :class:`ChangeListener` on this database, not started yet."""
        return ChangeListener(self.url, self.path, on_change, on_listening)


@cache
def _shared_connection_database() -> Callable[[PostgresDatabase], pw.Database]:
    """The Peewee database class whose connections are its :class:`PostgresDatabase`'s."""
    import peewee as pw

    class SharedConnectionPostgres(pw.PostgresqlDatabase):
        """Peewee on the owner's per-thread connections. Integer columns are BIGINT (a
        process's start time in clock ticks outgrows INTEGER in 248 days of uptime); the
        ``engine`` context option lets a field word its DDL for this engine."""

        field_types = {**pw.PostgresqlDatabase.field_types, "AUTO": "BIGSERIAL", "INT": "BIGINT"}

        def __init__(self, owner: PostgresDatabase) -> None:
            self._owner: PostgresDatabase | None = None
            super().__init__(owner.url, prefer_psycopg3=True)
            self._owner = owner

        def get_context_options(self) -> dict[str, Any]:
            options: dict[str, Any] = super().get_context_options()
            return {**options, "engine": "postgresql"}

        def _connect(self) -> psycopg.Connection[Any]:
            assert self._owner is not None
            return self._owner._pg_connection()

        def _close(self, conn: object) -> None:
            if self._owner is not None:
                self._owner._close_thread_connection()

        def is_closed(self) -> bool:
            return self._owner is None or not self._owner._is_open()

        def cursor(self, named_cursor: object = None) -> Any:
            state = self._state  # type: ignore[attr-defined]
            if state.closed:
                self.connect()
            return state.conn.cursor()

        def close(self) -> bool:
            closed = bool(super().close())
            return (self._owner is not None and self._owner._close_thread_connection()) or closed

    return SharedConnectionPostgres


# ----------------------------------------------------------------- opening and migrating


def open_postgres(url: str) -> PostgresDatabase:
    """Connect to the PostgreSQL database at *url* and bring its schema to this TokenDesk's
    version: made at the current schema when it has none, migrated step by step when it is
    older, refused when it is newer (:class:`~desktop.domain.errors.SchemaTooNew`). A server
    that cannot be reached, a login refused or a database missing is
    :class:`~desktop.domain.errors.DatabaseUnavailable`, one line naming the registry."""
    database = PostgresDatabase(url)
    try:
        with translated(database.path):
            current = schema_version(database)
            refuse_newer(current, database.path)
            if current != SCHEMA_VERSION:
                migrate_postgres(database)
    except BaseException:
        database.close()
        raise
    return database


def _has_table(database: PostgresDatabase, name: str) -> bool:
    """Whether the current schema has a table *name*, as committed now: read from pg_class
    itself, since a name lookup (to_regclass) may answer from this session's cache of names
    that were missing, which a transaction waiting on a lock does not refresh."""
    return (
        database.first(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relname = ? AND n.nspname = current_schema()",
            (name,),
        )
        is not None
    )


def schema_version(database: PostgresDatabase) -> int:
    """The schema version the database says it has (0 when it has no TokenDesk schema)."""
    if not _has_table(database, _VERSION_TABLE):
        return 0
    row = database.first(f"SELECT MAX(version) FROM {_VERSION_TABLE}")  # noqa: S608
    return int(row[0]) if row and row[0] is not None else 0


def migrate_postgres(database: PostgresDatabase) -> None:
    """Create or migrate the schema: each step in one transaction with its version, under
    :data:`MIGRATION_LOCK`, re-reading the version once the lock is held (another process may
    have done the work meanwhile)."""
    handle = database.handle
    with handle.atomic():
        handle.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        current = schema_version(database)
        refuse_newer(current, database.path)
        if current == 0:
            if _has_table(database, "token"):
                raise DatabaseError(
                    f"the database {database.path} holds a token table but no TokenDesk schema "
                    "version: it is not a TokenDesk registry; use an empty database"
                )
            _create_schema(handle)
            log.info("%s made at schema version %d", database.path, SCHEMA_VERSION)
            return
    for version in range(current, SCHEMA_VERSION):
        with handle.atomic():
            handle.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if schema_version(database) != version:
                continue
            MIGRATIONS[version](handle)
            handle.execute_sql(f"UPDATE {_VERSION_TABLE} SET version = %s", (version + 1,))  # noqa: S608 - a constant
        log.info("%s migrated to schema version %d", database.path, version + 1)


def _create_schema(handle: pw.Database) -> None:
    """The current schema at once, stamped :data:`SCHEMA_VERSION` (inside the caller's
    transaction). A PostgreSQL registry starts at the version this creates: the steps before
    it are SQLite's history and never run here."""
    import peewee as pw

    from desktop.storage.models import ALL_MODELS

    for model in ALL_MODELS:  # in dependency order
        pw.SchemaManager(model, handle).create_all(safe=False)
    for statement in _CHANGE_LOG:
        handle.execute_sql(statement)
    handle.execute_sql(f"CREATE TABLE {_VERSION_TABLE} (version INTEGER NOT NULL)")
    handle.execute_sql(f"INSERT INTO {_VERSION_TABLE} (version) VALUES (%s)", (SCHEMA_VERSION,))  # noqa: S608 - a constant


def _change_log_triggers() -> list[str]:
    """The change log's triggers, as SQLite's step 3 writes them (see its docstring)."""
    statements = [
        "CREATE TRIGGER change_log_token AFTER INSERT OR UPDATE OR DELETE ON token "
        "FOR EACH ROW EXECUTE FUNCTION change_log_token()"
    ]
    kinds = [
        ("agent", "UPDATE OR DELETE", "names"),
        ("role", "UPDATE OR DELETE", "names"),
        ("agent", "INSERT", "directory"),
        ("role", "INSERT", "directory"),
        ("environment", "INSERT OR UPDATE OR DELETE", "directory"),
        ("role_permission", "INSERT OR UPDATE OR DELETE", "directory"),
    ]
    for table, events, kind in kinds:
        name = f"change_log_{table}_{events.split()[0].lower()}"
        statements.append(
            f"CREATE TRIGGER {name} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION change_log_kind('{kind}')"
        )
    return statements


_CHANGE_LOG = [
    'CREATE TABLE "change_log" ("id" BIGSERIAL PRIMARY KEY, "kind" TEXT NOT NULL, '
    '"token_id" BIGINT)',
    'CREATE INDEX "token_environment_id_phase" ON "token" ("environment_id", "phase")',
    'CREATE INDEX "token_agent_id_phase" ON "token" ("agent_id", "phase")',
    'CREATE INDEX "token_created_at" ON "token" ("created_at")',
    DELIVERY_INDEX,  # step 12's
    "CREATE FUNCTION change_log_token() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO change_log (kind, token_id) VALUES "
    "('token', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END); RETURN NULL; END $$",
    "CREATE FUNCTION change_log_kind() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO change_log (kind) VALUES (TG_ARGV[0]); RETURN NULL; END $$",
    *_change_log_triggers(),
]


# ----------------------------------------------------------------- listening for changes

# After a lost connection, the waits between tries to listen again (the last one repeats).
RECONNECT_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)
# How long closing a window waits for its listener to end (it ends at once, unless a connection
# to a server that does not answer is being made).
STOP_WAIT_S = 2.0


class ChangeListener:
    """Hears every commit that wrote to the registry, from any process on any machine:
    ``LISTEN`` on :data:`CHANNEL` over a connection of its own, waited for in a thread.

    *on_change* is called (on that thread) for each batch of notifications, and once each time
    listening starts, since what committed before it did was never announced to it.
    *on_listening* hears whether it listens now: False when the connection is lost (the server
    restarted, the network went away), True once it listens again. It reconnects by itself,
    without end, waiting longer between tries (:data:`RECONNECT_DELAYS_S`).

    Why a thread, rather than the GUI's event loop watching the connection's socket: connecting
    (a name to resolve, TCP, TLS, a login) may take seconds while a server is away, and must
    never stall a window; the thread waits in ``poll`` on the connection's socket and a pipe
    that :meth:`stop` writes to, so it stops at once, and libpq and psycopg read what arrives,
    TLS included. The callbacks must be safe to call from another thread.
    """

    def __init__(
        self,
        url: str,
        name: str,
        on_change: Callable[[], None],
        on_listening: Callable[[bool], None] | None = None,
    ) -> None:
        self._url = url
        self._name = name
        self._on_change = on_change
        self._on_listening = on_listening
        self._stopping = threading.Event()
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="tokendesk-listener", daemon=True)
        self._listening = False

    @property
    def listening(self) -> bool:
        """Whether notifications reach this listener now."""
        return self._listening

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Stop listening and close the connection. Returns once the thread has ended, or
        after *wait_s* if it is still connecting to a server that does not answer: it ends by
        itself then, and calls nothing more."""
        self._stopping.set()
        with suppress(OSError):  # the thread has ended and closed it
            self._wake_write.send(b"\0")
        if self._thread.is_alive():
            self._thread.join(wait_s)
        elif self._thread.ident is None:  # never started
            self._close_wake()

    def _close_wake(self) -> None:
        self._wake_read.close()
        self._wake_write.close()

    # ----------------------------------------------------------------- the thread

    def _run(self) -> None:
        try:
            self._run_until_stopped()
        finally:
            self._close_wake()

    def _run_until_stopped(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen()
                failures = 0
            except Exception as error:  # the server went away, or never answered
                if self._stopping.is_set():
                    break
                if failures == 0:
                    from desktop.storage.errors import translate_postgres

                    said = translate_postgres(error, self._name) or error
                    log.warning("not listening for changes: %s; trying again", _one_line(said))
                delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
                failures += 1
            else:
                delay = 0.0
            self._set_listening(False)
            if self._stopping.wait(delay):
                break

    def _listen(self) -> None:
        """Connect, listen, and hand on what arrives until :meth:`stop` (or an error)."""
        import psycopg

        with psycopg.connect(_conninfo(self._url, _LISTENER_DEFAULTS), autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            if self._stopping.is_set():
                return
            self._set_listening(True)
            log.info("%s: listening for changes", self._name)
            self._on_change()  # what committed before we listened
            waiting = select.poll()  # not select(): a busy process may have fds past 1023
            wake = self._wake_read.fileno()
            for fd in (conn.fileno(), wake):
                waiting.register(fd, select.POLLIN)
            while not self._stopping.is_set():
                ready = waiting.poll()
                if any(fd == wake for fd, _ in ready):
                    return
                # Reads what the socket holds; a lost connection raises here.
                if any(True for _ in conn.notifies(timeout=0)) and not self._stopping.is_set():
                    self._on_change()
                elif conn.closed:
                    raise psycopg.OperationalError("the connection is lost")

    def _set_listening(self, listening: bool) -> None:
        if listening == self._listening:
            return
        self._listening = listening
        if self._on_listening is not None and not self._stopping.is_set():
            self._on_listening(listening)


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = [
    "CHANNEL",
    "MIGRATION_LOCK",
    "WRITE_LOCK",
    "ChangeListener",
    "PostgresDatabase",
    "is_url",
    "migrate_postgres",
    "open_postgres",
    "postgres_sql",
    "registry_name",
    "schema_version",
]
