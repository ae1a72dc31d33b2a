"""Opening the database: durable settings, schema versions, one connection per thread, and the
driver's errors turned into the project's own."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import peewee as pw
import pytest

from desktop.app import Context, open_context
from desktop.domain import tokens
from desktop.domain.errors import DatabaseError, DatabaseUnavailable, RuleViolation, SchemaTooNew
from desktop.secrets.memory import InMemorySecretStore
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
from tests.helpers.clock import FakeClock


def test_database_newer_than_the_code_is_refused(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(SchemaTooNew, match="newer TokenDesk"):
        open_context(data_dir, need_keyring=False)


@pytest.mark.sqlite_only
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


@pytest.mark.sqlite_only
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
    assert database.first("SELECT 1 WHERE 1 = 0") is None
    assert database.rows("SELECT 1 UNION ALL SELECT 2") == [(1,), (2,)]
    with pytest.raises(DatabaseError, match=r"no such table|does not exist"):
        database.rows("SELECT * FROM nowhere")


def test_a_transaction_commits_or_rolls_back_as_a_whole(memory_context: Context) -> None:
    database = memory_context.database
    sql = (
        "INSERT INTO environment (name, name_key, api_enabled, created_at) "
        "VALUES (?, ?, ?, '2026-01-01')"
    )

    def doomed() -> None:
        with database.transaction():
            database.execute(sql, ("Gone", "gone", True))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        doomed()
    with database.transaction():
        database.execute(sql, ("Kept", "kept", True))
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
    service.add_environment("Production", api_enabled=True)
    assert service.changes_since(0).directory


def test_a_version_3_database_gains_the_agents_disabled_flag(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    version_3_database(path, [])  # one agent, "a", eligible
    database = open_database(path)
    try:
        assert user_version(database) == SCHEMA_VERSION
        service = TokenService(database, None)
        agent = service.agent("a")
        assert (agent.disabled, agent.eligible) == (False, True)
        assert service.set_agent_disabled("A", True).disabled
    finally:
        database.close()


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


@pytest.mark.sqlite_only  # PostgreSQL's: tests/unit/storage/test_postgres.py
def test_a_raw_read_inside_a_model_transaction_sees_its_uncommitted_write(
    memory_context: Context,
) -> None:
    """Raw reads and model writes share the thread's connection, hence its transaction."""
    database = memory_context.database
    service = memory_context.service
    outside = sqlite3.connect(database.path)
    try:
        with database.transaction():
            service.add_environment("Uncommitted", api_enabled=True)
            assert ("Uncommitted",) in database.rows("SELECT name FROM environment")
            assert not outside.execute(
                "SELECT 1 FROM environment WHERE name = 'Uncommitted'"
            ).fetchall()
    finally:
        outside.close()
    assert ("Uncommitted",) in database.rows("SELECT name FROM environment")


@pytest.mark.sqlite_only  # PostgreSQL's: tests/unit/storage/test_postgres.py
def test_a_snapshot_keeps_its_state_while_others_commit(memory_context: Context) -> None:
    database = memory_context.database
    other = open_database(Path(database.path))
    try:
        with database.snapshot():
            before = database.rows("SELECT name FROM environment")
            with database.snapshot():  # nested: the same state
                other.execute(
                    "INSERT INTO environment (name, name_key, api_enabled, created_at) "
                    "VALUES ('Elsewhere', 'elsewhere', 1, '2026-01-01 00:00:00')"
                )
                assert database.rows("SELECT name FROM environment") == before
        assert ("Elsewhere",) in database.rows("SELECT name FROM environment")
    finally:
        other.close()


@pytest.mark.sqlite_only
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


def in_a_new_thread(database: Database) -> int | DatabaseError:
    """The schema version as a thread that has no connection yet reads it, or what it raised."""
    outcome: list[int | DatabaseError] = []

    def work() -> None:
        try:
            with database.connection():
                outcome.append(user_version(database))
        except DatabaseError as error:
            outcome.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    (result,) = outcome
    return result


