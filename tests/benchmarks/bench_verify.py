"""How fast are access decisions? ``AccessIndex.verify`` against SHA-256 plus one dict lookup.

Seeds a temporary data dir with 100,000 tokens (:mod:`tests.benchmarks.seed`: rows inserted
directly in one transaction; deciding needs only fingerprints, never the keyring), takes the
in-memory index, and times, over the same presented tokens:

* ``raw``    ``hashlib.sha256(token.encode()).hexdigest()`` and one dict lookup, the floor;
* ``index``  :meth:`AccessIndex.verify`, the full decision (the goal: at least half the floor);
* ``sql``    :meth:`TokenService.verify`, one indexed query per decision, for reference.

Each figure is the best of several runs (``time.perf_counter``). Run it on demand::

    .venv/bin/python tests/benchmarks/bench_verify.py [--tokens N] [--requests N] [--repeat N]

:func:`measure` is what ``tests/benchmarks/run.py`` reuses for its verify figure.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests.*

from desktop.app import open_context
from desktop.domain import tokens
from desktop.services.tokens import AccessIndex, TokenService
from tests.benchmarks.seed import REQUESTS, SeededToken, fake_secret, seed

Request = tuple[str, str, str, str]  # environment, presented token, method, path

REQUESTS_DEFAULT = 200_000
SQL_REQUESTS_DEFAULT = 2_000
REPEAT_DEFAULT = 5
CHECKED = 2_000  # requests both paths must answer alike before speeds mean anything


def workload(
    known: Sequence[SeededToken], size: int, rng: random.Random
) -> tuple[list[Request], Counter[str]]:
    """Mostly allowed requests, some forbidden, some with tokens nobody issued, a few with a
    previous secret still in its grace."""
    requests: list[Request] = []
    kinds: Counter[str] = Counter()
    replaced = [token for token in known if token.previous is not None] or list(known)
    for _ in range(size):
        draw = rng.random()
        token = rng.choice(replaced if draw >= 0.98 else known)
        allowed, refused = REQUESTS[token.role]
        if draw < 0.80:
            requests.append((token.environment, token.secret, *allowed))
            kinds["allowed"] += 1
        elif draw < 0.90:
            requests.append((token.environment, token.secret, *refused))
            kinds["refused"] += 1
        elif draw < 0.98 or token.previous is None:
            requests.append((token.environment, fake_secret(rng), *allowed))
            kinds["unknown"] += 1
        else:
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


@dataclass(frozen=True)
class VerifyResult:
    grants: int
    index_seconds: float  # building the index
    requests: int
    kinds: Counter[str]
    statuses: Counter[int]
    raw: float  # decisions per second: sha256 + dict lookup
    index: float  # AccessIndex.verify
    sql: float  # TokenService.verify
    sql_requests: int

    @property
    def ratio(self) -> float:
        return self.index / self.raw


def measure(
    service: TokenService,
    known: Sequence[SeededToken],
    *,
    requests: int = REQUESTS_DEFAULT,
    sql_requests: int = SQL_REQUESTS_DEFAULT,
    repeat: int = REPEAT_DEFAULT,
    rng: random.Random | None = None,
) -> VerifyResult:
    """Rates of the raw floor, the in-memory index and the SQL path over one workload."""
    rng = rng or random.Random(20260105)
    started = time.perf_counter()
    index = service.access_index()
    index_seconds = time.perf_counter() - started
    work, kinds = workload(known, requests, rng)
    statuses = Counter(index.verify(*request).status for request in work)
    for request in work[:CHECKED]:
        if index.verify(*request) != service.verify(*request):
            raise AssertionError("AccessIndex.verify and TokenService.verify disagree")
    # The floor's dict holds as many entries as the index: every current and previous secret.
    table: dict[str, object] = {}
    for token in known:
        table[tokens.fingerprint(token.secret)] = token
        if token.previous is not None:
            table[tokens.fingerprint(token.previous)] = token
    raw = best_rate(raw_lookup(work, table), len(work), repeat)
    fast = best_rate(index_lookup(work, index), len(work), repeat)
    sample = work[:sql_requests]
    sql = best_rate(lambda: [service.verify(*request) for request in sample], len(sample), repeat)
    return VerifyResult(
        grants=len(index),
        index_seconds=index_seconds,
        requests=len(work),
        kinds=kinds,
        statuses=statuses,
        raw=raw,
        index=fast,
        sql=sql,
        sql_requests=len(sample),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=REQUESTS_DEFAULT)
    parser.add_argument("--sql-requests", type=int, default=SQL_REQUESTS_DEFAULT)
    parser.add_argument("--repeat", type=int, default=REPEAT_DEFAULT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tokendesk-bench-") as tmp:
        seeded = seed(Path(tmp), args.tokens)
        print(f"database: {args.tokens:,} tokens in {seeded.seconds:.1f} s")
        context = open_context(Path(tmp), store=None, need_keyring=False)
        try:
            result = measure(
                context.service,
                seeded.tokens,
                requests=args.requests,
                sql_requests=args.sql_requests,
                repeat=args.repeat,
            )
        finally:
            context.close()
    print(f"index:    {result.grants:,} grants in {result.index_seconds:.2f} s")
    print(
        f"requests: {result.requests:,} ({dict(result.kinds)}) -> statuses {dict(result.statuses)}"
    )
    print(f"raw sha256 + dict lookup: {result.raw:12,.0f} /s")
    print(
        f"AccessIndex.verify:       {result.index:12,.0f} /s   ratio {result.ratio:.2f} "
        "(goal >= 0.5)"
    )
    print(f"TokenService.verify (SQL):{result.sql:12,.0f} /s   ratio {result.sql / result.raw:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
