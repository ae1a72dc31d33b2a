"""The shared registry's figures: the same window, decisions and propagation on SQLite and on
PostgreSQL, side by side in one run (``run.py --only shared``).

The PostgreSQL registry is a database on a private server started for the run
(:mod:`tests.helpers.postgres`: on this machine, over a unix socket, with ``fsync`` and
synchronous commit off, which a throwaway server can afford), seeded with the same generator
and seed as the SQLite file. For each engine:

* first paint: a child process spawned to the first paint of the filled table, against an empty
  QMainWindow with an empty QTableView (:mod:`_startup`), medians of ``--runs`` children;
* a filter keystroke and a sort, on *All environments* (:mod:`_table`, TokenDesk's side only:
  the table is in memory by then, so PostgreSQL's figure stands beside SQLite's as its
  baseline);
* ``verify`` decisions per second (:mod:`bench_verify`);
* propagation: another process (``_writer_child.py``) changes a token's label, at a random
  moment of the window's polling cycle, and the time from its commit returning to the window's
  model holding the new label is taken (wall-clock seconds of one machine), with the window
  following changes as it does when opened by a person (polling, and on PostgreSQL listening).
"""

from __future__ import annotations

import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.app import open_context
from desktop.gui.main_window import MainWindow
from tests.benchmarks import _startup, _table, bench_verify
from tests.benchmarks._common import Figure, app, bench_window, median, ms
from tests.benchmarks.seed import Seeded, seed
from tests.helpers import postgres

WRITER = Path(__file__).with_name("_writer_child.py")
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
PROPAGATIONS = 15
VERIFY_REQUESTS = 100_000
VERIFY_REPEAT = 3
WAIT_S = 60.0

Say = Callable[[str], None]


@dataclass
class EngineResult:
    engine: str
    ours: list[_startup.ChildRun]
    empty: list[_startup.ChildRun]
    table: _table.TableResult
    verify: bench_verify.VerifyResult
    propagation: list[float]  # seconds, commit to the window's model


def _run_events_until(done: Callable[[], bool], timeout: float, what: str) -> None:
    from PySide6.QtCore import QEventLoop

    application = app()
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        application.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)


def _pause(seconds: float) -> None:
    """Run the event loop for *seconds*."""
    until = time.monotonic() + seconds
    _run_events_until(lambda: time.monotonic() >= until, WAIT_S, "a pause")


def propagation(
    window: MainWindow, data_dir: Path, database: str | None, count: int, say: Say
) -> list[float]:
    """Seconds from another process's commit to *window*'s model holding it, *count* times."""
    window.sync.start()  # as a window a person opens follows changes
    listener = window.sync.change_listener
    if listener is not None:
        _run_events_until(lambda: listener.listening, WAIT_S, "listening")
    argv = [sys.executable, str(WRITER), str(data_dir)]
    if database is not None:
        argv.append(f"--database={database}")
    child = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert child.stdin is not None and child.stdout is not None
    said: queue.Queue[str] = queue.Queue()
    output = child.stdout

    def read() -> None:
        for line in output:
            said.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        if said.get(timeout=WAIT_S).strip() != "ready":
            raise RuntimeError("the writer process did not start")
        rng = random.Random(11)
        model = window.model
        ids = model.token_ids()
        seconds: list[float] = []
        for n in range(count):
            _pause(rng.uniform(0.1, 1.0))  # to a random point of the window's polling
            token_id, label = rng.choice(ids), f"propagated {n}"
            seen: list[float] = []

            def shown(
                token_id: int = token_id, label: str = label, seen: list[float] = seen
            ) -> bool:
                row = model.row_of(token_id)
                if row is not None and model.token_at(row).label == label:
                    seen.append(time.time())
                    return True
                return False

            child.stdin.write(f"{token_id} {label}\n")
            child.stdin.flush()
            _run_events_until(shown, WAIT_S, "the change appearing in the window")
            committed = float(said.get(timeout=WAIT_S).split()[1])
            seconds.append(seen[0] - committed)
        say(f"  propagation: median {ms(median(seconds))}, max {ms(max(seconds))}")
        return seconds
    finally:
        child.stdin.close()
        child.wait(WAIT_S)


