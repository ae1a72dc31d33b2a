"""What the window reads: the table in one snapshot, its first page in every order, counts,
the change log and the audit log."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest

from desktop.app import Context
from desktop.domain.errors import NotFound
from desktop.domain.table import Column
from desktop.services.tokens import TokenService
from desktop.services.views import Changes, token_view
from desktop.storage.database import DB_FILENAME
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_alice

WAIT_S = 30  # generous: what must happen, never how fast


@pytest.fixture
def three(service: TokenService, clock: FakeClock) -> list[int]:
    """Three tokens, created an hour apart: two in Production, one in Staging."""
    service.add_environment("Staging", api_enabled=True)
    service.add_agent("bob", "Reader", has_logged_in=True, signed_agreement=True)
    ids = []
    for environment, agent, label in (
        ("Production", "alice", "b"),
        ("Staging", "bob", "a"),
        ("Production", "bob", "C"),
    ):
        ids.append(service.create_token(environment, agent, label=label).token.id)
        clock.advance(timedelta(hours=1))
    return ids


def test_the_table_comes_with_its_names_and_cursor(service: TokenService, three: list[int]) -> None:
    cursor, names, rows = service.token_table()
    assert cursor == service.change_cursor() > 0
    assert [row.id for row in rows] == three
    assert [names.environment(row) for row in rows] == ["Production", "Staging", "Production"]
    assert [(names.agent(row), names.role(row)) for row in rows][1] == ("bob", "Reader")
    _, _, production = service.token_table("production")
    assert [row.id for row in production] == [three[0], three[2]]
    with pytest.raises(NotFound):
        service.token_table("Nowhere")


def test_counts(service: TokenService, three: list[int]) -> None:
    assert service.token_count() == 3
    assert service.token_count("Production") == 2
    assert service.token_count("Sandbox") == 0


@pytest.mark.parametrize(
    ("column", "descending", "environment", "expected"),
    [
        (Column.CREATED, False, None, [0, 1, 2]),
        (Column.CREATED, True, None, [2, 1, 0]),
        (Column.CREATED, True, "Production", [2, 0]),
        (Column.LABEL, False, None, [1, 0, 2]),  # without regard to case
        (Column.NAME, False, None, [0, 1, 2]),
        (Column.ENVIRONMENT, False, None, [0, 2, 1]),
        (Column.NAME, True, "Production", [2, 0]),
    ],
)
def test_the_first_page_follows_the_tables_order(
    service: TokenService,
    three: list[int],
    column: Column,
    descending: bool,
    environment: str | None,
    expected: list[int],
) -> None:
    names, rows = service.token_page(environment, column, descending=descending, limit=3)
    assert [row.id for row in rows] == [three[index] for index in expected]
    assert set(names.environments.values()) >= {"Production", "Staging"}
    _, first = service.token_page(environment, column, descending=descending, limit=1)
    assert [row.id for row in first] == [three[expected[0]]]


def test_every_column_has_a_first_page(service: TokenService, three: list[int]) -> None:
    for column in Column:
        for descending in (False, True):
            _, rows = service.token_page(None, column, descending=descending, limit=10)
            assert sorted(row.id for row in rows) == three


def test_rows_by_id_skip_the_tokens_that_are_gone(service: TokenService, three: list[int]) -> None:
    service.delete(three[1])
    assert [row.id for row in service.token_rows([*three, 999, three[0]])] == [three[0], three[2]]
    assert len(service.token_rows(range(1, 1200))) == 2  # more ids than one query takes


def test_changes_since_name_tokens_and_directory(service: TokenService, three: list[int]) -> None:
    cursor = service.change_cursor()
    assert service.changes_since(cursor).tokens == frozenset()
    service.set_label(three[0], "renamed")
    service.add_environment("Elsewhere", api_enabled=True)
    changes = service.changes_since(cursor)
    assert changes.complete and changes.tokens == {three[0]} and changes.directory
    assert not changes.names
    service.update_agent("bob", has_logged_in=False)
    assert service.changes_since(changes.cursor).names


def test_a_reader_behind_the_pruned_log_reads_everything_again(
    service: TokenService, three: list[int]
) -> None:
    cursor = service.change_cursor()
    service.set_label(three[0], "one")
    service.set_label(three[0], "two")
    service.prune_changes(keep=1)
    changes = service.changes_since(cursor)
    assert not changes.complete and changes.cursor == service.change_cursor()
    assert service.changes_since(service.change_cursor() + 5).complete is False


def test_audit_is_newest_first_and_can_be_limited(service: TokenService, three: list[int]) -> None:
    service.set_label(three[0], "renamed")
    events = service.audit(three[0])
    assert [event.action for event in events] == ["label", "create"]
    assert [event.action for event in service.audit(limit=1)] == ["label"]
    assert events[0].at.tzinfo is not None


@pytest.mark.sqlite_only  # PostgreSQL's: tests/unit/storage/test_postgres.py
def test_data_version_moves_when_another_connection_commits(service: TokenService) -> None:
    database = service._context.database
    before = service.data_version()
    path = database.handle.database
    assert path.endswith(DB_FILENAME)
    other = sqlite3.connect(path)
    with other:
        other.execute("UPDATE environment SET api_enabled = 1")
    other.close()
    assert service.data_version() != before


def test_token_changes_name_the_token_and_nothing_else(memory_context: Context) -> None:
    service = seed_alice(memory_context.service)
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


def test_nothing_new_is_reported_as_nothing(memory_context: Context) -> None:
    service = seed_alice(memory_context.service)
    token = service.create_token("Production", "alice").token.id
    cursor = service.change_cursor()
    service.set_status(token, True)  # already active: no write
    assert service.changes_since(cursor) == Changes(cursor)


def test_directory_and_name_changes_are_told_apart(memory_context: Context) -> None:
    service = seed_alice(memory_context.service)
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


def test_a_reader_behind_the_pruned_log_is_told_to_read_everything(memory_context: Context) -> None:
    service = seed_alice(memory_context.service)
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


def test_the_table_snapshot_and_its_cursor_agree(memory_context: Context) -> None:
    service = seed_alice(memory_context.service)
    production = service.create_token("Production", "alice").token.id
    staging = service.create_token("Staging", "alice").token.id
    cursor, names, rows = service.token_table("Production")
    assert [row.id for row in rows] == [production]
    assert names.environment(rows[0]) == "Production"
    assert names.agent(rows[0]) == "alice" and names.role(rows[0]) == "Reader"
    assert cursor == service.change_cursor()
    _, _, every = service.token_table()
    assert [row.id for row in every] == [production, staging]


def test_rows_and_records_agree(memory_context: Context) -> None:
    """The fast row read and the full record describe the same token."""
    service = seed_alice(memory_context.service)
    service.create_token("Production", "alice", label="a", rotation="weekly", grace="2h")
    service.create_token("Staging", "alice", label="b")
    _, names, rows = service.token_table()
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


def test_a_change_listener_where_the_registry_announces_commits(
    memory_context: Context, engine: str
) -> None:
    """PostgreSQL announces every commit, so a window can listen; SQLite is polled."""
    heard = threading.Event()
    listener = memory_context.service.change_listener(heard.set)
    if engine == "sqlite":
        assert listener is None
        return
    assert listener is not None
    listener.start()
    try:
        assert heard.wait(WAIT_S)  # once it listens: what committed before was never announced
        heard.clear()
        memory_context.service.add_environment("Staging")
        assert heard.wait(WAIT_S)
    finally:
        listener.stop()
