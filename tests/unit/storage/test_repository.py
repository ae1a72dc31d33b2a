"""The model reads and writes the services make: compare-and-swap where it matters, each on
the database it is given, and the project's errors, never the driver's."""

from __future__ import annotations

from datetime import datetime

import pytest

from desktop.app import Context
from desktop.domain.errors import DatabaseError
from desktop.services.tokens import TokenService
from desktop.storage import repository
from desktop.storage.database import Database
from desktop.storage.models import Intent, Token, UnboundModelError

NOW = datetime(2026, 1, 5, 9, 0)


@pytest.fixture
def database(memory_context: Context) -> Database:
    return memory_context.database


@pytest.fixture
def token_id(memory_context: Context) -> int:
    service = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service.create_token("Production", "alice").token.id


def intent_fields(token_id: int) -> dict[str, object]:
    return {
        "token": token_id,
        "kind": "refresh",
        "from_generation": 0,
        "to_generation": 1,
        "action": "refresh",
        "actor": "cli",
        "owner_pid": 1,
        "created_at": NOW,
    }


def test_one_intent_per_token(database: Database, token_id: int) -> None:
    first = repository.insert_intent(database, **intent_fields(token_id))
    assert first is not None
    assert repository.insert_intent(database, **intent_fields(token_id)) is None
    assert repository.intent_of_token(database, token_id) == first
    assert [intent.id for intent in repository.intents(database)] == [first.id]
    repository.delete_intent(database, first.id)
    assert repository.intent(database, first.id) is None


def test_compare_and_swap_on_the_generation(database: Database, token_id: int) -> None:
    assert repository.update_token_at_generation(database, token_id, 1, {"generation": 2}) == 0
    assert repository.update_token_at_generation(database, token_id, 0, {"generation": 1}) == 1
    row = repository.token_by_id(database, token_id)
    assert row is not None and row.generation == 1


def test_deleting_a_token_takes_its_intent(database: Database, token_id: int) -> None:
    repository.insert_intent(database, **intent_fields(token_id))
    repository.delete_token(database, token_id)
    assert repository.token_by_id(database, token_id) is None
    assert Intent.select().bind(database.handle).count() == 0


def test_only_ready_tokens_are_seen(database: Database, token_id: int) -> None:
    assert repository.ready_token(database, token_id) is not None
    repository.update_token(database, token_id, phase="deleting")
    assert repository.ready_token(database, token_id) is None
    assert repository.ready_tokens(database) == []
    assert repository.token_by_id(database, token_id) is not None


def test_a_broken_rule_of_the_schema_is_a_database_error(database: Database) -> None:
    repository.insert_environment(database, "Production", True, NOW)
    with pytest.raises(DatabaseError, match=r"(?i)unique"):
        repository.insert_environment(database, "production", True, NOW)


def test_an_insert_returns_the_row_as_written(database: Database) -> None:
    env = repository.insert_environment(database, "Production", False, NOW)
    assert env == repository.find_environment(database, "Production")
    assert (env.name, env.api_enabled, env.created_at) == ("Production", False, NOW)


def test_lookups(memory_context: Context, database: Database, token_id: int) -> None:
    service: TokenService = memory_context.service
    agent = repository.find_agent(database, "ALICE")
    assert agent is not None and agent.role.name == "Reader"
    assert repository.find_environment(database, "nowhere") is None
    assert repository.permissions(database, service.role("Reader").id) == [("GET", "/Loans")]
    row = repository.token_by_id(database, token_id)
    assert row is not None
    assert repository.tokens_by_fingerprint(database, row.fingerprint) == [row]
    assert [event.action for event in repository.audit_events(database, token_id)] == ["create"]


def test_what_is_read_through_a_relation_comes_joined(database: Database, token_id: int) -> None:
    """Reading a relation never reaches for a database of its own: what a model instance
    refers to is read with it, or the model says it has no database."""
    joined = repository.ready_token(database, token_id, joined=True)
    assert joined is not None
    assert (joined.environment.name, joined.agent.name, joined.agent.role.name) == (
        "Production",
        "alice",
        "Reader",
    )
    (intent_row,) = [repository.insert_intent(database, **intent_fields(token_id))]
    assert intent_row is not None
    (listed,) = repository.intents(database)
    assert listed.token.id == token_id
    plain = repository.token_by_id(database, token_id)
    assert plain is not None
    with pytest.raises(UnboundModelError):
        _ = plain.environment.name  # not joined: a lazy load would go to no database


def test_a_query_that_forgets_its_database_fails_loudly(database: Database) -> None:
    with pytest.raises(UnboundModelError):
        Token.select().count()
    with pytest.raises(UnboundModelError):
        list(Token.select())


# ----------------------------------------------------------------- last used


def test_recorded_uses_add_up_and_the_latest_time_wins(database: Database, token_id: int) -> None:
    later, earlier = datetime(2026, 1, 5, 9, 30), datetime(2026, 1, 5, 9, 10)
    with database.transaction():
        repository.record_uses(database, {token_id: (later, 3)})
    with database.transaction():  # a second server's batch, older but written after
        repository.record_uses(database, {token_id: (earlier, 2)})
    assert repository.token_uses(database) == {token_id: (later, 5)}
    assert repository.token_uses(database, [token_id + 1]) == {}


def test_a_use_of_a_deleted_token_is_skipped(database: Database, token_id: int) -> None:
    with database.transaction():
        repository.record_uses(database, {token_id: (NOW, 1)})
        repository.delete_token(database, token_id)  # its usage row goes with it
        repository.record_uses(database, {token_id: (NOW, 1), token_id + 99: (NOW, 4)})
    assert repository.token_uses(database) == {}


def test_uses_of_many_tokens_are_written_a_few_hundred_per_statement(
    memory_context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    ids = [service.create_token("Production", "alice").token.id for _ in range(5)]
    monkeypatch.setattr(repository, "_USES_PER_STATEMENT", 2)  # three statements: 2, 2 and 1
    database = memory_context.database
    uses = {token_id: (datetime(2026, 1, 5, 9, n), n + 1) for n, token_id in enumerate(ids)}
    with database.transaction():
        repository.record_uses(database, uses)
        repository.record_uses(database, uses)
    assert repository.token_uses(database) == {
        token_id: (at, 2 * count) for token_id, (at, count) in uses.items()
    }
