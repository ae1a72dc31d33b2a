"""``tokendesk serve`` when the registry goes away and comes back, when it is stopped, and what
it writes: a real process, real sockets, the real PostgreSQL server stopped under load.

Every wait is a poll of ``/healthz`` with a generous deadline; nothing here times the server.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from desktop.app import Context, open_context
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from desktop.storage import repository
from desktop.storage.database import DB_FILENAME
from tests.helpers.postgres import PostgresServer
from tests.helpers.serve import ServeProcess, body, serving


@pytest.fixture
def live(data_dir: Path, registry: str | None) -> Iterator[Context]:
    context = open_context(data_dir, store=InMemorySecretStore(), database=registry)
    yield context
    context.close()


def directory(service: TokenService) -> str:
    """Production, a Reader role, one agent and one token: its secret."""
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Ada Bot", "Reader", has_logged_in=True, signed_agreement=True)
    return service.create_token("Production", "Ada Bot").secret


class Load:
    """Requests on one keep-alive connection, as fast as they are answered, from a thread:
    the statuses seen, and any failure that was not an HTTP answer."""

    def __init__(self, server: ServeProcess, secret: str) -> None:
        self._server = server
        self._secret = secret
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        headers = {
            "Authorization": f"Bearer {self._secret}",
            "X-Original-Method": "GET",
            "X-Original-URI": "/Loans",
        }
        with httpx.Client(base_url=self._server.base_url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    response = client.get("/v1/auth/Production", headers=headers)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                self.statuses[response.status_code] += 1


def _warnings(log: str, text: str) -> int:
    return sum(1 for line in log.splitlines() if "WARNING" in line and text in line)


@pytest.mark.postgresql_only
@pytest.mark.slow
def test_postgres_stopped_under_load_then_503_then_heals(
    live: Context, data_dir: Path, registry: str | None, postgres_server: PostgresServer
) -> None:
    """The server keeps answering from its index while PostgreSQL is down, up to the bound;
    then 503 to every request and /healthz, one WARNING; when PostgreSQL is back it heals by
    itself (one INFO) and follows changes again."""
    service = live.service
    secret = directory(service)
    token_id = service.tokens()[0].id
    with (
        serving(data_dir, database=registry, max_staleness=2) as server,
        Load(server, secret) as load,
    ):
        server.wait_caught_up(service.change_cursor())
        postgres_server.halt()
        try:
            assert body(server.auth("Production", secret, "GET", "/Loans"))[0] in (200, 503)
            report = server.wait_for_health(503)
            assert report["reason"].startswith("registry unreachable for ")
            status, reason = body(server.auth("Production", secret, "GET", "/Loans"))
            assert status == 503 and reason.startswith("registry unreachable for ")
            assert server.auth("Production", "nonsense", "GET", "/Loans").status_code == 503
        finally:
            postgres_server.resume()
        server.wait_for_health(200)
        assert body(server.auth("Production", secret, "GET", "/Loans")) == (200, "allowed")
        service.set_status(token_id, False)  # the test's connection reconnects by itself
        server.wait_caught_up(service.change_cursor())
        assert body(server.auth("Production", secret, "GET", "/Loans")) == (
            401,
            "token is inactive",
        )
    # The load saw answers only: from the index, 503 past the bound, from the index again.
    assert load.failures == []
    assert set(load.statuses) <= {200, 401, 503} and load.statuses[503] > 0
    log = server.log()
    assert _warnings(log, "registry unreachable for") == 1, log
    assert "the registry answers again after" in log
    assert server.exit_code == 0


def test_every_request_under_load_is_answered(
    live: Context, data_dir: Path, registry: str | None
) -> None:
    """Requests back to back on one connection, while /healthz is asked beside them: every
    one is answered, and allowed."""
    secret = directory(live.service)
    with serving(data_dir, database=registry) as server, Load(server, secret) as load:
        server.wait_caught_up(live.service.change_cursor())
        while load.statuses[200] < 200 and not load.failures:
            server.health()
    assert load.failures == []
    assert set(load.statuses) == {200}


@pytest.mark.sqlite_only
def test_a_deleted_sqlite_file_is_503_until_it_is_back(live: Context, data_dir: Path) -> None:
    secret = directory(live.service)
    registry = data_dir / DB_FILENAME
    aside = data_dir / "moved-away"
    with serving(data_dir, max_staleness=1) as server:
        registry.rename(aside)
        try:
            report = server.wait_for_health(503)
            assert report["reason"].startswith("registry unreachable for ")
            assert server.auth("Production", secret, "GET", "/Loans").status_code == 503
            assert not registry.exists()
        finally:
            aside.rename(registry)
        server.wait_for_health(200)
        assert body(server.auth("Production", secret, "GET", "/Loans")) == (200, "allowed")
    assert _warnings(server.log(), "registry unreachable for") == 1
    assert server.exit_code == 0


def test_uses_are_counted_and_written_in_few_batches(
    live: Context, data_dir: Path, registry: str | None
) -> None:
    """N requests over new connections to two workers (either may take each; each counts and
    writes its own): a few writes, never one per request, and after a graceful stop the
    registry's counts add up to N."""
    workers = 2
    service = live.service
    secret = directory(service)
    refused_secret = service.create_token("Production", "Ada Bot")
    service.set_status(refused_secret.token.id, False)
    token_id = service.tokens()[0].id
    allowed, refused = 120, 30
    with serving(data_dir, database=registry, workers=workers) as server:
        server.wait_caught_up(service.change_cursor())
        for _ in range(allowed):
            assert server.auth("Production", secret, "GET", "/Loans").status_code == 200
        for _ in range(refused):
            answer = server.auth("Production", refused_secret.secret, "GET", "/Loans")
            assert answer.status_code == 401
        writes = _metric(server.metrics(), "tokendesk_usage_writes_total")
    assert server.exit_code == 0
    assert writes <= 4 * workers  # one every few seconds per worker, whatever the requests
    uses = repository.token_uses(live.database)
    assert uses[token_id][1] == allowed
    assert uses[refused_secret.token.id][1] == refused


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in {text}")


def test_sigterm_lets_a_request_in_flight_finish(
    live: Context, data_dir: Path, registry: str | None
) -> None:
    """A request half sent when SIGTERM arrives is still answered; then it exits 0."""
    secret = directory(live.service)
    with serving(data_dir, database=registry) as server:
        server.wait_caught_up(live.service.change_cursor())
        address = urlsplit(server.base_url)
        assert address.hostname is not None and address.port is not None
        with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
            raw.sendall(
                b"GET /v1/auth/Production HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"X-Original-Method: GET\r\nX-Original-URI: /Loans\r\n"
            )
            server.process.terminate()
            _wait_until_refused(address.hostname, address.port)
            raw.sendall(f"Authorization: Bearer {secret}\r\n\r\n".encode())
            answer = b""
            while chunk := raw.recv(4096):
                answer += chunk
        assert server.process.wait(30) == 0
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b"x-tokendesk-token-id" in answer


def _wait_until_refused(host: str, port: int) -> None:
    """Until the server no longer accepts connections (it has begun to stop)."""
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except OSError:
            return
        time.sleep(0.02)
    raise AssertionError("the server kept accepting connections after SIGTERM")
