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
from desktop.domain.usage import is_unused, unused_cutoff
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock


@pytest.fixture
def seeded(memory_context: Context) -> TokenService:
    demo.seed(memory_context.service, memory_context.database)
    return memory_context.service


def test_three_environments_one_without_api_access(seeded: TokenService) -> None:
    environments = {env.name: env for env in seeded.environments()}
    assert set(environments) == {"Production", "Staging", "Sandbox"}
    assert [name for name, env in environments.items() if not env.api_enabled] == ["Sandbox"]
    assert environments["Production"].token_count == 4
    assert environments["Staging"].token_count == 3
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
        ("Production", "Quarterly report export"),
        ("Staging", "Pilot import (retired)"),
    }
    inactive = [key for key, token in found.items() if not token.active]
    assert inactive == [
        ("Staging", "Legacy import (retired)"),
        ("Staging", "Pilot import (retired)"),
    ]
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
    assert len(memory_store) == len(tokens) == 7
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


def test_a_newcomer_sees_tokens_used_lately_long_ago_and_never(
    seeded: TokenService, clock: FakeClock
) -> None:
    """The Last used column has something of each kind, and one active token has gone unused
    for more than 90 days: made months ago, as its creation says too."""
    now = clock.now()
    found = {t.label: t for t in seeded.tokens()}
    ago = {
        label: None if t.last_used_at is None else now - t.last_used_at
        for label, t in found.items()
    }
    assert ago["Servicing dashboard"] == timedelta(minutes=2)
    assert ago["Nightly payments import"] == timedelta(hours=9)
    assert ago["Warehouse loader"] == timedelta(days=23)
    assert ago["QA replays"] is None and found["QA replays"].use_count == 0
    assert found["Servicing dashboard"].use_count == 18_204
    export = found["Quarterly report export"]
    assert ago["Quarterly report export"] == timedelta(days=120)
    assert now - export.created_at == demo.LONG_AGO
    assert seeded.audit(export.id)[0].at == now - demo.LONG_AGO  # its story is of back then
    cutoff = unused_cutoff(now.timestamp())
    unused = [
        label
        for label, t in found.items()
        if is_unused(
            t.active,
            None if t.last_used_at is None else t.last_used_at.timestamp(),
            t.created_at.timestamp(),
            cutoff,
        )
    ]
    assert unused == ["Quarterly report export"]
    # Nothing was used before it was made.
    assert all(t.last_used_at is None or t.last_used_at >= t.created_at for t in found.values())


def test_without_the_database_the_demo_has_no_usage(memory_context: Context) -> None:
    demo.seed(memory_context.service)
    assert all(t.last_used_at is None for t in memory_context.service.tokens())
    assert len(memory_context.service.tokens()) == 5
