"""One decision, three doors: for random registries and random requests, ``tokendesk verify``
(the command, in a process of its own), the in-process ``AccessIndex`` and ``tokendesk serve``
behind nginx give the same status and the same reason, every time.

One server and one nginx run for the whole module, on one registry; each example adds its own
environments, roles, agents and tokens to it (names of its own), waits until the server's index
holds them (``/healthz``'s change cursor: no sleeping, no timing), then asks its requests at all
three doors. nginx here takes the environment from a request header (the README's block, with
its environment's name replaced by that header), so one nginx serves every example.

A request nginx refuses itself (a ``..`` above the root, a broken escape: a 400 of its own,
never a pass) cannot reach TokenDesk through it; for those, the server is asked directly, and
the command must not allow them either. A HEAD answer carries no body, so through nginx only its
status is compared; its reason is the server's own, asked directly.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from desktop.app import Context, open_context
from desktop.domain import access, tokens
from desktop.secrets.store import KeyringSecretStore
from tests.helpers import nginx
from tests.helpers.clock import FakeClock
from tests.helpers.gateway import PROTECTED, Gateway
from tests.helpers.serve import ServeProcess, body, serving

PERMISSIONS = (
    "GET /Loans",
    "* /Loans",
    "POST /Payments",
    "GET /Customers",
    "DELETE /Loans",
    "PUT /Customers",
    "* /Reports",
)
PREFIXES = ("", "/odata.svc")
SEGMENTS = ("/Loans", "/loans", "/Payments", "/Customers", "/Reports", "/Admin", "/", "", "//Loans")
SUFFIXES = (
    "",
    "(42)",
    "/5",
    "/../Admin",
    "/./x",
    "/%2e%2e/Admin",
    "/%252e%252e/Admin",
    "/%c0%ae%c0%ae/Admin",
    "%09",
    "%20x",
    "/%EF%BC%8E%EF%BC%8E/Admin",
    ";v=1",
    "?$top=5",
    "?next=/../Admin",
    "/%zz",
)
_examples = itertools.count(1)


# ----------------------------------------------------------------------------- what is drawn


@dataclass(frozen=True)
class TokenPlan:
    environment: int  # index into the example's environments
    agent: int
    active: bool
    expiry: str  # "none", "expired", "later"
    refresh: str  # "none", "grace" (still in it), "ended" (grace over), "zero" (no grace)


@dataclass(frozen=True)
class AgentPlan:
    role: int
    logged_in: bool
    signed: bool
    disabled: bool


@dataclass(frozen=True)
class RequestPlan:
    token: int  # index into the example's tokens
    secret: str  # "current", "previous", "unknown", "malformed"
    environment: int  # index, or -1: an environment that does not exist
    respell: bool  # the environment's name in another case
    method: str
    path: str


@dataclass(frozen=True)
class World:
    environments: tuple[bool, ...]  # API enabled
    roles: tuple[tuple[str, ...], ...]
    agents: tuple[AgentPlan, ...]
    tokens: tuple[TokenPlan, ...]
    requests: tuple[RequestPlan, ...]


def mostly(common: str, *rare: str) -> st.SearchStrategy[str]:
    """*common* four times in five or so, else one of *rare*: every refusal is drawn, yet most
    requests get far enough to be allowed or refused by their role."""
    return st.sampled_from((common,) * (2 * len(rare) + 2) + rare)


likely = st.sampled_from((True,) * 5 + (False,))
unlikely = likely.map(lambda value: not value)
paths = st.builds(
    lambda prefix, segment, suffix: (prefix + segment + suffix) or "/",
    st.sampled_from(PREFIXES),
    mostly("/Loans", *SEGMENTS),
    mostly("", *SUFFIXES),
).map(lambda path: path if path.startswith("/") else "/" + path)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    environments = tuple(draw(st.lists(likely, min_size=1, max_size=2)))
    roles = tuple(
        tuple(draw(st.lists(st.sampled_from(PERMISSIONS), min_size=1, max_size=3, unique=True)))
        for _ in range(draw(st.integers(1, 2)))
    )
    agents = tuple(
        AgentPlan(draw(st.integers(0, len(roles) - 1)), draw(likely), draw(likely), draw(unlikely))
        for _ in range(draw(st.integers(1, 2)))
    )
    token_plans = tuple(
        TokenPlan(
            draw(st.integers(0, len(environments) - 1)),
            draw(st.integers(0, len(agents) - 1)),
            draw(likely),
            draw(mostly("none", "expired", "later")),
            draw(mostly("none", "grace", "ended", "zero")),
        )
        for _ in range(draw(st.integers(1, 3)))
    )
    requests = []
    for _ in range(3):
        token = draw(st.integers(0, len(token_plans) - 1))
        own = token_plans[token].environment
        requests.append(
            RequestPlan(
                token,
                draw(mostly("current", "previous", "unknown", "malformed")),
                draw(st.sampled_from((own, own, own, own, -1, *range(len(environments))))),
                draw(unlikely),
                draw(mostly("GET", *access.METHODS)),
                draw(paths),
            )
        )
    return World(environments, roles, agents, token_plans, tuple(requests))


# ----------------------------------------------------------------------------- the doors


@dataclass
class Doors:
    data_dir: Path
    context: Context
    server: ServeProcess
    gateway: Gateway


@pytest.fixture(scope="module")
def doors(
    tmp_path_factory: pytest.TempPathFactory, keyring_store: KeyringSecretStore
) -> Iterator[Doors]:
    data_dir = tmp_path_factory.mktemp("doors") / "data"
    data_dir.mkdir(mode=0o700)
    context = open_context(data_dir, store=keyring_store)
    try:
        with (
            serving(data_dir) as server,
            nginx.running(server.base_url.removeprefix("http://"), environment=None) as gateway,
        ):
            yield Doors(data_dir, context, server, gateway)
    finally:
        context.close()


def command(
    data_dir: Path, environment: str, secret: str, method: str, path: str
) -> tuple[int, str]:
    """``tokendesk verify --json`` as a gateway's script runs it: a process, the token on
    standard input."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop",
            "--data-dir",
            str(data_dir),
            "verify",
            "--env",
            environment,
            method,
            path,
            "--json",
        ],
        input=secret,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "TOKENDESK_DATABASE"},
    )
    assert result.returncode in (0, 1), result.stderr
    answer = json.loads(result.stdout)
    return int(answer["status"]), str(answer["reason"])


