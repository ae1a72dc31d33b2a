"""The forward-auth application: a plain ASGI callable, no web framework, since it has one
route that decides and two that report, and every microsecond per request is the gateway's.

- ``ANY /v1/auth/{environment}``: the decision ``tokendesk verify`` makes, for the token in
  ``Authorization: Bearer``, the method in ``X-Original-Method`` (else ``X-Forwarded-Method``)
  and the path in ``X-Original-URI`` (else ``X-Forwarded-Uri``, its query string cut off).
  200 carries ``X-TokenDesk-Token-Id`` and ``X-TokenDesk-Agent`` for the API behind the gateway;
  401 carries ``WWW-Authenticate: Bearer realm="<environment>"``; the body is always
  ``{"status": N, "reason": "…"}``, never the token. A deciding header given twice, or
  X-Original-* naming another request than X-Forwarded-*, is refused (400; 401 for two
  ``Authorization``), never decided on one of the copies. Past ``--max-staleness`` without the
  registry answering, every one is 503.
- ``GET /healthz``: 200 ``{"status": "ok", "changes": N, …}`` while the index is current, else
  503; ``changes`` is the change-log cursor every worker's index reflects.
- ``GET /metrics``: Prometheus text (:mod:`desktop.server.metrics`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from desktop.domain.access import Decision
from desktop.domain.tokens import conceal
from desktop.server.follower import Follower
from desktop.server.metrics import CONTENT_TYPE, Metrics
from desktop.server.usage import UsageCounter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger(__name__)
access_log = logging.getLogger("desktop.server.access")

AUTH_PREFIX = "/v1/auth/"
PUBLISH_INTERVAL_S = 1.0
_JSON = (b"content-type", b"application/json")
_NO_STORE = (b"cache-control", b"no-store")
_perf = time.perf_counter
_monotonic = time.monotonic
# An agent's name as a header value: printable ASCII as it is, anything else (and "%")
# percent-encoded as UTF-8, so a header never carries a byte a proxy may reject.
_HEADER_SAFE = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) != "%")


_BODIES: dict[tuple[int, str], bytes] = {}
_AGENTS: dict[str, bytes] = {}
_KEPT = 4096  # answers and names remembered, at most: a request's text is in some reasons


def _body(status: int, reason: str) -> bytes:
    """The JSON body of an answer: made once per distinct answer (a few are most of them)."""
    key = (status, reason)
    body = _BODIES.get(key)
    if body is None:
        # A reason may quote a request's text: a secret there is shown as verify shows it.
        reason = conceal(reason)
        body = json.dumps({"status": status, "reason": reason}).encode()
        if len(_BODIES) < _KEPT:
            _BODIES[key] = body
    return body


def _agent_header(agent: str) -> bytes:
    value = _AGENTS.get(agent)
    if value is None:
        value = quote(agent, safe=_HEADER_SAFE).encode()
        if len(_AGENTS) < _KEPT:
            _AGENTS[agent] = value
    return value


class AuthApplication:
    """The ASGI application of one worker: decisions from *follower*'s index, uses counted in
    *usage*, answers counted in *metrics*. The ASGI lifespan's shutdown stops the follower,
    which writes the last uses."""

    def __init__(
        self,
        follower: Follower,
        usage: UsageCounter,
        metrics: Metrics,
        *,
        access_log: bool = False,
    ) -> None:
        self.follower = follower
        self.usage = usage
        self.metrics = metrics
        self._access_log = access_log
        self._max_staleness = follower.max_staleness
        self._closed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(AUTH_PREFIX):
                await self._auth(scope, path[len(AUTH_PREFIX) :], send)
            elif path == "/healthz":
                await self._health(send)
            elif path == "/metrics":
                await _respond(send, 200, self.metrics.render(), [(b"content-type", CONTENT_TYPE)])
            else:
                await _respond(send, 404, _body(404, "not found"), [_JSON])
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # ----------------------------------------------------------------- /v1/auth

    async def _auth(self, scope: Scope, environment: str, send: Send) -> None:
        started = _perf()
        follower = self.follower
        raw_headers = scope["headers"]
        headers = dict(raw_headers)
        method = headers.get(b"x-original-method") or headers.get(b"x-forwarded-method")
        uri = headers.get(b"x-original-uri") or headers.get(b"x-forwarded-uri")
        extra: list[tuple[bytes, bytes]] = [_JSON, _NO_STORE]
        token_id = None
        now = _monotonic()
        unconfirmed = now - follower.confirmed_at
        index = follower.index
        unclear = None
        if (
            len(headers) != len(raw_headers)
            or (b"x-original-uri" in headers and b"x-forwarded-uri" in headers)
            or (b"x-original-method" in headers and b"x-forwarded-method" in headers)
        ):
            unclear = _unclear_headers(raw_headers, headers)
        if unconfirmed > self._max_staleness:
            status = 503
            body = _body(503, f"registry unreachable for {unconfirmed:.0f} s")
        elif unclear is not None:
            status, reason = unclear
            body = _body(status, reason)
            if status == 401:
                extra.append((b"www-authenticate", _challenge(environment)))
        elif method is None:
            status = 400
            body = _body(400, "missing X-Original-Method or X-Forwarded-Method header")
        elif uri is None:
            status = 400
            body = _body(400, "missing X-Original-URI or X-Forwarded-Uri header")
        else:
            authorization = headers.get(b"authorization")
            if authorization is None or authorization[:7].lower() != b"bearer ":
                decision = Decision(401, "no bearer token")
            else:
                decision = index.verify(
                    environment,
                    authorization[7:].strip().decode("latin-1"),
                    method.decode("latin-1").upper(),
                    uri.decode("latin-1").split("?", 1)[0],
                )
            status = decision.status
            body = _body(status, decision.reason)
            token_id = decision.token_id
            if token_id is not None:
                self.usage.count(token_id, now)
            if status == 200:
                agent = index.agent(token_id) if token_id is not None else None
                extra.append((b"x-tokendesk-token-id", str(token_id).encode()))
                extra.append((b"x-tokendesk-agent", _agent_header(agent or "")))
            elif status == 401:
                extra.append((b"www-authenticate", _challenge(environment)))
        await _respond(send, status, body, extra)
        self.metrics.decided(index.environment_name(environment), status, _perf() - started)
        if self._access_log:
            access_log.info(
                "%s %r %d token=%s",
                (method or b"-").decode("latin-1")[:10],
                environment[:80],
                status,
                token_id if token_id is not None else "-",
            )

    # ----------------------------------------------------------------- reports

    async def _health(self, send: Send) -> None:
        follower = self.follower
        unconfirmed = follower.unconfirmed_for()
        changes = self.metrics.least_changes() if self.metrics.multiprocess else None
        report: dict[str, Any] = {
            "status": "ok",
            "changes": follower.cursor if changes is None else min(changes, follower.cursor),
            "worker_changes": follower.cursor,
            "secrets": len(follower.index),
            "unconfirmed_seconds": round(unconfirmed, 3),
            "max_staleness": self._max_staleness,
            "pid": os.getpid(),
        }
        status = 200
        if unconfirmed > self._max_staleness:
            status = 503
            report["status"] = "unavailable"
            report["reason"] = f"registry unreachable for {unconfirmed:.0f} s"
        await _respond(send, status, json.dumps(report).encode(), [_JSON, _NO_STORE])

    # ----------------------------------------------------------------- lifespan

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.follower.start()
                self._publish_every_second(asyncio.get_running_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _publish_every_second(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand the answers counted to the metrics every second, on the event loop (the
        thread that counts them), so every worker's ``/metrics`` share is at most a second
        old."""
        if self._closed:
            return
        self.metrics.publish()
        loop.call_later(PUBLISH_INTERVAL_S, self._publish_every_second, loop)

    def start(self) -> None:
        """Start following the registry (the lifespan's startup does, under a server)."""
        self.follower.start()

    def close(self) -> None:
        """Stop following, write the last uses counted and close the registry."""
        if self._closed:
            return
        self._closed = True
        self.follower.stop()
        self.metrics.publish()
        self.metrics.close()


