"""Real gateways in front of a protected resource, asking a real ``tokendesk serve`` first:
nginx (``auth_request``), Caddy (``forward_auth``) and Traefik (``forwardAuth``), each run from
the README's own block. What a client gets through them is what ``tokendesk verify`` decides,
status and reason, and the API learns which token and agent called; changes made while they
run (a deactivation, a refresh and the end of its grace, an environment switched off, a token
deleted) reach the client through the gateway without a restart.

One server per engine for the module (it starts in seconds); each test makes its own
environment, role and agents in that registry, and its own gateway (they start in well under
a second) for that environment.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.app import Context, open_context
from desktop.domain import tokens
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService
from tests.helpers import caddy, nginx, postgres, traefik
from tests.helpers.cli import Cli
from tests.helpers.clock import FakeClock
from tests.helpers.gateway import (
    PROTECTED,
    SEEN_AGENT,
    SEEN_TOKEN_ID,
    Answer,
    Gateway,
    free_port,
    poll,
)
from tests.helpers.serve import ServeProcess, serving

GATEWAYS = ("nginx", "caddy", "traefik")
WAIT_S = 10.0  # generous: a change reaches a server within a second
_names = itertools.count(1)


@dataclass
class Registry:
    """The module's registry (an SQLite file in *data_dir*, or the PostgreSQL database at
    *database*), a context that writes to it, and the server that reads it."""

    data_dir: Path
    database: str | None
    context: Context
    server: ServeProcess

    @property
    def auth_address(self) -> str:
        return self.server.base_url.removeprefix("http://")

    def caught_up(self) -> None:
        """Until the server's index holds every change made so far."""
        self.server.wait_caught_up(self.context.service.change_cursor())

    def context_at(self, when: datetime) -> AbstractContextManager[Context]:
        """Another context on the same registry whose clock reads *when*: for a token that
        expired, or a grace that ends, at a known moment of real time."""
        return closing(
            open_context(
                self.data_dir,
                store=self.context.service.store,
                clock=FakeClock(when),
                database=self.database,
            )
        )


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def registry(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    keyring_store: KeyringSecretStore,
) -> Iterator[Registry]:
    data_dir = tmp_path_factory.mktemp("gateways") / "data"
    data_dir.mkdir(mode=0o700)
    database = None
    server_pg: postgres.PostgresServer | None = None
    name = ""
    if request.param == "postgresql":
        server_pg = request.getfixturevalue("postgres_server")
        name = server_pg.new_database()
        database = server_pg.url(name)
    context = open_context(data_dir, store=keyring_store, database=database)
    try:
        with serving(data_dir, database=database) as server:
            yield Registry(data_dir, database, context, server)
    finally:
        context.close()
        if server_pg is not None:
            server_pg.drop(name)


def start_gateway(
    kind: str, auth_address: str, environment: str
) -> AbstractContextManager[Gateway]:
    if kind == "nginx":
        return nginx.running(auth_address, environment=environment)
    if kind == "caddy":
        return caddy.running(auth_address, environment=environment)
    return traefik.running(auth_address, environment)


@pytest.fixture(params=GATEWAYS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Scene:
    """One test's environment in the module's registry: a role that allows ``GET /Loans`` and
    ``POST /Payments``, an agent that may use tokens, and its first token."""

    registry: Registry
    environment: str
    role: str
    agent: str
    token_id: int
    secret: str

    @property
    def service(self) -> TokenService:
        return self.registry.context.service

    def new_token(self) -> tuple[int, str]:
        issued = self.service.create_token(self.environment, self.agent)
        return issued.token.id, issued.secret


@pytest.fixture
def scene(registry: Registry) -> Scene:
    n = next(_names)
    service = registry.context.service
    environment, role, agent = f"Env{n}", f"Role{n}", f"agent-{n}"
    service.add_role(role, ["GET /Loans", "POST /Payments"])
    service.add_agent(agent, role, has_logged_in=True, signed_agreement=True)
    service.add_environment(environment, api_enabled=True)
    issued = service.create_token(environment, agent)
    return Scene(registry, environment, role, agent, issued.token.id, issued.secret)


@pytest.fixture
def verify(
    registry: Registry, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str, str, str, str], tuple[int, str]]:
    """``tokendesk verify --json`` (the command itself, in this process): status and reason."""
    cli = Cli(registry.data_dir, capsys, monkeypatch)
    database = ["--database", registry.database] if registry.database else []

    def run(environment: str, secret: str, method: str, path: str) -> tuple[int, str]:
        command = ("verify", "--env", environment, method, path, "--json")
        result = cli(*database, *command, stdin=secret)
        answer = json.loads(result.out)
        return int(answer["status"]), str(answer["reason"])

    return run


