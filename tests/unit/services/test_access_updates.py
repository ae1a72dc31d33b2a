"""An access index brought up to date from the change log decides exactly as a snapshot taken
afresh (and as the SQL lookup), after every kind of change, and never changes the index it
started from (a reader holding that one keeps a consistent snapshot)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest

from desktop.domain import tokens
from desktop.services.access import AccessIndex
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock

REQUESTS = [("GET", "/Loans"), ("POST", "/Loans"), ("GET", "/Customers(3)"), ("PUT", "/Users")]
ENVIRONMENTS = ["Production", "production", "Staging", "Sandbox", "Renamed", "Nowhere"]


class Tracker:
    """A service, the secrets it issued, and an index kept up to date after each change."""

    def __init__(self, service: TokenService) -> None:
        self.service = service
        self.secrets: list[str] = [tokens.generate()]  # one that never was issued
        self.index = service.access_index()
        self.cursor = service.change_cursor()
        self.updates = 0

    def issue(self, environment: str, agent: str, **options: object) -> int:
        issued = self.service.create_token(environment, agent, **options)  # type: ignore[arg-type]
        self.secrets.append(issued.secret)
        return issued.token.id

    def check(self) -> None:
        """Update the index from the change log, and compare it with a fresh one."""
        changes = self.service.changes_since(self.cursor)
        assert changes.complete
        before = self.index
        snapshot = _answers(before, self.secrets)
        self.index = self.service.access.updated_index(
            before, changes.tokens, directory=changes.names or changes.directory
        )
        self.cursor = changes.cursor
        self.updates += 1
        assert _answers(before, self.secrets) == snapshot  # the old one is untouched
        fresh = self.service.access_index()
        assert len(self.index) == len(fresh)
        assert _answers(self.index, self.secrets) == _answers(fresh, self.secrets)
        for environment in ENVIRONMENTS:
            assert self.index.environment_name(environment) == fresh.environment_name(environment)
        for secret in self.secrets:
            for environment in ENVIRONMENTS:
                sql = self.service.verify(environment, secret, "GET", "/Loans")
                memory = self.index.verify(environment, secret, "GET", "/Loans")
                assert (memory.status, memory.reason) == (sql.status, sql.reason)
                if memory.token_id is not None:
                    assert self.index.agent(memory.token_id) == fresh.agent(memory.token_id)


def _answers(index: AccessIndex, secrets: list[str]) -> list[tuple[int, str, int | None]]:
    return [
        tuple(index.verify(environment, secret, method, path))  # type: ignore[misc]
        for secret in secrets
        for environment in ENVIRONMENTS
        for method, path in REQUESTS
    ]


@pytest.fixture
def tracker(service: TokenService) -> Tracker:
    service.add_environment("Staging", api_enabled=True)
    service.add_role("Writer", ["* /Loans", "PUT /Users"])
    service.add_agent("bob", "Writer", has_logged_in=True, signed_agreement=True)
    return Tracker(service)


def test_every_kind_of_change(tracker: Tracker, clock: FakeClock) -> None:
    service = tracker.service
    first = tracker.issue("Production", "alice", grace="1h")
    tracker.check()
    second = tracker.issue("Staging", "bob")
    third = tracker.issue("Production", "bob", expires=clock.now() + timedelta(hours=2))
    tracker.check()
    steps: list[Callable[[], object]] = [
        lambda: service.set_status(first, False),
        lambda: service.set_status(first, True),
        lambda: tracker.secrets.append(service.refresh(first).secret),  # the old one in grace
        lambda: tracker.secrets.append(service.refresh(second, grace="2h").secret),
        lambda: service.set_expiry(second, clock.now() + timedelta(minutes=5)),
        lambda: service.set_api_enabled("Staging", False),
        lambda: service.set_api_enabled("Staging", True),
        lambda: service.set_role_permissions("Writer", ["GET /Customers"]),
        lambda: service.update_agent("bob", role="Reader"),
        lambda: service.update_agent("bob", signed_agreement=False),
        lambda: service.update_agent("bob", signed_agreement=True),
        lambda: service.set_agent_disabled("alice", True),
        lambda: service.set_agent_disabled("alice", False),
        lambda: service.add_environment("Renamed", api_enabled=True),
        lambda: service.add_agent("carol", "Writer", has_logged_in=True, signed_agreement=True),
        lambda: tracker.issue("Renamed", "carol"),
        lambda: service.delete(third),
        lambda: service.set_label(first, "a label changes no decision"),
    ]
    for step in steps:
        step()
        tracker.check()
    clock.set(clock.now() + timedelta(hours=3))  # graces and expiries end by the clock alone
    tracker.check()


def test_random_changes(tracker: Tracker, clock: FakeClock) -> None:
    """Many changes at a time between updates, in a random order (seeded: repeatable)."""
    service = tracker.service
    rng = random.Random(13)
    ids = [tracker.issue(rng.choice(["Production", "Staging"]), "alice") for _ in range(6)]
    tracker.check()
    for _ in range(12):
        for _ in range(rng.randint(1, 4)):
            token_id = rng.choice(ids)
            action = rng.randrange(6)
            if action == 0:
                service.set_status(token_id, rng.random() < 0.5)
            elif action == 1:
                tracker.secrets.append(service.refresh(token_id, grace="1h").secret)
            elif action == 2:
                service.set_api_enabled(rng.choice(["Production", "Staging"]), rng.random() < 0.7)
            elif action == 3:
                service.update_agent("alice", signed_agreement=rng.random() < 0.7)
            elif action == 4:
                service.delete(token_id)
                ids.remove(token_id)
                ids.append(tracker.issue("Production", "bob"))
            else:
                clock.set(clock.now() + timedelta(minutes=rng.randint(1, 90)))
        tracker.check()
    assert tracker.updates == 13