@pytest.mark.parametrize("folder", ["data", "a b?c#d%41&mode=rwc"])
def test_a_database_moved_away_is_gone_and_never_made_again(tmp_path: Path, folder: str) -> None:
    """Only opening makes a database: a thread's connection opened after the file was moved
    (or deleted) says it is gone, rather than make an empty file that the next start would take
    for a new database. Whatever the folder's name holds: spaces, ``?``, ``#``, ``%``."""
    path = tmp_path / folder / DB_FILENAME
    database = open_database(path)
    try:
        assert in_a_new_thread(database) == SCHEMA_VERSION
        assert sorted(item.name for item in tmp_path.iterdir()) == [folder]  # nothing beside
        path.rename(tmp_path / "moved-aside.sqlite3")

        gone = in_a_new_thread(database)
        assert isinstance(gone, DatabaseUnavailable)
        assert str(gone).startswith(f"the database {path} is gone: ")
        assert "\n" not in str(gone)
        assert not path.exists()
        assert user_version(database) == SCHEMA_VERSION  # this thread's connection reads on
    finally:
        database.close()
    assert not path.exists()


@pytest.mark.sqlite_only
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


SCHEMA_V3 = Path(__file__).with_name("schema_v3.sql")


Statement = tuple[str, tuple[object, ...]]


def version_3_database(path: Path, rows: list[Statement]) -> None:
    """A database exactly as schema version 3 made it, holding *rows*."""
    connection = sqlite3.connect(path)
    with connection:
        connection.executescript(SCHEMA_V3.read_text(encoding="utf-8"))
        connection.execute(
            "INSERT INTO environment (name, api_enabled, created_at) VALUES ('P', 1, '2026-01-01')"
        )
        connection.execute("INSERT INTO role (name, created_at) VALUES ('R', '2026-01-01')")
        connection.execute(
            "INSERT INTO role_permission (role_id, method, endpoint) VALUES (1, '*', '/Loans')"
        )
        connection.execute(
            "INSERT INTO agent (name, role_id, has_logged_in, signed_agreement, created_at) "
            "VALUES ('a', 1, 1, 1, '2026-01-01')"
        )
        for sql, params in rows:
            connection.execute(sql, params)
    connection.execute("PRAGMA user_version = 3")
    connection.close()


def _as_version_3(path: Path, names: dict[str, dict[int, str]]) -> None:
    """Make the database at *path* what schema version 3 held: no name keys, and names it
    allowed (only ASCII letters folded, special spaces let through), set by table and id."""
    connection = sqlite3.connect(path)
    with connection:
        for table, renamed in names.items():
            connection.execute(f'DROP INDEX "{table}_name_key"')
            connection.execute(f'ALTER TABLE "{table}" DROP COLUMN "name_key"')
            for row_id, name in renamed.items():
                connection.execute(
                    f'UPDATE "{table}" SET name = ? WHERE id = ?',  # noqa: S608
                    (name, row_id),
                )
    connection.execute("PRAGMA user_version = 3")
    connection.close()


def v3_token(uuid: str, fingerprint: str, previous: str | None, until: str | None) -> Statement:
    """A version-3 token row, with its one previous secret, if any."""
    sql = (
        "INSERT INTO token (uuid, environment_id, agent_id, label, status, phase, generation, "
        "fingerprint, hint, grace_seconds, previous_fingerprint, grace_until, created_at, "
        "updated_at) VALUES (?, 1, 1, '', 'Active', 'ready', 1, ?, 'abcd', 3600, ?, ?, "
        "'2026-01-01', '2026-01-01')"
    )
    return sql, (uuid, fingerprint, previous, until)