def through(answer: Answer) -> tuple[int, str | None]:
    """What the client got, as ``tokendesk verify`` would put it: a 200 is the API's protected
    resource (TokenDesk's "allowed" stays with the gateway), a refusal TokenDesk's reason."""
    if answer.status == 200 and answer.body.decode() == PROTECTED:
        return 200, "allowed"
    return answer.status, answer.reason


# ----------------------------------------------------------------------------- the table


def asked_about(kind: str, target: str) -> str:
    """The path a gateway asks TokenDesk about for *target*: as sent, its query cut off, except
    that Traefik (Go's URL handling) writes percent-escapes in upper case, RFC 3986's normal
    form; the path the API receives is spelled the same."""
    path = target.split("?", 1)[0]
    if kind == "traefik":
        path = re.sub(r"%[0-9a-fA-F]{2}", lambda escape: escape.group().upper(), path)
    return path


def test_every_case_gets_what_verify_decides(
    kind: str, scene: Scene, verify: Callable[[str, str, str, str], tuple[int, str]]
) -> None:
    service, env = scene.service, scene.environment
    inactive_id, inactive = scene.new_token()
    service.set_status(inactive_id, False)
    # An agent that may no longer use its tokens (disabled after the token was made).
    gone = f"gone-{next(_names)}"
    service.add_agent(gone, scene.role, has_logged_in=True, signed_agreement=True)
    ineligible = service.create_token(env, gone).secret
    service.set_agent_disabled(gone, True)
    # A token that expired a day ago, made by a clock two days behind.
    now = datetime.now(UTC)
    with scene.registry.context_at(now - timedelta(days=2)) as past:
        expired = past.service.create_token(env, scene.agent, expires=now - timedelta(days=1))
    scene.registry.caught_up()
    good = scene.secret
    cases = [
        ("allowed", good, "GET", "/Loans(42)"),
        ("allowed, query ignored", good, "GET", "/odata.svc/Loans?$top=5"),
        ("allowed, another permission", good, "POST", "/Payments"),
        ("role denies the method", good, "DELETE", "/Loans(42)"),
        ("role denies the endpoint", good, "GET", "/Payments"),
        ("unknown token", tokens.generate(), "GET", "/Loans"),
        ("malformed token", "tdk_not-a-token", "GET", "/Loans"),
        ("inactive", inactive, "GET", "/Loans"),
        ("expired", expired.secret, "GET", "/Loans"),
        ("agent ineligible", ineligible, "GET", "/Loans"),
        ("twice-encoded dot segment", good, "GET", "/Loans/%252e%252e/Admin"),
        ("invalid UTF-8 escapes", good, "GET", "/Loans/%c0%ae%c0%ae/Admin"),
        ("encoded whitespace", good, "GET", "/Loans%09"),
    ]
    with start_gateway(kind, scene.registry.auth_address, env) as gateway:
        for name, secret, method, target in cases:
            expected = verify(env, secret, method, asked_about(kind, target))
            answer = gateway.ask(method, target, secret)
            assert through(answer) == expected, (name, gateway.log())
            if answer.status == 401:
                assert answer.headers["www-authenticate"] == f'Bearer realm="{env}"', name
            assert secret not in answer.body.decode(errors="replace"), name
        # No token at all: refused as an API would refuse it.
        answer = gateway.ask("GET", "/Loans")
        assert through(answer) == (401, "no bearer token")
        assert answer.headers["www-authenticate"] == f'Bearer realm="{env}"'


def test_a_dot_segment_is_refused_or_cleaned_before_the_api_sees_it(
    kind: str, scene: Scene, verify: Callable[[str, str, str, str], tuple[int, str]]
) -> None:
    """nginx and Caddy pass the path as the client sent it, and TokenDesk refuses a ``..`` in
    it; Traefik cleans the path first and asks about (and forwards) the clean one."""
    scene.registry.caught_up()
    env, good = scene.environment, scene.secret
    with start_gateway(kind, scene.registry.auth_address, env) as gateway:
        for target, cleaned in (("/Payments/../Loans", "/Loans"), ("/Loans/./../Admin", "/Admin")):
            answer = gateway.ask("GET", target, good)
            asked = cleaned if kind == "traefik" else target
            assert through(answer) == verify(env, good, "GET", asked), target
        dotted = (403, "path '/Payments/../Loans' has a . or .. segment")
        expected = (200, "allowed") if kind == "traefik" else dotted
        assert through(gateway.ask("GET", "/Payments/../Loans", good)) == expected