# The headers a decision is made from: given twice, a gateway and the API behind it may each
# read another one; X-Original-* beside a different X-Forwarded-* means one of them came from
# the client (Traefik and Caddy pass the client's X-Original-* through, then set X-Forwarded-*),
# and deciding on the client's copy would let it ask for one request and send another.
_SPELLED = {
    b"authorization": "Authorization",
    b"x-original-method": "X-Original-Method",
    b"x-forwarded-method": "X-Forwarded-Method",
    b"x-original-uri": "X-Original-URI",
    b"x-forwarded-uri": "X-Forwarded-Uri",
}
_DECIDING = tuple(_SPELLED)


def _unclear_headers(
    raw: list[tuple[bytes, bytes]], headers: dict[bytes, bytes]
) -> tuple[int, str] | None:
    """Why the deciding headers do not name one request (the status and reason), or None.
    Called only when a header repeats or both families are present: the usual request never
    pays for it."""
    if len(headers) != len(raw):
        names = [name for name, _ in raw]
        for name in _DECIDING:
            if names.count(name) > 1:
                status = 401 if name == b"authorization" else 400
                return status, f"more than one {_SPELLED[name]} header"
    original, forwarded = headers.get(b"x-original-method"), headers.get(b"x-forwarded-method")
    if original and forwarded and original.upper() != forwarded.upper():
        return 400, "X-Original-Method and X-Forwarded-Method differ"
    original, forwarded = headers.get(b"x-original-uri"), headers.get(b"x-forwarded-uri")
    if original and forwarded and original.split(b"?", 1)[0] != forwarded.split(b"?", 1)[0]:
        return 400, "X-Original-URI and X-Forwarded-Uri differ"
    return None


def _challenge(environment: str) -> bytes:
    """``WWW-Authenticate`` for a 401: the environment as the realm, quoted, any secret pasted
    into it concealed as in the body, and percent-encoded beyond printable ASCII."""
    realm = conceal(environment)
    realm = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Bearer realm="{quote(realm, safe=_HEADER_SAFE)}"'.encode()


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
