"""The Python anchor of the serve benchmark: a bare ASGI application, run by the same server
library as ``tokendesk serve`` (Granian), that does only what any forward-auth answer must: a
SHA-256 of the bearer token and a dict lookup. Whatever ``tokendesk serve`` costs beyond this is
its own (the request's headers read, the decision, metrics, usage counts).

    TOKENDESK_ANCHOR_GRANTS=FILE granian --interface asgi tests.benchmarks._anchor:app

FILE holds one ``<sha256 hex> <token id> <agent>`` line per token (``write_grants``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

GRANTS_VARIABLE = "TOKENDESK_ANCHOR_GRANTS"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def write_grants(path: Path, rows: Iterable[tuple[str, int, str]]) -> None:
    """Write (fingerprint hex, token id, agent name) rows for the anchor to load."""
    with path.open("w", encoding="utf-8") as out:
        for fingerprint, token_id, agent in rows:
            out.write(f"{fingerprint} {token_id} {agent}\n")


def _load() -> dict[bytes, list[tuple[bytes, bytes]]]:
    grants: dict[bytes, list[tuple[bytes, bytes]]] = {}
    source = os.environ.get(GRANTS_VARIABLE)
    if source:
        for line in Path(source).read_text(encoding="utf-8").splitlines():
            fingerprint, token_id, agent = line.split(" ", 2)
            grants[bytes.fromhex(fingerprint)] = [
                (b"x-tokendesk-token-id", token_id.encode()),
                (b"x-tokendesk-agent", agent.encode()),
                (b"content-type", b"application/json"),
            ]
    return grants


_GRANTS = _load()
_ALLOWED = b'{"status": 200, "reason": "allowed"}'
_REFUSED = b'{"status": 401, "reason": "unknown token"}'
_REFUSED_HEADERS = [(b"content-type", b"application/json")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    token = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            token = value[7:] if value[:7].lower() == b"bearer " else b""
            break
    headers = _GRANTS.get(hashlib.sha256(token).digest())
    if headers is None:
        await send({"type": "http.response.start", "status": 401, "headers": _REFUSED_HEADERS})
        await send({"type": "http.response.body", "body": _REFUSED})
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _ALLOWED})
