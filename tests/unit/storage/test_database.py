"""Opening the database: durable settings, schema versions, one connection per thread, and the
driver's errors turned into the project's own."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import peewee as pw
import pytest

from desktop.app import Context, open_context
from desktop.domain.errors import DatabaseError, DatabaseUnavailable, SchemaTooNew
from desktop.services.tokens import TokenService
from desktop.storage.database import (
    DB_FILENAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    Database,
    open_database,
    quick_check,
    user_version,
)


def test_database_newer_than_the_code_is_refused(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(SchemaTooNew, match="newer TokenDesk"):
        open_context(data_dir, need_keyring=False)


def test_database_is_durable_and_versioned(memory_context: Context) -> None:
    database = memory_context.database
    assert database.first("PRAGMA journal_mode") == ("wal",)
    assert database.first("PRAGMA synchronous") == (2,)
    assert database.first("PRAGMA foreign_keys") == (1,)
    assert database.first("PRAGMA user_version") == (SCHEMA_VERSION,)


def test_a_file_that_is_not_a_database_raises_the_projects_error(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    path.write_bytes(b"this is not SQLite " * 100)
    with pytest.raises(DatabaseError, match="is damaged or not a TokenDesk database"):
        open_database(path)


def test_a_database_locked_too_long_is_unavailable(memory_context: Context) -> None:
    database = memory_context.database
    path = database.handle.database
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        database.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(DatabaseUnavailable, match="locked"), database.transaction():
            pass
    finally:
        holder.rollback()
        holder.close()
        database.execute("PRAGMA busy_timeout = 10000")


def test_statements_and_rows(memory_context: Context) -> None:
    database = memory_context.database
    assert database.first("SELECT 1, 'a'") == (1, "a")
    assert database.first("SELECT 1 WHERE 0") is None
    assert database.rows("SELECT 1 UNION ALL SELECT 2") == [(1,), (2,)]
    with pytest.raises(DatabaseError, match="no such table"):
        database.rows("SELECT * FROM nowhere")


def test_a_transaction_commits_or_rolls_back_as_a_whole(memory_context: Context) -> None:
    database = memory_context.database
    sql = "INSERT INTO environment (name, api_enabled, created_at) VALUES (?, 1, '2026-01-01')"

    def doomed() -> None:
        with database.transaction():
            database.execute(sql, ("Gone",))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        doomed()
    with database.transaction():
        database.execute(sql, ("Kept",))
    with database.snapshot():
        assert database.rows("SELECT name FROM environment") == [("Kept",)]


def test_connection_is_per_thread_and_closed_after(memory_context: Context) -> None:
    database = memory_context.database
    states: list[bool] = []

    def work() -> None:
        states.append(database.handle.is_closed())
        with database.connection():
            states.append(database.handle.is_closed())
        states.append(database.handle.is_closed())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert states == [True, False, True]
    assert not database.handle.is_closed()  # this thread's connection is untouched


def test_a_version_2_database_gains_the_log_and_keeps_its_tokens(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    old = pw.SqliteDatabase(str(path))
    old.connect()
    # Build schema version 2 exactly as that release did.
    for version, step in enumerate(MIGRATIONS[:2]):
        step(old)
        old.execute_sql(f"PRAGMA user_version = {version + 1}")
    old.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    connection.close()

    database = open_database(path)
    assert database.first("PRAGMA user_version") == (SCHEMA_VERSION,)
    assert SCHEMA_VERSION >= 3
    assert (tmp_path / f"{DB_FILENAME}.v2.bak").exists()
    service = TokenService(database, None)
    service.add_environment("Production")
    assert service.changes_since(0).directory


def test_the_self_tests_probes_speak_the_projects_errors(
    memory_context: Context, tmp_path: Path
) -> None:
    database = memory_context.database
    assert user_version(database) == SCHEMA_VERSION
    assert quick_check(database) == "ok"
    never_opened = Database(tmp_path / "missing" / DB_FILENAME)  # every statement fails
    with pytest.raises(DatabaseError, match=r"the folder .*missing does not exist"):
        quick_check(never_opened)
    with pytest.raises(DatabaseError, match=r"the folder .*missing does not exist"):
        user_version(never_opened)


def test_each_open_is_a_database_of_its_own(tmp_path: Path) -> None:
    """Two files open at once in one process: neither open touches the other's."""
    first = open_database(tmp_path / "a" / DB_FILENAME)
    second = open_database(tmp_path / "b" / DB_FILENAME)
    try:
        assert first is not second and first.handle is not second.handle
        first.execute("PRAGMA user_version = 99")
        assert second.first("PRAGMA user_version") == (SCHEMA_VERSION,)
        assert first.first("PRAGMA user_version") == (99,)
    finally:
        first.close()
        second.close()
    assert first.handle.is_closed() and second.handle.is_closed()