def test_the_api_learns_the_token_and_agent_from_tokendesk_alone(kind: str, scene: Scene) -> None:
    scene.registry.caught_up()
    with start_gateway(kind, scene.registry.auth_address, scene.environment) as gateway:
        forged = {"X-TokenDesk-Token-Id": "1", "X-TokenDesk-Agent": "root"}
        answer = gateway.ask("GET", "/Loans(7)", scene.secret, headers=forged)
        assert answer.status == 200
        assert answer.headers[SEEN_TOKEN_ID.lower()] == str(scene.token_id)
        assert answer.headers[SEEN_AGENT.lower()] == scene.agent


# ----------------------------------------------------------------------------- changes


def answer_becomes(gateway: Gateway, secret: str, expected: tuple[int, str | None]) -> None:
    poll(
        lambda: through(gateway.ask("GET", "/Loans", secret)) == expected,
        f"the gateway to answer {expected}",
        WAIT_S,
    )


def test_a_deactivation_is_seen_without_a_restart(kind: str, scene: Scene) -> None:
    scene.registry.caught_up()
    with start_gateway(kind, scene.registry.auth_address, scene.environment) as gateway:
        assert through(gateway.ask("GET", "/Loans", scene.secret)) == (200, "allowed")
        scene.service.set_status(scene.token_id, False)
        answer_becomes(gateway, scene.secret, (401, "token is inactive"))
        scene.service.set_status(scene.token_id, True)
        answer_becomes(gateway, scene.secret, (200, "allowed"))


def test_a_disabled_environment_refuses_every_token(kind: str, scene: Scene) -> None:
    _, other = scene.new_token()
    scene.registry.caught_up()
    with start_gateway(kind, scene.registry.auth_address, scene.environment) as gateway:
        scene.service.set_api_enabled(scene.environment, False)
        for secret in (scene.secret, other):
            answer_becomes(gateway, secret, (401, "API access is disabled for this environment"))
        scene.service.set_api_enabled(scene.environment, True)
        answer_becomes(gateway, other, (200, "allowed"))


def test_a_deleted_token_is_unknown(kind: str, scene: Scene) -> None:
    scene.registry.caught_up()
    with start_gateway(kind, scene.registry.auth_address, scene.environment) as gateway:
        assert through(gateway.ask("GET", "/Loans", scene.secret)) == (200, "allowed")
        scene.service.delete(scene.token_id)
        answer_becomes(gateway, scene.secret, (401, "unknown token"))


def test_a_refresh_keeps_the_old_secret_for_its_grace_only(kind: str, scene: Scene) -> None:
    """Both secrets pass until the grace ends, then only the new one. The server reads the
    real clock, so the refresh is made by a clock set back: its hour of grace ends a few
    seconds from now. A machine too slow to ask within those seconds tries again with twice
    as many; no outcome depends on how fast it is."""
    grace = timedelta(hours=1)
    with start_gateway(kind, scene.registry.auth_address, scene.environment) as gateway:
        for margin in (5, 10, 20, 40, 80):
            token_id, old = scene.new_token()
            ends = datetime.now(UTC) + timedelta(seconds=margin)
            with scene.registry.context_at(ends - grace) as earlier:
                new = earlier.service.refresh(token_id, grace="1h").secret
            scene.registry.caught_up()
            answers = [through(gateway.ask("GET", "/Loans", secret)) for secret in (old, new)]
            if datetime.now(UTC) < ends:
                break  # asked within the grace
        else:
            pytest.fail("never asked within a grace of 80 s")
        assert answers == [(200, "allowed"), (200, "allowed")]
        answer_becomes(gateway, old, (401, "token was replaced and its grace period has ended"))
        assert through(gateway.ask("GET", "/Loans", new)) == (200, "allowed")


def test_a_gateway_fails_closed_when_tokendesk_is_down(kind: str, scene: Scene) -> None:
    """Nothing listening where the gateway asks: an error for the client, never the API."""
    nowhere = f"127.0.0.1:{free_port()}"
    with start_gateway(kind, nowhere, scene.environment) as gateway:
        answer = gateway.ask("GET", "/Loans", scene.secret)
        assert answer.status >= 500, answer.status
        assert PROTECTED.encode() not in answer.body
        assert SEEN_TOKEN_ID.lower() not in answer.headers