def measure_engine(
    engine: str, data_dir: Path, database: str | None, seeded: Seeded, runs: int, say: Say
) -> EngineResult:
    name = ENGINES[engine]
    say(f"{name}: first paint, {runs} child processes of each kind")
    ours, empty = _startup.measure(data_dir, runs, say, database=database)
    say(f"{name}: filter and sort on All environments, then propagation")
    with bench_window(data_dir, database) as shown:
        say(f"  showing {shown.description}")
        table = _table._ours(shown.window, app())
        spread = propagation(shown.window, data_dir, database, PROPAGATIONS, say)
    say(f"{name}: verify")
    context = open_context(
        data_dir, actor="bench", store=None, need_keyring=False, database=database
    )
    try:
        verify = bench_verify.measure(
            context.service, seeded.tokens, requests=VERIFY_REQUESTS, repeat=VERIFY_REPEAT
        )
    finally:
        context.close()
    return EngineResult(engine, ours, empty, table, verify, spread)


def figures(results: list[EngineResult]) -> list[Figure]:
    """Each engine's lines; PostgreSQL's filter and sort stand beside SQLite's."""
    lines: list[Figure] = []
    sqlite = next((r for r in results if r.engine == "sqlite"), None)
    for result in results:
        name = ENGINES[result.engine]
        ours = median([run.seconds for run in result.ours])
        empty = median([run.seconds for run in result.empty])
        lines.append(
            Figure(
                f"{name}: first paint, table filled (median)",
                f"{ours:.2f} s",
                f"{empty:.2f} s",
                f"{ours / empty:.2f}x",
                "<= 2x baseline",
                ours / empty <= 2,
                [
                    f"{result.ours[0].rows_painted:,} rows of {result.ours[0].environment}; "
                    "baseline: an empty QMainWindow with an empty QTableView"
                ],
                {
                    "ours_seconds": [run.seconds for run in result.ours],
                    "baseline_seconds": [run.seconds for run in result.empty],
                },
            )
        )
        for what, value, theirs in (
            (
                "filter keystroke (median)",
                result.table.filter_median,
                sqlite.table.filter_median if sqlite and sqlite is not result else None,
            ),
            (
                "sort by any column (median)",
                result.table.sort_median,
                sqlite.table.sort_median if sqlite and sqlite is not result else None,
            ),
        ):
            lines.append(
                Figure(
                    f"{name}: {what}",
                    ms(value),
                    ms(theirs) if theirs is not None else "-",
                    f"{value / theirs:.2f}x" if theirs else "-",
                    "<= 50 ms",
                    value <= 0.050 and not result.table.problems,
                    [
                        f"{result.table.rows:,} rows; baseline: the same on SQLite",
                        *result.table.problems,
                        *result.table.sort_problems,
                    ],
                )
            )
        verify = result.verify
        lines.append(
            Figure(
                f"{name}: verify decisions per second",
                f"{verify.index:,.0f} /s",
                f"{verify.raw:,.0f} /s",
                f"{verify.ratio:.2f}",
                ">= 0.5 of baseline",
                verify.ratio >= 0.5,
                [
                    f"{verify.grants:,} grants, index built in {verify.index_seconds:.2f} s; "
                    f"one SQL query per decision (TokenService.verify): {verify.sql:,.0f} /s"
                ],
            )
        )
        spread = result.propagation
        lines.append(
            Figure(
                f"{name}: a change by another process, to this window (median)",
                ms(median(spread)),
                "-",
                f"max {ms(max(spread))}",
                "<= 1 s",
                max(spread) <= 1.0,
                [
                    f"{len(spread)} changes: "
                    + ", ".join(f"{seconds * 1000:.0f}" for seconds in spread)
                    + " ms"
                ],
                {"seconds": spread},
            )
        )
    return lines


def measure(
    sqlite_dir: Path, sqlite_seeded: Seeded, tokens: int, runs: int, say: Say
) -> list[Figure]:
    """Both engines' figures: SQLite on the data dir ``run.py`` seeded, PostgreSQL on a
    private server seeded alike."""
    results = [measure_engine("sqlite", sqlite_dir, None, sqlite_seeded, runs, say)]
    say("PostgreSQL: starting a private server")
    server = postgres.start()
    try:
        url = server.url(server.new_database())
        pg_dir = sqlite_dir.parent / "data-postgresql"
        pg_dir.mkdir(mode=0o700, exist_ok=True)
        say(f"PostgreSQL: seeding {tokens:,} tokens")
        seeded = seed(pg_dir, tokens, database=url)
        say(seeded.summary())
        results.append(measure_engine("postgresql", pg_dir, url, seeded, runs, say))
    finally:
        server.stop()
    return figures(results)