def test_a_version_3_database_keeps_its_previous_secrets_as_rows(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    current, previous = tokens.generate(), tokens.generate()
    version_3_database(
        path,
        [
            v3_token(
                "u1",
                tokens.fingerprint(current),
                tokens.fingerprint(previous),
                "2026-01-05 10:00:00",
            ),
            v3_token("u2", "f2", None, None),
        ],
    )
    database = open_database(path)
    try:
        assert user_version(database) == SCHEMA_VERSION
        assert (tmp_path / f"{DB_FILENAME}.v3.bak").exists()
        columns = {row[1] for row in database.rows("PRAGMA table_info(token)")}
        assert not columns & {"previous_fingerprint", "grace_until"}
        assert database.rows("SELECT token_id, fingerprint, valid_until FROM previous_secret") == [
            (1, tokens.fingerprint(previous), "2026-01-05 10:00:00")
        ]
        assert "previous_secret_fingerprint" in {
            name for (name,) in database.rows("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        clock = FakeClock(datetime(2026, 1, 5, 9, 59, 59, tzinfo=UTC))
        service = TokenService(database, None, clock=clock)
        assert service.verify("P", previous, "GET", "/Loans").status == 200
        assert service.verify("P", current, "GET", "/Loans").status == 200
        assert service.token(1).grace_until == datetime(2026, 1, 5, 10, tzinfo=UTC)
        clock.advance(timedelta(seconds=1))
        assert service.verify("P", previous, "GET", "/Loans").status == 401
    finally:
        database.close()


def test_a_version_3_journal_keeps_its_intents_without_a_start_time(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    intent = (
        "INSERT INTO intent (token_id, kind, from_generation, to_generation, grace_seconds, "
        "action, actor, owner_pid, created_at) VALUES (1, 'delete', 1, 1, 0, 'delete', 'cli', "
        "4242, '2026-01-01')",
        (),
    )
    version_3_database(path, [v3_token("u1", "f1", None, None), intent])
    database = open_database(path)
    try:
        assert database.rows("SELECT token_id, owner_pid, owner_started FROM intent") == [
            (1, 4242, None)
        ]
    finally:
        database.close()


def test_a_version_1_journal_without_the_later_columns_migrates(tmp_path: Path) -> None:
    """Step 2 rebuilds the journal from today's model: it copies the columns the old table
    has, and the ones added since start empty."""
    path = tmp_path / DB_FILENAME
    version_3_database(path, [v3_token("u1", "f1", None, None)])
    connection = sqlite3.connect(path)
    with connection:
        (ddl,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'intent'"
        ).fetchone()
        connection.execute("DROP TABLE intent")
        connection.execute(ddl.replace("AUTOINCREMENT", ""))
        connection.execute(
            "INSERT INTO intent (id, token_id, kind, from_generation, to_generation, "
            "grace_seconds, action, actor, owner_pid, created_at) VALUES (7, 1, 'delete', 1, 1, "
            "0, 'delete', 'cli', 4242, '2026-01-01')"
        )
    connection.execute("PRAGMA user_version = 1")
    connection.close()
    database = open_database(path)
    try:
        assert database.rows("SELECT id, owner_pid, owner_started FROM intent") == [(7, 4242, None)]
    finally:
        database.close()


def test_a_version_3_database_gains_token_expiry_and_its_tokens_never_expire(
    tmp_path: Path,
) -> None:
    path = tmp_path / DB_FILENAME
    secret = tokens.generate()
    version_3_database(path, [v3_token("u1", tokens.fingerprint(secret), None, None)])
    database = open_database(path)
    try:
        assert user_version(database) == SCHEMA_VERSION >= 8
        assert database.rows("SELECT id, expires_at FROM token") == [(1, None)]
        clock = FakeClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
        service = TokenService(database, None, clock=clock)
        assert service.token(1).expires_at is None
        assert service.verify("P", secret, "GET", "/Loans").allowed
        service.set_expiry(1, clock.now() + timedelta(hours=1))
        clock.advance(timedelta(hours=1))
        assert service.verify("P", secret, "GET", "/Loans").reason == "token expired"
    finally:
        database.close()


def test_a_new_database_is_the_same_as_a_migrated_one(tmp_path: Path) -> None:
    """Step 1 makes the current models; the later steps then change nothing."""
    version_3_database(tmp_path / "old.sqlite3", [])
    old, new = open_database(tmp_path / "old.sqlite3"), open_database(tmp_path / "new.sqlite3")
    try:
        sql = "SELECT type, name, sql FROM sqlite_master WHERE name != 'sqlite_sequence'"
        assert sorted(old.rows(sql + " AND type != 'table'")) == sorted(
            new.rows(sql + " AND type != 'table'")
        )
        for (table,) in new.rows("SELECT name FROM sqlite_master WHERE type = 'table'"):
            # Columns, their foreign keys (a lost ON DELETE CASCADE shows here) and indexes.
            for pragma in ("table_info", "foreign_key_list", "index_list"):
                info = f"PRAGMA {pragma}({table})"
                assert sorted(old.rows(info)) == sorted(new.rows(info)), (table, pragma)
    finally:
        old.close()
        new.close()


@pytest.mark.expect_log("renamed", level="WARNING", logger="desktop.storage")
def test_names_stored_before_that_read_alike_are_told_apart_on_upgrade(
    data_dir: Path, memory_store: InMemorySecretStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Three environments that all read "Prod uction" and two agents that differ only in case
    beyond ASCII: the database opens, each keeps its tokens, and each name is its own."""
    context = open_context(data_dir, store=memory_store)
    service = context.service
    issued = []
    for name in ("Prod uction", "Prod two", "Prod three"):
        service.add_environment(name, api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    for name in ("Straße", "Strasse two"):
        service.add_agent(name, "Reader", has_logged_in=True, signed_agreement=True)
    for env, agent in (
        ("Prod uction", "Straße"),
        ("Prod two", "Strasse two"),
        ("Prod three", "Straße"),
    ):
        issued.append(service.create_token(env, agent).secret)
    context.close()
    path = data_dir / DB_FILENAME
    _as_version_3(
        path,
        {
            "environment": {2: "Prod\u00a0uction", 3: "Prod\u202fuction"},
            "role": {},
            "agent": {2: "STRASSE"},
        },
    )

    context = open_context(data_dir, store=memory_store)
    try:
        service = context.service
        assert user_version(context.database) == SCHEMA_VERSION
        assert (data_dir / f"{DB_FILENAME}.v3.bak").exists()
        assert [env.name for env in service.environments()] == [
            "Prod uction",
            "Prod uction (2)",
            "Prod uction (3)",
        ]
        assert sorted(agent.name for agent in service.agents()) == ["STRASSE (2)", "Straße"]
        for env, secret in zip(
            ("Prod uction", "Prod uction (2)", "Prod uction (3)"), issued, strict=True
        ):
            assert service.verify(env, secret, "GET", "/Loans").allowed
        assert [token.agent for token in service.tokens()] == ["Straße", "STRASSE (2)", "Straße"]
        renames = [(e.actor, e.action, e.details) for e in service.audit() if "rename" in e.action]
        assert (
            "upgrade",
            "env-rename",
            "environment 'Prod<U+00A0>uction' renamed 'Prod uction (2)' on upgrade: names that "
            "differ only in case, spaces, invisible characters or how their letters are "
            "encoded are one name",
        ) in renames
        assert {action for _, action, _ in renames} == {"env-rename", "agent-rename"}
        assert len(renames) == 3
        assert "renamed 'STRASSE (2)'" in caplog.text
        with pytest.raises(RuleViolation, match="an environment named 'Prod uction'"):
            service.add_environment("PROD UCTION")
        service.add_agent("strasse three", "Reader")  # a name of its own is still free
    finally:
        context.close()


def test_a_version_3_database_with_no_clash_keeps_every_name(
    data_dir: Path, memory_store: InMemorySecretStore
) -> None:
    context = open_context(data_dir, store=memory_store)
    context.service.add_environment("Production")
    context.service.add_role("Reader", [])
    context.service.add_agent("Zoë", "Reader")
    context.close()
    _as_version_3(data_dir / DB_FILENAME, {"environment": {}, "role": {}, "agent": {}})

    context = open_context(data_dir, store=memory_store)
    try:
        assert context.service.agent("ZOË").name == "Zoë"
        assert [e.action for e in context.service.audit() if "rename" in e.action] == []
        assert context.database.rows(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%name_key'"
            " ORDER BY name"
        ) == [("agent_name_key",), ("environment_name_key",), ("role_name_key",)]
    finally:
        context.close()
