"""What the window reads: the table in one snapshot, its first page in every order, counts,
the change log and the audit log."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from desktop.domain.errors import NotFound
from desktop.domain.table import Column
from desktop.services.tokens import TokenService
from desktop.storage.database import DB_FILENAME
from tests.helpers.clock import FakeClock


@pytest.fixture
def three(service: TokenService, clock: FakeClock) -> list[int]:
    """Three tokens, created an hour apart: two in Production, one in Staging."""
    service.add_environment("Staging")
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
    service.add_environment("Elsewhere")
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
