"""What only a PostgreSQL registry has: its schema made once under an advisory lock by whichever
process comes first, a version kept in the database, writers serialised by a lock, snapshots,
and one line for a server that cannot be used. The rules themselves run on both engines in the
other storage and service tests."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from desktop.app import open_context
from desktop.domain.errors import DatabaseError, DatabaseUnavailable, SchemaTooNew
from desktop.secrets.memory import InMemorySecretStore
from desktop.storage import queries
from desktop.storage.database import SCHEMA_VERSION, open_registry, user_version
from desktop.storage.postgres import (
    MIGRATION_LOCK,
    WRITE_LOCK,
    PostgresDatabase,
    open_postgres,
    postgres_sql,
    registry_name,
)
from tests.helpers.postgres import PostgresServer

# A process that opens the registry at argv[1] and says whether it made the schema.
OPENER = """\
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
from desktop.storage.database import open_registry
open_registry(sys.argv[1]).close()
"""


@pytest.fixture
def server(postgres_server: PostgresServer) -> PostgresServer:
    return postgres_server


@pytest.fixture
def empty_url(server: PostgresServer) -> Iterator[str]:
    """A database with no TokenDesk schema, as an admin creates one for the team."""
    name = server.empty_database()
    yield server.url(name)
    server.drop(name)


@pytest.fixture
def database(server: PostgresServer) -> Iterator[PostgresDatabase]:
    name = server.new_database()
    registry = open_postgres(server.url(name))
    yield registry
    registry.close()
    server.drop(name)


def wait_until(condition: object, what: str) -> None:
    """Wait for *condition* (a callable) to hold; fail after a minute, which only a hang takes."""
    assert callable(condition)
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for {what}")
        time.sleep(0.02)


def waiting_for_lock(url: str, key: int) -> int:
    """How many sessions wait for the advisory lock *key*."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (key,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_new_database_is_made_at_the_current_schema_and_stamped(empty_url: str) -> None:
    database = open_registry(empty_url)
    try:
        assert isinstance(database, PostgresDatabase)
        assert user_version(database) == SCHEMA_VERSION
        assert database.rows("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        tables = {name for (name,) in database.rows("SELECT tablename FROM pg_tables")}
        assert {"token", "intent", "change_log", "audit_event", "previous_secret"} <= tables
    finally:
        database.close()
    again = open_registry(empty_url)  # opening again changes nothing
    try:
        assert again.rows("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    finally:
        again.close()


def test_two_processes_opening_a_new_database_at_once_make_its_schema_once(
    empty_url: str,
) -> None:
    """Both wait for the migration lock (held here until both are queued); the first makes the
    schema, the second finds it made. One version row, one "made" line."""
    with psycopg.connect(empty_url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        openers = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, empty_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            wait_until(
                lambda: waiting_for_lock(empty_url, MIGRATION_LOCK) == 2,
                "both processes to wait for the migration lock",
            )
        finally:
            holder.rollback()
        outputs = [opener.communicate(timeout=120) for opener in openers]
    assert [opener.returncode for opener in openers] == [0, 0], outputs
    made = [out for out, _ in outputs if f"made at schema version {SCHEMA_VERSION}" in out]
    assert len(made) == 1, outputs
    database = open_registry(empty_url)
    try:
        assert database.rows("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    finally:
        database.close()


def test_a_database_newer_than_the_code_is_refused(database: PostgresDatabase) -> None:
    with database.transaction():
        database.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNew, match=rf"schema version {SCHEMA_VERSION + 1}, but"):
        open_registry(database.url)
    assert database.first("SELECT version FROM schema_version") == (SCHEMA_VERSION + 1,)


def test_a_database_holding_other_tables_is_not_taken_for_a_registry(empty_url: str) -> None:
    with psycopg.connect(empty_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE token (id integer)")
    with pytest.raises(DatabaseError, match="not a TokenDesk registry"):
        open_registry(empty_url)


def test_writers_wait_for_each_other(database: PostgresDatabase) -> None:
    """A write transaction takes the writers' lock first, as SQLite's BEGIN IMMEDIATE does."""
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with database.connection(), database.transaction():
            entered.set()
            release.wait(60)
            order.append("first")

    def second() -> None:
        entered.wait(60)
        with database.connection(), database.transaction():
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    wait_until(lambda: waiting_for_lock(database.url, WRITE_LOCK) == 1, "the second writer")
    release.set()
    for thread in threads:
        thread.join()
    assert order == ["first", "second"]


def test_a_snapshot_keeps_its_state_while_others_commit(
    database: PostgresDatabase,
) -> None:
    other = open_registry(database.url)
    insert = (
        "INSERT INTO environment (name, name_key, api_enabled, created_at) "
        "VALUES ('Elsewhere', 'elsewhere', ?, '2026-01-01 00:00:00')"
    )
    try:
        with database.snapshot():
            before = database.rows("SELECT name FROM environment")
            with database.snapshot():  # nested: the same state
                with other.transaction():
                    other.execute(insert, (True,))
                assert database.rows("SELECT name FROM environment") == before
        assert ("Elsewhere",) in database.rows("SELECT name FROM environment")
    finally:
        other.close()


def test_a_raw_read_inside_a_model_transaction_sees_its_uncommitted_write(
    database: PostgresDatabase,
) -> None:
    context = open_context(Path("/nonexistent"), store=InMemorySecretStore(), database=database.url)
    try:
        with context.database.transaction():
            context.service.add_environment("Uncommitted", api_enabled=True)
            assert ("Uncommitted",) in context.database.rows("SELECT name FROM environment")
            assert database.rows("SELECT name FROM environment") == []
    finally:
        context.close()


def test_data_version_moves_when_another_connection_commits(database: PostgresDatabase) -> None:
    before = queries.data_version(database)
    other = open_registry(database.url)
    try:
        with other.transaction():
            other.execute(
                "INSERT INTO environment (name, name_key, api_enabled, created_at) "
                "VALUES ('Elsewhere', 'elsewhere', ?, '2026-01-01 00:00:00')",
                (True,),
            )
    finally:
        other.close()
    assert queries.data_version(database) != before


def test_sql_is_written_once_in_sqlite_dialect() -> None:
    assert postgres_sql("SELECT 1 FROM token WHERE +phase = ? AND id IN (?, ?)") == (
        "SELECT 1 FROM token WHERE phase = %s AND id IN (%s, %s)"
    )
    assert postgres_sql("SELECT CAST(strftime('%s', MAX(p.valid_until)) AS INTEGER)") == (
        "SELECT CAST(FLOOR(EXTRACT(EPOCH FROM MAX(p.valid_until))) AS BIGINT)"
    )
    assert postgres_sql("ORDER BY a.name COLLATE NOCASE DESC") == (
        "ORDER BY translate(a.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
        "'abcdefghijklmnopqrstuvwxyz') COLLATE \"C\" DESC"
    )
    assert postgres_sql("SELECT 'a%b'") == "SELECT 'a%%b'"


# ----------------------------------------------------------------- naming and failing


def test_the_registry_is_named_without_its_password() -> None:
    url = "postgresql://alice:hunter2@db.example:6543/tokens?sslmode=require"
    assert registry_name(url) == "PostgreSQL alice@db.example:6543/tokens"
    assert registry_name("postgresql://bob@db/team") == "PostgreSQL bob@db:5432/team"


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "hunter2" not in text
    return text


def test_a_server_that_is_not_running_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://alice:hunter2@/tokens?host={tmp_path}&port=5999"
    with pytest.raises(DatabaseUnavailable) as raised:
        open_registry(url)
    text = one_line(raised.value)
    assert text.startswith(f"cannot reach PostgreSQL alice@{tmp_path}:5999/tokens (")
    assert "is the server running" in text


def test_a_missing_database_is_one_line(server: PostgresServer) -> None:
    url = server.url("nowhere").replace("postgres@", "postgres:hunter2@")
    with pytest.raises(DatabaseUnavailable) as raised:
        open_registry(url)
    text = one_line(raised.value)
    where = f"PostgreSQL postgres@{server.socket_dir}:{server.port}/nowhere"
    assert text.startswith(f"{where} does not exist")


def test_an_unknown_role_is_a_refused_login(server: PostgresServer) -> None:
    url = server.url("postgres").replace("postgres@", "mallory:hunter2@")
    with pytest.raises(DatabaseUnavailable) as raised:
        open_registry(url)
    text = one_line(raised.value)
    where = f"PostgreSQL mallory@{server.socket_dir}:{server.port}/postgres"
    assert text.startswith(f"{where} refused the login")
    assert "PGPASSWORD or ~/.pgpass" in text


def test_a_wrong_password_is_a_refused_login(
    server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through libpq's own settings: the password comes from PGPASSWORD, never the URL."""
    server.admin(
        "DO $$ BEGIN CREATE ROLE alice LOGIN PASSWORD 'right'; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    url = server.loopback_url("alice", "hunter2").replace(":hunter2@", "@")
    monkeypatch.setenv("PGPASSWORD", "hunter2")
    with pytest.raises(DatabaseUnavailable) as raised:
        open_registry(url)
    text = one_line(raised.value)
    assert text.startswith(f"PostgreSQL alice@127.0.0.1:{server.port}/postgres refused the login")


def test_an_error_after_connecting_keeps_the_registry_name(database: PostgresDatabase) -> None:
    with pytest.raises(DatabaseError) as raised:
        database.rows("SELECT * FROM nowhere")
    assert "nowhere" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://alice:hunter2@[::1/tokens",
        "postgresql://alice:hun ter2@db/tokens",
        "postgresql://alice:hunter2@db/tokens?bogus=1",
    ],
)
def test_a_url_postgresql_cannot_read_is_one_line_without_its_password(url: str) -> None:
    """libpq quotes what it could not parse: the URL and the password are blanked out."""
    with pytest.raises(DatabaseError) as raised:
        open_registry(url)
    text = one_line(raised.value)
    assert "the URL is not one PostgreSQL can use" in text and "ter2" not in text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
