"""The change log: every committed change names what it touched, from this process or any
other, so a window showing many tokens reads only those rows again."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import peewee as pw

from desktop.app import Context
from desktop.services.tokens import TokenService
from desktop.services.views import Changes
from desktop.storage.database import DB_FILENAME, MIGRATIONS, SCHEMA_VERSION, open_database

ROOT = Path(__file__).resolve().parents[2]


def seeded(service: TokenService) -> TokenService:
    service.add_environment("Production")
    service.add_environment("Staging")
    service.add_role("Reader", ["GET /Loans"])
    service.add_role("Writer", ["POST /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service


def test_token_changes_name_the_token_and_nothing_else(context: Context) -> None:
    service = seeded(context.service)
    cursor = service.change_cursor()
    first = service.create_token("Production", "alice", label="one").token.id
    second = service.create_token("Production", "alice", label="two").token.id
    changes = service.changes_since(cursor)
    assert changes.tokens == {first, second}
    assert changes.complete and not changes.names and not changes.directory

    cursor = changes.cursor
    service.set_status(first, False)
    service.set_label(second, "renamed")
    changes = service.changes_since(cursor)
    assert changes.tokens == {first, second}
    rows = {row.id: row for row in service.token_rows(changes.tokens)}
    assert rows[first].active == 0
    assert rows[second].label == "renamed"

    cursor = changes.cursor
    refreshed = service.refresh(second)
    service.delete(first)
    changes = service.changes_since(cursor)
    assert changes.tokens == {first, second}
    # A deleted token has no row any more: the reader drops it.
    assert [row.id for row in service.token_rows(changes.tokens)] == [second]
    assert service.token_rows([second])[0].hint == refreshed.token.hint


def test_nothing_new_is_reported_as_nothing(context: Context) -> None:
    service = seeded(context.service)
    token = service.create_token("Production", "alice").token.id
    cursor = service.change_cursor()
    service.set_status(token, True)  # already active: no write
    assert service.changes_since(cursor) == Changes(cursor)


def test_directory_and_name_changes_are_told_apart(context: Context) -> None:
    service = seeded(context.service)
    cursor = service.change_cursor()
    service.set_api_enabled("Staging", False)
    service.set_role_permissions("Reader", ["GET /Loans", "GET /Customers"])
    service.add_agent("bob", "Writer")
    changes = service.changes_since(cursor)
    assert changes.directory and not changes.names and not changes.tokens

    changes = service.changes_since(changes.cursor)
    assert changes == Changes(changes.cursor)
    service.update_agent("alice", role="Writer")  # every token of alice shows a new role
    changes = service.changes_since(changes.cursor)
    assert changes.names


def test_a_change_by_another_process_is_logged(context: Context) -> None:
    service = seeded(context.service)
    token = service.create_token("Production", "alice").token.id
    cursor = service.change_cursor()
    script = (
        "import sys; from pathlib import Path; from desktop.app import open_context; "
        "ctx = open_context(Path(sys.argv[1]), need_keyring=False); "
        "ctx.service.set_label(int(sys.argv[2]), 'from elsewhere'); ctx.close()"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(context.data_dir), str(token)],
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    changes = service.changes_since(cursor)
    assert changes.tokens == {token} and changes.complete
    assert service.token_rows([token])[0].label == "from elsewhere"


def test_a_reader_behind_the_pruned_log_is_told_to_read_everything(context: Context) -> None:
    service = seeded(context.service)
    behind = service.change_cursor()
    tokens = [service.create_token("Production", "alice").token.id for _ in range(4)]
    current = service.change_cursor()
    service.set_label(tokens[0], "after")
    service.prune_changes(keep=1)

    stale = service.changes_since(behind)
    assert not stale.complete
    assert stale.cursor == service.change_cursor()
    fresh = service.changes_since(current)
    assert fresh.complete and fresh.tokens == {tokens[0]}
    # Pruning everything still leaves the newest id known: a gap is a gap.
    service.prune_changes(keep=0)
    assert not service.changes_since(behind).complete
    assert service.changes_since(service.change_cursor()).complete


def test_the_table_snapshot_and_its_cursor_agree(context: Context) -> None:
    service = seeded(context.service)
    production = service.create_token("Production", "alice").token.id
    staging = service.create_token("Staging", "alice").token.id
    cursor, names, rows = service.token_table("Production")
    assert [row.id for row in rows] == [production]
    assert names.environment(rows[0]) == "Production"
    assert names.agent(rows[0]) == "alice" and names.role(rows[0]) == "Reader"
    assert cursor == service.change_cursor()
    _, _, every = service.token_table()
    assert [row.id for row in every] == [production, staging]


def test_rows_and_records_agree(context: Context) -> None:
    """The fast row read and the full record describe the same token."""
    service = seeded(context.service)
    service.create_token("Production", "alice", label="a", rotation="weekly", grace="2h")
    service.create_token("Staging", "alice", label="b")
    _, names, rows = service.token_table()
    from desktop.services.views import token_view

    for row in rows:
        view = token_view(row, names)
        record = service.token(row.id)
        assert view.id == record.id and view.label == record.label
        assert (view.environment, view.agent, view.role) == (
            record.environment,
            record.agent,
            record.role,
        )
        assert view.hint == record.hint and view.status == record.status
        assert view.rotation_interval == record.rotation_interval
        assert view.grace == record.grace
        for mine, theirs in (
            (view.created_at, record.created_at),
            (view.next_rotation_at, record.next_rotation_at),
        ):
            assert (mine is None) == (theirs is None)
            if mine is not None and theirs is not None:
                assert abs((mine - theirs).total_seconds()) < 1


def test_a_version_2_database_gains_the_log_and_keeps_its_tokens(tmp_path: Path) -> None:
    path = tmp_path / DB_FILENAME
    old = pw.SqliteDatabase(str(path))
    old.connect()
    # Build schema version 2 exactly as that release did.
    from desktop.storage.models import ALL_MODELS

    with old.bind_ctx(ALL_MODELS):
        for version, step in enumerate(MIGRATIONS[:2]):
            step(old)
            old.execute_sql(f"PRAGMA user_version = {version + 1}")
    old.close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == 2
    connection.close()

    database = open_database(path)
    assert database.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    assert (tmp_path / f"{DB_FILENAME}.v2.bak").exists()
    service = TokenService(database, None)
    service.add_environment("Production")
    assert service.changes_since(0).directory
