"""How fresh is ``tokendesk serve``? Keeping its index current, and a change reaching it.

Seeds a temporary registry with 100,000 tokens (:mod:`tests.benchmarks.seed`; on SQLite, and
with ``--postgres`` on a private PostgreSQL server too) and measures, each beside its baseline:

* ``update, one token``: :meth:`AccessDecisions.updated_index` after one token changed, against
  ``snapshot``, a whole new :meth:`AccessDecisions.access_index` (the baseline: what the server
  would pay without the change log);
* ``update, one agent``: the same after an agent was disabled (a directory change: every token
  of that agent is read again);
* ``update, one environment``: after an environment's API access was turned off (a quarter of
  the tokens are in it);
* ``propagation``: a real ``tokendesk serve`` on a free port, a token deactivated through the
  service, and the time until the server first answers 401 for it (polled every 5 ms; the
  goal is one second, the server polls SQLite every 0.25 s and hears PostgreSQL's NOTIFY).

Run it on demand (about 2 minutes, 4 with ``--postgres``)::

    .venv/bin/python tests/benchmarks/bench_serve.py [--tokens N] [--runs N] [--postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests.*

from desktop.app import Context, open_context
from tests.benchmarks.seed import seed
from tests.helpers import postgres
from tests.helpers.serve import serving


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _row(figure: str, seconds: list[float], baseline: float | None = None) -> None:
    median = statistics.median(seconds)
    text = f"  {figure:<28} median {median * 1000:8.1f} ms   max {max(seconds) * 1000:8.1f} ms"
    if baseline:
        text += f"   {median / baseline:6.3f} x the snapshot"
    print(text, flush=True)


def measure(context: Context, data_dir: Path, database: str | None, runs: int) -> None:
    service = context.service
    access = service.access
    snapshot = [_timed(service.access_index) for _ in range(3)]
    _row("snapshot (baseline)", snapshot)
    base = statistics.median(snapshot)
    index = service.access_index()
    cursor = service.change_cursor()
    ids = [token.id for token in service.tokens("Production") if token.active][: runs * 2]

    def update() -> float:
        nonlocal index, cursor
        changes = service.changes_since(cursor)
        directory = changes.names or changes.directory
        seconds = _timed(lambda: access.updated_index(index, changes.tokens, directory=directory))
        index = access.updated_index(index, changes.tokens, directory=directory)
        cursor = changes.cursor
        return seconds

    one_token = []
    for token_id in ids[:runs]:
        service.set_status(token_id, False)
        one_token.append(update())
        service.set_status(token_id, True)
        update()
    _row("update, one token", one_token, base)
    one_agent = []
    for agent in service.agents()[:runs]:
        service.set_agent_disabled(agent.name, True)
        one_agent.append(update())
        service.set_agent_disabled(agent.name, False)
        update()
    _row("update, one agent", one_agent, base)
    service.set_api_enabled("Staging", False)
    _row("update, one environment", [update()], base)
    service.set_api_enabled("Staging", True)
    update()

    propagation = []
    with serving(data_dir, database=database) as server:
        for token_id in ids[runs : runs * 2]:
            server.wait_caught_up(service.change_cursor())
            secret = _SECRETS[token_id]
            assert server.auth("Production", secret, "GET", "/Loans").status_code != 401
            started = time.monotonic()
            service.set_status(token_id, False)
            while server.auth("Production", secret, "GET", "/Loans").status_code != 401:
                if time.monotonic() - started > 30:
                    raise AssertionError("the deactivation never reached the server")
                time.sleep(0.005)
            propagation.append(time.monotonic() - started)
    _row("propagation (goal 1 s)", propagation)


_SECRETS: dict[int, str] = {}  # token id -> its seeded secret


def _seed(data_dir: Path, tokens: int, database: str | None) -> None:
    seeded = seed(data_dir, tokens, database=database)
    context = open_context(data_dir, need_keyring=False, database=database)
    try:
        # Seeded tokens are numbered in the order seed() made them.
        rows = context.database.rows("SELECT id, fingerprint FROM token ORDER BY id")
        from desktop.domain import tokens as token_format

        by_fingerprint = {token_format.fingerprint(t.secret): t.secret for t in seeded.tokens}
        for token_id, fingerprint in rows:
            if fingerprint in by_fingerprint:
                _SECRETS[int(token_id)] = by_fingerprint[fingerprint]
    finally:
        context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL beside SQLite")
    args = parser.parse_args()
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    server = postgres.start() if args.postgres else None
    try:
        for engine in engines:
            data_dir = Path(tempfile.mkdtemp(prefix="bench-serve-")) / "data"
            data_dir.mkdir(mode=0o700)
            database = None
            if engine == "postgresql":
                assert server is not None
                database = server.url(server.empty_database())
            print(f"{engine}: {args.tokens:,} tokens", flush=True)
            _SECRETS.clear()
            _seed(data_dir, args.tokens, database)
            context = open_context(data_dir, need_keyring=False, database=database)
            try:
                measure(context, data_dir, database, args.runs)
            finally:
                context.close()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