# ----------------------------------------------------------------------------- building


@dataclass
class Built:
    environments: list[str]
    secrets: list[tuple[str, str | None]]  # (current, previous) per token


def build(doors: Doors, world: World) -> Built:
    """The world's environments, roles, agents and tokens, under names of this example's."""
    n = next(_examples)
    service = doors.context.service
    now = datetime.now(UTC)
    environments = [f"Doors{n}e{i}" for i in range(len(world.environments))]
    for name in environments:
        service.add_environment(name, api_enabled=True)
    roles = [f"doors{n}r{i}" for i in range(len(world.roles))]
    for name, permissions in zip(roles, world.roles, strict=True):
        service.add_role(name, list(permissions))
    agents = [f"doors{n}a{i}" for i in range(len(world.agents))]
    for name, agent_plan in zip(agents, world.agents, strict=True):
        service.add_agent(name, roles[agent_plan.role], has_logged_in=True, signed_agreement=True)
    secrets: list[tuple[str, str | None]] = []
    # Contexts whose clocks run behind: two days (an expired token is made, and refreshed,
    # there, since a token gets no new secret once it has expired) and two hours (a refresh
    # whose hour of grace is over by now).
    with (
        _context_at(doors, now - timedelta(days=2)) as days_ago,
        _context_at(doors, now - timedelta(hours=2)) as hours_ago,
    ):
        for plan in world.tokens:
            environment, agent = environments[plan.environment], agents[plan.agent]
            expired = plan.expiry == "expired"
            maker = days_ago.service if expired else service
            later = {"expired": now - timedelta(days=1), "later": now + timedelta(days=30)}
            issued = maker.create_token(environment, agent, expires=later.get(plan.expiry))
            token_id, current, previous = issued.token.id, issued.secret, None
            if plan.refresh != "none":
                grace = "0" if plan.refresh == "zero" else "1h"
                refresher = hours_ago.service if plan.refresh == "ended" and not expired else maker
                previous, current = current, refresher.refresh(token_id, grace=grace).secret
            secrets.append((current, previous))
            if not plan.active:
                service.set_status(token_id, False)
    for name, agent_plan in zip(agents, world.agents, strict=True):
        if not (agent_plan.logged_in and agent_plan.signed):
            service.update_agent(
                name, has_logged_in=agent_plan.logged_in, signed_agreement=agent_plan.signed
            )
        if agent_plan.disabled:
            service.set_agent_disabled(name, True)
    for name, enabled in zip(environments, world.environments, strict=True):
        if not enabled:
            service.set_api_enabled(name, False)
    return Built(environments, secrets)


def _context_at(doors: Doors, when: datetime) -> closing[Context]:
    """Another context on the module's registry whose clock reads *when*."""
    return closing(
        open_context(doors.data_dir, store=doors.context.service.store, clock=FakeClock(when))
    )


# ----------------------------------------------------------------------------- the property


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(world=worlds())
def test_verify_the_index_and_serve_through_nginx_agree(doors: Doors, world: World) -> None:
    built = build(doors, world)
    doors.server.wait_caught_up(doors.context.service.change_cursor())
    index = doors.context.service.access_index()
    for plan in world.requests:
        current, previous = built.secrets[plan.token]
        secret = {
            "current": current,
            "previous": previous or current,
            "unknown": tokens.generate(),
            "malformed": current[:-1] + ("A" if current[-1] != "A" else "B"),
        }[plan.secret]
        environment = built.environments[plan.environment] if plan.environment >= 0 else "Nowhere"
        if plan.respell:
            environment = environment.swapcase()
        path = plan.path.split("?", 1)[0]  # the query string is the API's own business
        said = command(doors.data_dir, environment, secret, plan.method, path)
        decided = index.verify(environment, secret, plan.method, path)
        assert (decided.status, decided.reason) == said, plan
        answer = doors.gateway.ask(
            plan.method, plan.path, secret, environment=quote(environment, safe="")
        )
        direct = body(doors.server.auth(environment, secret, plan.method, plan.path))
        assert direct == said, plan
        event(f"status {said[0]}")
        if answer.status == 400 and answer.reason is None:
            event("refused by nginx itself")
            # nginx refused the request line itself: never a pass, and TokenDesk agrees.
            assert said[0] != 200, plan
        elif said[0] == 200 or plan.method == "HEAD":
            assert answer.status == said[0], plan
            if said[0] == 200 and plan.method != "HEAD":
                assert answer.body.decode() == PROTECTED
        else:
            assert (answer.status, answer.reason) == said, (plan, answer.body[:200])
