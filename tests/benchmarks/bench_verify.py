"""How fast are access decisions? ``AccessIndex.verify`` against SHA-256 plus one dict lookup.

Builds a database of 100,000 tokens in a temporary directory (rows inserted directly in one
transaction: deciding needs only fingerprints, never the keyring), takes the in-memory index,
and times, over the same presented tokens:

* ``raw``    ``hashlib.sha256(token.encode()).hexdigest()`` and one dict lookup, the floor;
* ``index``  :meth:`AccessIndex.verify`, the full decision (the goal: at least half the floor);
* ``sql``    :meth:`TokenService.verify`, one indexed query per decision, for reference.

Each figure is the best of several runs (``time.perf_counter``). Run it on demand::

    .venv/bin/python tests/benchmarks/bench_verify.py [--tokens N] [--requests N] [--repeat N]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from desktop.app import Context, open_context
from desktop.domain import tokens
from desktop.services.tokens import AccessIndex
from desktop.storage.models import ACTIVE, INACTIVE, READY, Environment, Token, naive

Request = tuple[str, str, str, str]  # environment, presented token, method, path

ENVIRONMENTS = ["Production", "Staging"]
ROLES = {
    "Reader": ["GET /Loans", "GET /Customers"],
    "Collections": ["GET /Loans", "POST /Payments", "GET /Payments", "PUT /Customers"],
    "Admin": ["* /Loans", "* /Customers", "* /Payments", "GET /Reports"],
}
ALLOWED = {  # a request each role may make, and one it may not
    "Reader": (("GET", "/Loans(42)"), ("DELETE", "/Loans(42)")),
    "Collections": (("POST", "/odata.svc/Payments"), ("DELETE", "/Payments(7)")),
    "Admin": (("PATCH", "/Customers/9"), ("POST", "/Reports")),
}


def fake_secret(rng: random.Random) -> str:
    """A well-formed token, quicker than :func:`tokens.generate` (a benchmark needs no CSPRNG)."""
    body = "".join(rng.choices(tokens.ALPHABET, k=tokens.BODY_LENGTH))
    return tokens.PREFIX + body + tokens.checksum(body)


@dataclass(frozen=True)
class Issued:
    environment: str
    secret: str
    role: str
    previous: str | None  # a replaced secret still in its grace period


def build(data_dir: Path, count: int, rng: random.Random) -> tuple[Context, list[Issued]]:
    """The database: *count* tokens spread over two environments and 60 agents in three roles;
    about 1 in 100 inactive, 1 in 50 with a previous secret in its grace."""
    context = open_context(data_dir, store=None, need_keyring=False)
    service = context.service
    for env in ENVIRONMENTS:
        service.add_environment(env)
    agents: list[tuple[int, str]] = []
    for role, permissions in ROLES.items():
        service.add_role(role, permissions)
        for n in range(20):
            view = service.add_agent(
                f"{role} agent {n}", role, has_logged_in=True, signed_agreement=True
            )
            agents.append((view.id, role))
    env_ids = {env.name: env.id for env in Environment.select()}
    now = naive(datetime.now(UTC))
    rows = []
    issued: list[Issued] = []
    for n in range(count):
        secret = fake_secret(rng)
        previous = fake_secret(rng) if n % 50 == 0 else None
        env = rng.choice(ENVIRONMENTS)
        agent_id, role = rng.choice(agents)
        rows.append(
            {
                "uuid": f"{rng.getrandbits(128):032x}",
                "environment": env_ids[env],
                "agent": agent_id,
                "label": "",
                "status": INACTIVE if n % 100 == 99 else ACTIVE,
                "phase": READY,
                "generation": 1 if previous else 0,
                "fingerprint": tokens.fingerprint(secret),
                "hint": tokens.hint(secret),
                "previous_fingerprint": tokens.fingerprint(previous) if previous else None,
                "grace_until": now + timedelta(hours=1) if previous else None,
                "grace_seconds": 3600 if previous else 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        issued.append(Issued(env, secret, role, previous))
    with context.database.atomic():
        for start in range(0, len(rows), 5000):
            Token.insert_many(rows[start : start + 5000]).execute()
    return context, issued


def workload(
    known: list[Issued], size: int, rng: random.Random
) -> tuple[list[Request], Counter[str]]:
    """Mostly allowed requests, some forbidden, some with tokens nobody issued, a few with a
    previous secret still in its grace."""
    requests: list[Request] = []
    kinds: Counter[str] = Counter()
    replaced = [token for token in known if token.previous is not None]
    for _ in range(size):
        draw = rng.random()
        token = rng.choice(replaced if draw >= 0.98 else known)
        allowed, refused = ALLOWED[token.role]
        if draw < 0.80:
            requests.append((token.environment, token.secret, *allowed))
            kinds["allowed"] += 1
        elif draw < 0.90:
            requests.append((token.environment, token.secret, *refused))
            kinds["refused"] += 1
        elif draw < 0.98:
            requests.append((token.environment, fake_secret(rng), *allowed))
            kinds["unknown"] += 1
        else:
            assert token.previous is not None
            requests.append((token.environment, token.previous, *allowed))
            kinds["previous"] += 1
    return requests, kinds


def best_rate(run: Callable[[], object], count: int, repeat: int) -> float:
    """Decisions per second, best of *repeat* runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def raw_lookup(requests: Sequence[Request], table: dict[str, object]) -> Callable[[], object]:
    def run() -> object:
        sha256 = hashlib.sha256
        get = table.get
        found = None
        for _, presented, _, _ in requests:
            found = get(sha256(presented.encode()).hexdigest())
        return found

    return run


def index_lookup(requests: Sequence[Request], index: AccessIndex) -> Callable[[], object]:
    def run() -> object:
        verify = index.verify
        decision = None
        for env, presented, method, path in requests:
            decision = verify(env, presented, method, path)
        return decision

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--sql-requests", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rng = random.Random(20260105)
    with tempfile.TemporaryDirectory(prefix="tokendesk-bench-") as tmp:
        started = time.perf_counter()
        context, known = build(Path(tmp), args.tokens, rng)
        service = context.service
        print(f"database: {args.tokens:,} tokens in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        index = service.access_index()
        print(f"index:    {len(index):,} grants in {time.perf_counter() - started:.2f} s")
        requests, kinds = workload(known, args.requests, rng)
        statuses = Counter(index.verify(*request).status for request in requests)
        print(f"requests: {args.requests:,} ({dict(kinds)}) -> statuses {dict(statuses)}")
        # The two paths must agree before their speeds mean anything.
        for request in requests[:2000]:
            assert index.verify(*request) == service.verify(*request), request
        table: dict[str, object] = {}
        for env in ENVIRONMENTS:
            table.update(index._by_env[env.lower()])
        raw = best_rate(raw_lookup(requests, table), len(requests), args.repeat)
        fast = best_rate(index_lookup(requests, index), len(requests), args.repeat)
        sample = requests[: args.sql_requests]
        sql = best_rate(
            lambda: [service.verify(*request) for request in sample], len(sample), args.repeat
        )
        print(f"raw sha256 + dict lookup: {raw:12,.0f} /s")
        print(f"AccessIndex.verify:       {fast:12,.0f} /s   ratio {fast / raw:.2f} (goal >= 0.5)")
        print(f"TokenService.verify (SQL):{sql:12,.0f} /s   ratio {sql / raw:.3f}")
        context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
