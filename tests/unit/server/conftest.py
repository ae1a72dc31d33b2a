"""The forward-auth application built in this process on a fresh registry (SQLite, then
PostgreSQL: these tests run on both engines), called as an ASGI server calls it. Its follower
thread is not started: a test calls :meth:`Follower.catch_up` and :meth:`Follower.flush` where
the thread would, so nothing depends on timing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from desktop.app import Context, open_context
from desktop.server.app import AuthApplication
from desktop.server.config import Settings
from desktop.server.worker import build
from desktop.services.tokens import TokenService
from tests.helpers.postgres import parametrize_engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)


@pytest.fixture
def service(memory_context: Context) -> TokenService:
    """Production (API on), Sandbox (API off), a Reader role, and alice, who may hold tokens."""
    service = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Sandbox", api_enabled=False)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service


@pytest.fixture
def application(memory_context: Context, service: TokenService) -> Iterator[AuthApplication]:
    """The application on a context of its own (as a worker opens one), with the test's clock."""
    database = getattr(memory_context.database, "url", None)
    context = open_context(
        memory_context.data_dir, need_keyring=False, database=database, clock=service.clock
    )
    settings = Settings(data_dir=memory_context.data_dir, database=database, max_staleness=30)
    app = build(settings, context)
    yield app
    app.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def reason(self) -> tuple[int, str]:
        data = self.json()
        assert data["status"] == self.status
        return self.status, data["reason"]


def call(
    app: AuthApplication,
    path: str,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> Answer:
    """One request as an ASGI server hands it over: ``path`` decoded, ``raw_path`` not;
    *headers* as pairs when a name repeats."""
    pairs = list(headers.items()) if isinstance(headers, dict) else headers or []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": quote(path).encode(),
        "query_string": b"",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in pairs
        ],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    start, content = sent
    assert start["type"] == "http.response.start"
    found = {name.decode(): value.decode("latin-1") for name, value in start["headers"]}
    return Answer(start["status"], found, content["body"])


def auth(
    app: AuthApplication,
    environment: str,
    token: str | None,
    method: str = "GET",
    path: str = "/Loans",
    *,
    forwarded: bool = False,
) -> Answer:
    prefix = "X-Forwarded-" if forwarded else "X-Original-"
    headers = {prefix + "Method": method, prefix + ("Uri" if forwarded else "URI"): path}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return call(app, "/v1/auth/" + environment, headers)
