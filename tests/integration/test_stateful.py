"""Random sequences of token operations, checked step by step against a plain Python model.

The machine drives the real service (SQLite file, real keyring, fake clock) through create,
status changes, refresh (grace 0 or more), rotation schedules with time travel and the
scheduler's pass, labels, environment switches, deletes and restarts (close the database and
open the data dir again, which runs recovery). After every step the token list, the access
decisions for the current, previous and retired secrets, and the journal must match the model;
after every step that touches the keyring, ``reveal()`` must return the secret last issued.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from desktop.app import open_context
from desktop.domain import tokens
from desktop.domain.errors import RuleViolation
from desktop.secrets.store import KeyringSecretStore, SecretStore
from desktop.services.tokens import TokenService
from desktop.services.views import ReconcileReport
from desktop.storage.models import Intent
from tests.helpers.clock import FakeClock
from tests.helpers.postgres import PostgresServer

ENVIRONMENTS = ("Prod", "Stage")
ROLES = {"Reader": ["GET /Loans"], "Writer": ["* /Loans", "POST /Payments"]}
AGENTS = {"ada": ("Reader", True), "bob": ("Writer", True), "eve": ("Reader", False)}
# (method, path) probes; the expected answer for each role when the token is usable.
PROBES = {
    ("GET", "/Loans(7)"): {"Reader": 200, "Writer": 200},
    ("POST", "/odata.svc/Payments"): {"Reader": 403, "Writer": 200},
    ("DELETE", "/Customers"): {"Reader": 403, "Writer": 403},
}
INTERVALS = {"12h": timedelta(hours=12), "1d": timedelta(days=1)}
GRACES = {"0": timedelta(0), "2h": timedelta(hours=2), "3h": timedelta(hours=3)}
# Time steps on either side of the graces and intervals above.
HOURS = [1, 2, 3, 11, 13, 25, 49]


@dataclass
class Model:
    """What the model knows about one token."""

    environment: str
    agent: str
    label: str
    active: bool
    secret: str
    grace: timedelta
    interval: timedelta | None
    next_due: datetime | None
    generation: int = 0
    last_rotated: datetime | None = None
    # Every replaced secret with the end of its own grace: a refresh keeps earlier promises.
    previous: dict[str, datetime] = field(default_factory=dict)


class TokenMachine(RuleBasedStateMachine):
    store: ClassVar[SecretStore]
    # Where each example's fresh registry is: a new database on this server, or (None) the
    # SQLite file in the example's data dir.
    server: ClassVar[PostgresServer | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.data_dir = Path(tempfile.mkdtemp(prefix="tokendesk-stateful-"))
        # The service clock starts at the real time and only moves forward.
        self.clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
        self.database_name = self.server.new_database() if self.server is not None else None
        self.registry = None
        if self.server is not None and self.database_name is not None:
            self.registry = self.server.url(self.database_name)
        self.context = open_context(
            self.data_dir, store=self.store, clock=self.clock, database=self.registry
        )
        service = self.context.service
        for env in ENVIRONMENTS:
            service.add_environment(env, api_enabled=True)
        for role, permissions in ROLES.items():
            service.add_role(role, permissions)
        for agent, (role, eligible) in AGENTS.items():
            service.add_agent(agent, role, has_logged_in=eligible, signed_agreement=eligible)
        self.model: dict[int, Model] = {}
        self.enabled = dict.fromkeys(ENVIRONMENTS, True)
        self.retired: list[tuple[str, str]] = []  # (environment, secret) that must never work

    @property
    def service(self) -> TokenService:
        return self.context.service

    def teardown(self) -> None:
        self.context.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.server is not None and self.database_name is not None:
            self.server.drop(self.database_name)

    def _pick(self, index: int) -> int:
        return sorted(self.model)[index % len(self.model)]

    def _retire(self, token: Model, secret: str | None) -> None:
        if secret is not None:
            self.retired.append((token.environment, secret))

    def _replaced(self, token: Model, new_secret: str, grace: timedelta) -> None:
        """The model's side of a refresh or rotation at the current time."""
        now = self.clock.now()
        if grace:
            token.previous[token.secret] = now + grace
        else:
            self._retire(token, token.secret)
        token.secret = new_secret
        token.generation += 1
        token.last_rotated = now
        if token.interval is not None:
            token.next_due = now + token.interval

    def _check_secrets(self) -> None:
        for token_id, token in self.model.items():
            assert self.service.reveal(token_id) == token.secret

    # ------------------------------------------------------------------ rules

    @rule(
        env=st.sampled_from(ENVIRONMENTS),
        agent=st.sampled_from(sorted(AGENTS)),
        label=st.text(alphabet="ab yz", max_size=6),
        rotation=st.sampled_from([None, *INTERVALS]),
        grace=st.sampled_from([None, *GRACES]),
    )
    def create(
        self, env: str, agent: str, label: str, rotation: str | None, grace: str | None
    ) -> None:
        eligible = AGENTS[agent][1]
        if not eligible or not self.enabled[env]:
            with pytest.raises(RuleViolation):
                self.service.create_token(env, agent, label=label, rotation=rotation, grace=grace)
            return
        has_tokens = any(token.agent == agent for token in self.model.values())
        issued = self.service.create_token(env, agent, label=label, rotation=rotation, grace=grace)
        assert tokens.is_well_formed(issued.secret)
        assert bool(issued.warnings) == has_tokens
        interval = INTERVALS[rotation] if rotation else None
        self.model[issued.token.id] = Model(
            environment=env,
            agent=agent,
            label=label.strip(),
            active=True,
            secret=issued.secret,
            grace=GRACES[grace] if grace else timedelta(0),
            interval=interval,
            next_due=self.clock.now() + interval if interval else None,
        )
        self._check_secrets()

    @precondition(lambda self: self.model)
    @rule(index=st.integers(0, 20), active=st.booleans())
    def set_status(self, index: int, active: bool) -> None:
        token_id = self._pick(index)
        assert self.service.set_status(token_id, active).active == active
        self.model[token_id].active = active

    @precondition(lambda self: self.model)
    @rule(index=st.integers(0, 20), label=st.text(alphabet="cd w", max_size=6))
    def set_label(self, index: int, label: str) -> None:
        token_id = self._pick(index)
        self.service.set_label(token_id, label)
        self.model[token_id].label = label.strip()

    @precondition(lambda self: self.model)
    @rule(index=st.integers(0, 20), grace=st.sampled_from([None, *GRACES]))
    def refresh(self, index: int, grace: str | None) -> None:
        token_id = self._pick(index)
        token = self.model[token_id]
        issued = self.service.refresh(token_id, grace=grace)
        assert issued.secret != token.secret
        self._replaced(token, issued.secret, GRACES[grace] if grace else token.grace)
        assert issued.token.generation == token.generation
        self._check_secrets()

    @precondition(lambda self: self.model)
    @rule(
        index=st.integers(0, 20),
        rotation=st.sampled_from([None, *INTERVALS]),
        grace=st.sampled_from([None, *GRACES]),
    )
    def set_rotation(self, index: int, rotation: str | None, grace: str | None) -> None:
        token_id = self._pick(index)
        token = self.model[token_id]
        self.service.set_rotation(token_id, rotation, grace)
        token.interval = INTERVALS[rotation] if rotation else None
        token.next_due = self.clock.now() + token.interval if token.interval else None
        if grace is not None:
            token.grace = GRACES[grace]

    @initialize(
        env=st.sampled_from(ENVIRONMENTS),
        agent=st.sampled_from(["ada", "bob"]),
        rotation=st.sampled_from(sorted(INTERVALS)),
        grace=st.sampled_from([None, *GRACES]),
    )
    def first_token(self, env: str, agent: str, rotation: str, grace: str | None) -> None:
        self.create(env, agent, "first", rotation, grace)

    @rule(hours=st.sampled_from(HOURS))
    def advance(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @rule(hours=st.sampled_from(HOURS))
    def tick(self, hours: int) -> None:
        """Time passes, then the scheduler runs."""
        self.clock.advance(timedelta(hours=hours))
        now = self.clock.now()
        due = {
            token_id
            for token_id, token in self.model.items()
            if token.active
            and token.next_due is not None
            and token.next_due <= now
            and (token.last_rotated is None or token.last_rotated <= now)
        }
        report = self.service.rotate_due()
        assert set(report.rotated) == due
        assert report.failed == () and report.skipped == ()
        event("rotate_due rotated something" if due else "rotate_due found nothing due")
        for token_id in report.rotated:
            token = self.model[token_id]
            self._replaced(token, self.service.reveal(token_id), token.grace)
        self._check_secrets()

    @precondition(lambda self: self.model)
    @rule(env=st.sampled_from(ENVIRONMENTS))
    def toggle_api(self, env: str) -> None:
        self.enabled[env] = not self.enabled[env]
        self.service.set_api_enabled(env, self.enabled[env])

    @precondition(lambda self: self.model)
    @rule(index=st.integers(0, 20))
    def delete(self, index: int) -> None:
        token_id = self._pick(index)
        token = self.model.pop(token_id)
        self.service.delete(token_id)
        self._retire(token, token.secret)
        for previous in token.previous:
            self._retire(token, previous)
        self._check_secrets()

    @rule()
    def restart(self) -> None:
        self.context.close()
        self.context = open_context(
            self.data_dir, store=self.store, clock=self.clock, database=self.registry
        )
        assert self.context.recovery == ReconcileReport()
        assert self.context.keyring_problem is None
        self._check_secrets()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def journal_is_empty(self) -> None:
        assert Intent.select().bind(self.context.database.handle).count() == 0

    @invariant()
    def token_list_matches(self) -> None:
        listed = [
            (t.id, t.environment, t.agent, t.label, t.active, t.generation)
            for t in self.service.tokens()
        ]
        expected = [
            (i, m.environment, m.agent, m.label, m.active, m.generation)
            for i, m in sorted(self.model.items())
        ]
        assert listed == expected

    @invariant()
    def access_decisions_match(self) -> None:
        service = self.service
        index = service.access_index()
        now = self.clock.now()

        def check(env: str, secret: str, expected: dict[tuple[str, str], int]) -> None:
            for (method, path), status in expected.items():
                decision = service.verify(env, secret, method, path)
                assert decision.status == status, (env, method, path, decision)
                assert index.verify(env, secret, method, path) == decision

        for token in self.model.values():
            role = AGENTS[token.agent][0]
            usable = self.enabled[token.environment] and token.active
            answers = {
                probe: (by_role[role] if usable else 401) for probe, by_role in PROBES.items()
            }
            check(token.environment, token.secret, answers)
            other = next(env for env in ENVIRONMENTS if env != token.environment)
            check(other, token.secret, dict.fromkeys(PROBES, 401))
            if len(token.previous) > 1:
                event("several previous secrets")
            for previous, until in token.previous.items():
                in_grace = now < until
                event("previous secret in grace" if in_grace else "previous secret expired")
                check(
                    token.environment,
                    previous,
                    answers if in_grace else dict.fromkeys(PROBES, 401),
                )
        for env, secret in self.retired:
            check(env, secret, dict.fromkeys(PROBES, 401))


def test_token_service_matches_the_model(
    engine: str, keyring_store: KeyringSecretStore, request: pytest.FixtureRequest
) -> None:
    """On each engine; every example on a fresh registry."""
    TokenMachine.store = keyring_store
    TokenMachine.server = None
    if engine == "postgresql":
        TokenMachine.server = request.getfixturevalue("postgres_server")
    run_state_machine_as_test(
        TokenMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
