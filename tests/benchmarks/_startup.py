"""The start-up and peak-memory figures: child processes timed by this one.

Each child is ``_window_child.py`` (see there): TokenDesk's window on the data dir, or the
baseline, an empty QMainWindow with an empty QTableView. The time is taken here, from spawning
the child to reading its ``painted`` line; its ``maxrss`` line gives the peak memory. Children
keep compiled modules in a cache of their own, so that neither compiles source on every start
(an installed app has its bytecode), even where PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHILD = Path(__file__).with_name("_window_child.py")
TIMEOUT = 180.0


@dataclass(frozen=True)
class ChildRun:
    kind: str
    seconds: float  # spawn to "painted"
    max_rss_kib: int
    rows_painted: int
    environment: str
    rows_at_peak: int


def run_child(
    kind: str,
    data_dir: Path | None,
    bytecode: Path,
    timeout: float = TIMEOUT,
    environment: str | None = None,
    database: str | None = None,
) -> ChildRun:
    """One child; *bytecode* is where it caches compiled modules (as an installed app has
    them), whatever PYTHONDONTWRITEBYTECODE says here. TokenDesk opens on *environment* ('' for
    All environments), or on the one it chooses when None; on the registry at *database* (a
    PostgreSQL URL), or the data dir's own."""
    argv = [sys.executable, str(CHILD), kind]
    if data_dir is not None:
        argv.append(str(data_dir))
    if environment is not None:
        argv.append(f"--environment={environment}")
    if database is not None:
        argv.append(f"--database={database}")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPYCACHEPREFIX=str(bytecode))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryFile("w+") as errors:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
        # A hung child is killed, which ends the reads below with EOF: it never hangs the run.
        watchdog = threading.Timer(timeout, child.kill)
        watchdog.start()
        try:
            assert child.stdout is not None
            painted_at: float | None = None
            painted: list[str] = []
            peak: list[str] = []
            for line in child.stdout:
                words = line.split()
                if words[:1] == ["painted"] and painted_at is None:
                    painted_at = time.perf_counter()
                    painted = words
                elif words[:1] == ["maxrss"]:
                    peak = words
            code = child.wait()
        finally:
            watchdog.cancel()
            if child.poll() is None:
                child.kill()
                child.wait()
        if painted_at is None or len(peak) < 3 or code != 0:
            errors.seek(0)
            tail = errors.read()[-2000:]
            raise RuntimeError(f"the {kind} window child failed (exit status {code}): {tail}")
    return ChildRun(
        kind=kind,
        seconds=painted_at - started,
        max_rss_kib=int(peak[1]),
        rows_painted=int(painted[1]),
        environment=" ".join(painted[2:]),
        rows_at_peak=int(peak[2]),
    )


def measure(
    data_dir: Path,
    runs: int,
    say: Callable[[str], None],
    environment: str | None = None,
    database: str | None = None,
) -> tuple[list[ChildRun], list[ChildRun]]:
    """*runs* timed children of each kind, alternating which goes first, after one untimed
    warm-up of each (it fills the page cache with Qt's libraries and the database, and the
    bytecode cache). TokenDesk opens on *environment* and *database* (see :func:`run_child`)."""
    bytecode = data_dir.parent / "bytecode"
    say("  warm-up: one child of each kind")
    run_child("baseline", None, bytecode)
    run_child("tokendesk", data_dir, bytecode, environment=environment, database=database)
    ours: list[ChildRun] = []
    theirs: list[ChildRun] = []
    for n in range(runs):
        order = ("tokendesk", "baseline") if n % 2 == 0 else ("baseline", "tokendesk")
        for kind in order:
            if kind == "tokendesk":
                ours.append(
                    run_child(kind, data_dir, bytecode, environment=environment, database=database)
                )
            else:
                theirs.append(run_child(kind, None, bytecode))
        say(
            f"  run {n + 1}/{runs}: TokenDesk {ours[-1].seconds:.2f} s, "
            f"baseline {theirs[-1].seconds:.2f} s"
        )
    return ours, theirs
