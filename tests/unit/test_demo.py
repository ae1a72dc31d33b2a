"""The demo data, seeded on a real SQLite file and the in-memory store: what a newcomer sees
when they open TokenDesk with ``--demo``. Every kind of thing the window shows is there: an
environment without API access, agents who may not get a token, an inactive token, and tokens
with and without a rotation schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop import demo
from desktop.app import Context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock


@pytest.fixture
def seeded(memory_context: Context) -> TokenService:
    demo.seed(memory_context.service)
    return memory_context.service


def test_three_environments_one_without_api_access(seeded: TokenService) -> None:
    environments = {env.name: env for env in seeded.environments()}
    assert set(environments) == {"Production", "Staging", "Sandbox"}
    assert [name for name, env in environments.items() if not env.api_enabled] == ["Sandbox"]
    assert environments["Production"].token_count == 3
    assert environments["Staging"].token_count == 2
    assert environments["Sandbox"].token_count == 0


def test_the_roles_and_their_permissions(seeded: TokenService) -> None:
    roles = {role.name: set(role.permissions) for role in seeded.roles()}
    assert roles == {name: set(permissions) for name, permissions in demo.ROLES.items()}


def test_eligible_and_ineligible_agents(seeded: TokenService) -> None:
    agents = {agent.name: agent for agent in seeded.agents()}
    assert set(agents) == {name for name, *_ in demo.AGENTS}
    eligible = sorted(name for name, agent in agents.items() if agent.eligible)
    assert eligible == ["Ada Servicing Bot", "Collections Sync", "Data Warehouse ETL"]
    assert agents["New Vendor (no login yet)"].ineligible_reason() == (
        "has never logged in and has not signed the usage agreement"
    )
    assert agents["Partner Portal (agreement pending)"].ineligible_reason() == (
        "has not signed the usage agreement"
    )
    assert agents["Collections Sync"].role == "Collections"


def test_the_tokens_a_newcomer_finds(seeded: TokenService, clock: FakeClock) -> None:
    found = {(t.environment, t.label): t for t in seeded.tokens()}
    assert set(found) == {
        ("Production", "Servicing dashboard"),
        ("Production", "Nightly payments import"),
        ("Production", "Warehouse loader"),
        ("Staging", "Legacy import (retired)"),
        ("Staging", "QA replays"),
    }
    inactive = [key for key, token in found.items() if not token.active]
    assert inactive == [("Staging", "Legacy import (retired)")]
    dashboard = found["Production", "Servicing dashboard"]
    assert dashboard.agent == "Ada Servicing Bot"
    assert dashboard.rotation == "monthly" and dashboard.grace == timedelta(hours=1)
    assert found["Production", "Nightly payments import"].rotation_interval == timedelta(days=7)
    assert found["Staging", "QA replays"].next_rotation_at == clock.now() + timedelta(days=1)
    assert found["Production", "Warehouse loader"].rotation is None


def test_the_demo_tokens_work_and_their_secrets_are_in_the_store(
    seeded: TokenService, memory_store: InMemorySecretStore
) -> None:
    tokens = seeded.tokens()
    assert len(memory_store) == len(tokens) == 5
    secrets = {token.label: seeded.reveal(token.id) for token in tokens}
    assert seeded.verify("Production", secrets["Servicing dashboard"], "GET", "/Loans").status == (
        200
    )
    retired = seeded.verify("Staging", secrets["Legacy import (retired)"], "GET", "/Loans")
    assert retired.status == 401
    assert seeded.reconcile().waiting == ()


def test_the_demo_needs_the_keyring(
    memory_context: Context, memory_store: InMemorySecretStore
) -> None:
    """It creates real tokens: with the store locked it stops at the first one."""
    memory_store.available = False
    with pytest.raises(SecretStoreUnavailable):
        demo.seed(memory_context.service)
    assert memory_context.service.tokens() == []


def test_the_demo_turns_on_api_access_where_its_tokens_live(seeded: TokenService) -> None:
    """New environments start with API access off; the demo's tokens must still work."""
    active = [token for token in seeded.tokens() if token.status == "Active"]
    assert {token.environment for token in active} == {"Production", "Staging"}
    for token in active:
        secret = seeded.reveal(token.id)
        decision = seeded.verify(token.environment, secret, "GET", "/Loans")
        assert decision.status == 200, (token.environment, token.label, decision.reason)