def test_closing_speaks_the_projects_errors(
    memory_context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What closes a database (a context, the self-test) catches DatabaseError alone."""

    def busy() -> bool:
        raise pw.OperationalError("unable to close due to unfinalized statements")

    monkeypatch.setattr(memory_context.database.handle, "close", busy)
    with pytest.raises(DatabaseError, match="unfinalized"):
        memory_context.close()
    monkeypatch.undo()


def test_a_raw_read_inside_a_model_transaction_sees_its_uncommitted_write(
    memory_context: Context,
) -> None:
    """Raw reads and model writes share the thread's connection, hence its transaction."""
    database = memory_context.database
    service = memory_context.service
    outside = sqlite3.connect(database.path)
    try:
        with database.transaction():
            service.add_environment("Uncommitted")
            assert ("Uncommitted",) in database.rows("SELECT name FROM environment")
            assert not outside.execute(
                "SELECT 1 FROM environment WHERE name = 'Uncommitted'"
            ).fetchall()
    finally:
        outside.close()
    assert ("Uncommitted",) in database.rows("SELECT name FROM environment")


def test_a_snapshot_keeps_its_state_while_others_commit(memory_context: Context) -> None:
    database = memory_context.database
    other = open_database(Path(database.path))
    try:
        with database.snapshot():
            before = database.rows("SELECT name FROM environment")
            with database.snapshot():  # nested: the same state
                other.execute(
                    "INSERT INTO environment (name, api_enabled, created_at) "
                    "VALUES ('Elsewhere', 1, '2026-01-01 00:00:00')"
                )
                assert database.rows("SELECT name FROM environment") == before
        assert ("Elsewhere",) in database.rows("SELECT name FROM environment")
    finally:
        other.close()


def test_each_thread_has_a_connection_of_its_own(memory_context: Context) -> None:
    database = memory_context.database
    mine = database._thread_connection()
    theirs: list[sqlite3.Connection] = []

    def work() -> None:
        with database.connection():
            theirs.append(database._thread_connection())
            assert database.first("PRAGMA foreign_keys") == (1,)
            assert database.first("PRAGMA journal_mode") == ("wal",)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert len(theirs) == 1 and theirs[0] is not mine
    with pytest.raises(sqlite3.ProgrammingError):  # closed as the block ended
        theirs[0].execute("SELECT 1")
    assert database._thread_connection() is mine


def test_closing_closes_the_connection_the_handle_shares(memory_context: Context) -> None:
    database = memory_context.database
    connection = database._thread_connection()
    assert not database.handle.is_closed()
    database.handle.execute_sql("SELECT 1")  # Peewee runs on the same connection
    assert database.handle.connection() is connection
    database.close()
    assert database.handle.is_closed()
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")
    assert database.first("SELECT 1") == (1,)  # a later read opens a new one
    assert database._thread_connection() is not connection
    database.handle.close()  # through the handle: the same one place
    assert database.handle.is_closed() and not database._is_open()


def test_a_current_database_opens_and_reads_without_peewee(tmp_path: Path) -> None:
    """Opening a database at this schema version, reading it raw, finding nothing to recover
    and failing a statement import no Peewee (the window paints its first screen so)."""
    path = tmp_path / DB_FILENAME
    open_database(path).close()
    script = (
        "import sys; from pathlib import Path\n"
        "from desktop.domain.errors import DatabaseError\n"
        "from desktop.services.tokens import TokenService\n"
        "from desktop.storage.database import open_database\n"
        "database = open_database(Path(sys.argv[1]))\n"
        "service = TokenService(database, None)\n"
        "assert service.reconcile().waiting == ()\n"
        "assert service.environments(counted=True) == []\n"
        "try:\n"
        "    database.rows('SELECT * FROM no_such_table')\n"
        "except DatabaseError as error:\n"
        "    assert 'no_such_table' in str(error)\n"
        "else:\n"
        "    raise AssertionError('not translated')\n"
        "database.close()\n"
        "print('peewee' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == ["False"]
