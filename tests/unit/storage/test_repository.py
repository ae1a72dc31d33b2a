"""The model reads and writes the services make: compare-and-swap where it matters, and the
project's errors, never the driver's."""

from __future__ import annotations

from datetime import datetime

import pytest

from desktop.app import Context
from desktop.domain.errors import DatabaseError
from desktop.services.tokens import TokenService
from desktop.storage import repository
from desktop.storage.models import Intent, Token

NOW = datetime(2026, 1, 5, 9, 0)


@pytest.fixture
def token_id(memory_context: Context) -> int:
    service = memory_context.service
    service.add_environment("Production")
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


def test_one_intent_per_token(token_id: int) -> None:
    first = repository.insert_intent(**intent_fields(token_id))
    assert first is not None
    assert repository.insert_intent(**intent_fields(token_id)) is None
    assert repository.intent_of_token(token_id) == first
    assert [intent.id for intent in repository.intents()] == [first.id]
    repository.delete_intent(first.id)
    assert repository.intent(first.id) is None


def test_compare_and_swap_on_the_generation(token_id: int) -> None:
    assert repository.update_token_at_generation(token_id, 1, {"generation": 2}) == 0
    assert repository.update_token_at_generation(token_id, 0, {"generation": 1}) == 1
    assert Token.get_by_id(token_id).generation == 1


def test_deleting_a_token_takes_its_intent(token_id: int) -> None:
    repository.insert_intent(**intent_fields(token_id))
    repository.delete_token(token_id)
    assert repository.token_by_id(token_id) is None
    assert Intent.select().count() == 0


def test_only_ready_tokens_are_seen(token_id: int) -> None:
    assert repository.ready_token(token_id) is not None
    repository.update_token(token_id, phase="deleting")
    assert repository.ready_token(token_id) is None
    assert repository.ready_tokens() == []
    assert repository.token_by_id(token_id) is not None


def test_a_broken_rule_of_the_schema_is_a_database_error(memory_context: Context) -> None:
    repository.insert_environment("Production", True, NOW)
    with pytest.raises(DatabaseError, match="UNIQUE"):
        repository.insert_environment("production", True, NOW)


def test_lookups(memory_context: Context, token_id: int) -> None:
    service: TokenService = memory_context.service
    agent = repository.find_agent("ALICE")
    assert agent is not None and agent.role.name == "Reader"
    assert repository.agent_role_id(agent.id) == service.role("Reader").id
    assert repository.find_environment("nowhere") is None
    assert repository.permissions(service.role("Reader").id) == [("GET", "/Loans")]
    row = Token.get_by_id(token_id)
    assert repository.tokens_by_fingerprint(row.fingerprint) == [row]
    assert [event.action for event in repository.audit_events(token_id)] == ["create"]
