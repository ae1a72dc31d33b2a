"""TokenDesk's benchmark suite: each figure beside its baseline, both measured in the same run.

    .venv/bin/python tests/benchmarks/run.py [--tokens 100000] [--rotations 1000] [--json FILE]
                                             [--only NAME[,NAME...]] [--runs 5]

Run it on demand from a checkout set up with ``.ci/setup --dev``, on an otherwise idle machine
(never in CI: at 100,000 tokens it takes several minutes, most of them in keyring calls). It
starts a private D-Bus session with an unlocked gnome-keyring (as the test suite does), seeds a
temporary data dir with ``--tokens`` tokens of which ``--rotations`` are due for rotation
(``seed.py``), measures, prints the machine and a table of figure, TokenDesk's value, the
baseline's, their ratio, the target and whether it is met, and removes what it created.
``--json FILE`` also writes the results there; ``--only`` runs some figures: startup (with
memory), filter, sort, verify, rotations, recovery, shared, serve.

The figures, and what each is measured against:

* start-up: spawning a process to the first paint of the table with rows in it (the window as it
  opens), against an empty QMainWindow with an empty QTableView; medians of ``--runs`` children.
  Taken twice: on the environment the window opens on, and on All environments (every token,
  the biggest view), each beside baseline children of its own.
* filter: one keystroke in the filter box to the table repainted, median of a typing sequence,
  against the same display texts in a Python table model under a QSortFilterProxyModel.
* sort: any column, either order, to the table repainted, median; the proxy sorts two columns.
* memory: the peak RSS of those children after showing every token and filtering once.
* verify: ``AccessIndex.verify`` decisions per second against SHA-256 plus a dict lookup
  (``bench_verify.measure``).
* rotations: the due tokens rotated by the window's runner: the event loop's longest stall (a
  10 ms heartbeat timer's largest gap) and the total time, against the same keyring calls bare.
* recovery: ``TokenService.reconcile()`` with nothing to recover, and ``open_context`` in full.
* shared: a team's registry on PostgreSQL beside the SQLite file, the same tokens in both: first
  paint, a filter keystroke, a sort, ``verify`` decisions and how long a change made by another
  process takes to reach the window (``_shared.py`` says how each is taken).
* serve: ``tokendesk serve`` behind nginx's ``auth_request``, driven by ``wrk`` at 16
  connections, with ``--workers`` 1 and 2, against a bare ASGI app on the same server library
  (SHA-256 plus a dict lookup) behind the same nginx; nginx's own floor (``auth_request`` to a
  ``return 204``); the 99th percentile latency; and a deactivation's way to the first 401
  (``_serve.py`` says how each is taken).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find tests.*

from desktop.app import open_context
from desktop.secrets.store import SecretStore, open_secret_store
from desktop.services.tokens import TokenService
from tests.benchmarks import _rotations, _serve, _shared, _startup, _table, bench_verify
from tests.benchmarks._common import Figure, bench_window, median, ms
from tests.benchmarks.seed import Seeded, seed
from tests.helpers import keyring_session

NAMES = ("startup", "filter", "sort", "verify", "rotations", "recovery", "shared", "serve")
SHOWN = (
    "startup",
    "filter",
    "sort",
    "memory",
    "verify",
    "rotations",
    "recovery",
    "shared",
    "serve",
)
BASELINE_SORT_COLUMNS = ("Name", "Created")  # a text column and a time column
RECOVERY_RUNS = 20
OPEN_RUNS = 10
MB = 1_000_000

_STARTED = time.perf_counter()


def say(text: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {text}", flush=True)


# ----------------------------------------------------------------------------- the figures


def _startup_figure(
    name: str, ours: list[_startup.ChildRun], theirs: list[_startup.ChildRun], why: str
) -> Figure:
    ours_s, theirs_s = median([r.seconds for r in ours]), median([r.seconds for r in theirs])
    ratio = ours_s / theirs_s
    shown = f"{ours[0].rows_painted:,} rows of {ours[0].environment}"
    return Figure(
        name,
        f"{ours_s:.2f} s",
        f"{theirs_s:.2f} s",
        f"{ratio:.2f}x",
        "<= 2x baseline",
        ratio <= 2,
        [f"TokenDesk's first paint showed {shown} ({why})"],
        {
            "ours_seconds": [r.seconds for r in ours],
            "baseline_seconds": [r.seconds for r in theirs],
        },
    )


def startup_figures(data_dir: Path, runs: int) -> dict[str, list[Figure]]:
    say(f"start-up and memory: {runs} child processes of each kind")
    ours, theirs = _startup.measure(data_dir, runs, say)
    start = _startup_figure(
        "start-up to first painted window with the table filled (median)",
        ours,
        theirs,
        "the environment it opens on",
    )
    say(f"start-up on All environments: {runs} child processes of each kind")
    ours_all, theirs_all = _startup.measure(data_dir, runs, say, environment="")
    start_all = _startup_figure(
        "start-up on All environments, table filled (median)",
        ours_all,
        theirs_all,
        "every token: the biggest view",
    )
    ours_mb = median([r.max_rss_kib for r in ours]) * 1024 / MB
    theirs_mb = median([r.max_rss_kib for r in theirs]) * 1024 / MB
    more = ours_mb - theirs_mb
    memory = Figure(
        "peak memory with the window open (median of the children)",
        f"{ours_mb:,.0f} MB",
        f"{theirs_mb:,.0f} MB",
        f"+{more:,.0f} MB",
        "<= +150 MB",
        more <= 150,
        [f"TokenDesk's table held {ours[0].rows_at_peak:,} rows at its peak (after filtering)"],
        {
            "ours_max_rss_kib": [r.max_rss_kib for r in ours],
            "baseline_max_rss_kib": [r.max_rss_kib for r in theirs],
        },
    )
    return {"startup": [start, start_all], "memory": [memory]}


def table_figures(data_dir: Path, names: Sequence[str]) -> dict[str, list[Figure]]:
    say("filter and sort: the main window's table, then the QSortFilterProxyModel baseline")
    with bench_window(data_dir) as shown:
        say(f"  showing {shown.description}")
        result = _table.measure(shown.window, say, baseline_sort_columns=BASELINE_SORT_COLUMNS)
    for problem in [*result.problems, *result.sort_problems]:
        say(f"  CHECK: {problem}")
    figures: dict[str, list[Figure]] = {}
    if "filter" in names:
        ours = result.filter_median
        same = result.filter_same_median
        theirs = result.baseline_filter_median
        faster = theirs / same
        worst = max(result.keystrokes, key=lambda k: k.seconds)
        typed = "".join(k.key if len(k.key) == 1 else f"<{k.key}>" for k in result.keystrokes)
        figures["filter"] = [
            Figure(
                "filter keystroke to the view updated (median)",
                ms(ours),
                ms(theirs),
                f"{faster:,.0f}x faster",
                "<= 50 ms and >= 50x faster",
                ours <= 0.050 and faster >= 50 and not result.problems,
                [
                    f"table: {shown.description}",
                    f"TokenDesk: median of {len(result.keystrokes)} keystrokes ({typed}); "
                    f"slowest {ms(worst.seconds)} ({worst.key!r} giving {worst.text!r})",
                    "TokenDesk's keystroke, median of each part: the key event (filtering) "
                    f"{ms(median([k.key_seconds for k in result.keystrokes]))}, the events it "
                    "left (painting included) "
                    f"{ms(median([k.events_seconds for k in result.keystrokes]))}, the "
                    "synchronous viewport repaint "
                    f"{ms(median([k.repaint_seconds for k in result.keystrokes]))}",
                    f"baseline: median of its {len(result.baseline_keystrokes)} keystrokes; the "
                    f"ratio compares TokenDesk's median over the same ones ({ms(same)})",
                    *result.problems,
                ],
                {
                    "keystrokes": [vars(k) for k in result.keystrokes],
                    "baseline_keystrokes": [vars(k) for k in result.baseline_keystrokes],
                },
            )
        ]
    if "sort" in names:
        ours = result.sort_median
        theirs = median([seconds for _, _, seconds in result.baseline_sorts])
        worst_sort = max(result.sorts, key=lambda s: s[2])
        figures["sort"] = [
            Figure(
                "sort by any column (median)",
                ms(ours),
                ms(theirs),
                f"{theirs / ours:,.0f}x faster",
                "<= 50 ms",
                ours <= 0.050 and not result.sort_problems,
                [
                    f"TokenDesk: {len(result.sorts)} sorts (every column, both orders); "
                    f"worst {worst_sort[0]} {worst_sort[1]} {ms(worst_sort[2])}",
                    "baseline: "
                    + ", ".join(f"{n} {o} {ms(s)}" for n, o, s in result.baseline_sorts),
                    *result.sort_problems,
                ],
                {"sorts": result.sorts, "baseline_sorts": result.baseline_sorts},
            )
        ]
    return figures


def verify_figures(data_dir: Path, seeded: Seeded) -> list[Figure]:
    say("verify: AccessIndex.verify against sha256 + dict lookup (bench_verify.measure)")
    context = open_context(data_dir, actor="bench", store=None, need_keyring=False)
    try:
        result = bench_verify.measure(context.service, seeded.tokens)
    finally:
        context.close()
    return [
        Figure(
            "verify decisions per second in-process",
            f"{result.index:,.0f} /s",
            f"{result.raw:,.0f} /s",
            f"{result.ratio:.2f}",
            ">= 0.5 of baseline",
            result.ratio >= 0.5,
            [
                f"{result.requests:,} requests {dict(result.kinds)} over {result.grants:,} "
                f"grants, best of {bench_verify.REPEAT_DEFAULT}; statuses "
                f"{dict(result.statuses)}; index built in {result.index_seconds:.2f} s; "
                f"TokenService.verify (SQL) {result.sql:,.0f} /s",
            ],
            {"index": result.index, "raw": result.raw, "sql": result.sql},
        )
    ]


def rotation_figures(data_dir: Path, seeded: Seeded, store: SecretStore) -> list[Figure]:
    say(f"rotations: {len(seeded.due):,} due tokens")
    result = _rotations.measure(data_dir, seeded.due, store, say, seeded.due_secrets)
    counts = ", ".join(f"{call} {result.counts[call]:,}" for call in _rotations.CALLS)
    bare = ", ".join(f"{call} {result.baseline_counts[call]:,}" for call in _rotations.CALLS)
    complete = result.rotated == result.due and not result.failed
    outcome = f"{result.rotated:,} of {result.due:,} rotated (generation advanced in the database)"
    if result.failed:
        outcome += f", {result.failed:,} reported failed: " + "; ".join(result.failures)
    ratio = result.seconds / result.baseline_seconds
    return [
        Figure(
            f"{result.due:,} due rotations: longest event-loop stall",
            ms(result.largest_gap),
            "none",
            "-",
            "<= 50 ms",
            result.largest_gap <= 0.050 and complete,
            [
                f"table: {result.window}; {result.beats:,} heartbeats of 10 ms; "
                f"{len(result.long_gaps)} gaps of 30 ms or more",
                *(
                    f"gap {ms(gap)} at {at:.1f} s, {done:,} done"
                    + (" (after finished)" if after else "")
                    for gap, at, done, after in result.long_gaps[:3]
                ),
                outcome,
            ],
            {
                "largest_gap": result.largest_gap,
                "beats": result.beats,
                "long_gaps": result.long_gaps,
            },
        ),
        Figure(
            f"{result.due:,} due rotations: total time",
            f"{result.seconds:.1f} s",
            f"{result.baseline_seconds:.1f} s",
            f"{ratio:.2f}x",
            "<= 1.3x baseline",
            ratio <= 1.3 and complete,
            [
                f"keyring calls: TokenDesk {counts}; baseline {bare}",
                "the baseline mirrors TokenDesk's calls per token (a check per token, where "
                "one per run would do)"
                if result.counts["check"] > 1
                else "the baseline makes the calls TokenDesk made",
                f"cleanup of the keyring entries: {result.cleanup_seconds:.1f} s (not timed)",
            ],
            {
                "seconds": result.seconds,
                "baseline_seconds": result.baseline_seconds,
                "counts": result.counts,
                "baseline_counts": result.baseline_counts,
                "rotated": result.rotated,
                "failed": result.failed,
            },
        ),
        *_through_keyring(result),
    ]


def _daemon_note(ours: _rotations.RotationResult, slow: _rotations.RotationResult) -> str:
    """How much of each run the keyring daemon itself spent working: no client saves that."""
    if ours.daemon_seconds is None or slow.daemon_seconds is None:
        return "the Secret Service's own CPU time could not be read"
    return (
        f"the Secret Service's own process used {ours.daemon_seconds:.1f} s of CPU in "
        f"TokenDesk's run and {slow.daemon_seconds:.1f} s in keyring's (it rewrites its whole "
        "keyring file for every entry written or deleted)"
    )


def _through_keyring(result: _rotations.RotationResult) -> list[Figure]:
    """The same rotations with keyring's SecretService as the store's backend."""
    slow = result.through_keyring
    if slow is None:
        return []
    complete = slow.rotated == slow.due and not slow.failed
    faster = slow.seconds / result.seconds
    outcome = f"{slow.rotated:,} of {slow.due:,} rotated through keyring"
    if slow.failed:
        outcome += f", {slow.failed:,} reported failed: " + "; ".join(slow.failures)
    return [
        Figure(
            f"  the same {result.due:,} rotations, store backend keyring's SecretService",
            f"{result.seconds:.1f} s",
            f"{slow.seconds:.1f} s",
            f"{faster:.1f}x faster",
            ">= 5x faster",
            faster >= 5 and complete,
            [
                "TokenDesk: one D-Bus connection and session for every call; baseline: "
                "keyring's SecretService, a new connection and session per call",
                f"{outcome}; its longest stall {ms(slow.largest_gap)}",
                _daemon_note(result, slow),
                "keyring calls through keyring: "
                + ", ".join(f"{call} {slow.counts[call]:,}" for call in _rotations.CALLS),
            ],
            {
                "seconds": result.seconds,
                "keyring_seconds": slow.seconds,
                "keyring_largest_gap": slow.largest_gap,
                "keyring_counts": slow.counts,
                "keyring_rotated": slow.rotated,
            },
        )
    ]


def recovery_figures(data_dir: Path, store: SecretStore) -> list[Figure]:
    say(f"recovery: reconcile() x{RECOVERY_RUNS}, open_context() x{OPEN_RUNS}")
    context = open_context(data_dir, actor="bench", store=store)
    try:
        times = []
        for _ in range(RECOVERY_RUNS):
            service = TokenService(context.database, store, actor="bench")
            started = time.perf_counter()
            report = service.reconcile()
            times.append(time.perf_counter() - started)
            if report.rolled_forward or report.rolled_back or report.waiting:
                raise RuntimeError("the seeded data dir had something to recover")
    finally:
        context.close()
    opens = []
    for _ in range(OPEN_RUNS):
        started = time.perf_counter()
        context = open_context(data_dir, actor="bench", need_keyring=False)
        opens.append(time.perf_counter() - started)
        context.close()
    reconcile = median(times)
    return [
        Figure(
            "start-up recovery, nothing to recover: reconcile() (median)",
            ms(reconcile),
            "none",
            "-",
            "<= 20 ms",
            reconcile <= 0.020,
            [f"{RECOVERY_RUNS} runs, a fresh TokenService each; slowest {ms(max(times))}"],
            {"reconcile_seconds": times},
        ),
        Figure(
            "  the whole open_context(need_keyring=False) (median)",
            ms(median(opens)),
            "none",
            "-",
            "(reference)",
            None,
            [f"{OPEN_RUNS} runs: open and migrate-check the database, then reconcile()"],
            {"open_context_seconds": opens},
        ),
    ]


# ----------------------------------------------------------------------------- the report


def machine() -> dict[str, str]:
    import PySide6
    from PySide6.QtCore import qVersion

    cpu = platform.processor() or "unknown"
    memory = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                cpu,
            )
        with open("/proc/meminfo", encoding="utf-8") as info:
            total = next((line.split()[1] for line in info if line.startswith("MemTotal")), "")
            memory = f"{int(total) / 1024 / 1024:.1f} GiB" if total else memory
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "memory": memory,
        "system": platform.platform(),
        "python": platform.python_version(),
        "pyside6": f"{PySide6.__version__} (Qt {qVersion()})",
        "sqlite": sqlite3.sqlite_version,
    }


def table(figures: Sequence[Figure]) -> str:
    header = ("figure", "TokenDesk", "baseline", "ratio", "target", "result")
    rows = [
        (
            f.name,
            f.ours,
            f.baseline,
            f.ratio,
            f.target,
            "-" if f.met is None else "met" if f.met else "NOT MET",
        )
        for f in figures
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for n, row in enumerate([header, *rows]):
        lines.append(
            "  ".join(
                cell.ljust(width) if i in (0, 4, 5) else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def report(figures: Sequence[Figure], info: dict[str, str], seconds: float, seeded: str) -> str:
    lines = ["", "Machine:"]
    lines += [f"  {key:8} {value}" for key, value in info.items()]
    lines += ["", f"Data: {seeded}", "", table(figures), "", "Notes:"]
    for figure in figures:
        for note in figure.notes:
            lines.append(f"  {figure.name.strip()}: {note}")
    lines += ["", f"Whole run: {seconds:.0f} s"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def _names(text: str | None) -> list[str]:
    if not text:
        return list(NAMES)
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    chosen = ["startup" if name == "memory" else name for name in chosen]
    unknown = sorted(set(chosen) - set(NAMES))
    if unknown:
        raise SystemExit(f"run.py: unknown figure {', '.join(unknown)}; choose from {NAMES}")
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=100_000, help="tokens to seed (N)")
    parser.add_argument(
        "--rotations", type=int, default=1_000, help="of those, due for rotation (K)"
    )
    parser.add_argument("--runs", type=int, default=5, help="child processes of each kind")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--only", help="comma-separated: " + ", ".join(NAMES))
    args = parser.parse_args(argv)
    names = _names(args.only)
    if not 0 < args.rotations <= args.tokens:
        parser.error("--rotations must be between 1 and --tokens")
    if not keyring_session.tools_available():
        print("run.py: needs dbus-daemon and gnome-keyring-daemon (.ci/setup --dev)")
        return 1
    session = keyring_session.start()
    say(f"private keyring on {session.address}")
    results: dict[str, list[Figure]] = {}
    failed: list[str] = []

    def measure(key: str, work: Callable[[], list[Figure] | dict[str, list[Figure]]]) -> None:
        try:
            done = work()
        except Exception:
            say(f"{key}: FAILED")
            traceback.print_exc()
            failed.append(key)
            results[key] = [Figure(key, "FAILED", "-", "-", "see the traceback above", False)]
            return
        results.update(done if isinstance(done, dict) else {key: done})
        gc.collect()

    summary = "not seeded"
    try:
        store = open_secret_store()
        with tempfile.TemporaryDirectory(prefix="tokendesk-bench-") as tmp:
            data_dir = Path(tmp) / "data"
            due = args.rotations if "rotations" in names else 0
            say(f"seeding {args.tokens:,} tokens, {due:,} of them due")
            seeded = seed(data_dir, args.tokens, due=due, store=store, progress=say)
            summary = seeded.summary()
            say(summary)
            if "verify" in names:
                measure("verify", lambda: verify_figures(data_dir, seeded))
            if "recovery" in names:
                measure("recovery", lambda: recovery_figures(data_dir, store))
            if "filter" in names or "sort" in names:
                measure("filter", lambda: table_figures(data_dir, names))
            if "rotations" in names:
                # Before the start-up children: their windows' schedulers would rotate them.
                measure("rotations", lambda: rotation_figures(data_dir, seeded, store))
            if "startup" in names:
                measure("startup", lambda: startup_figures(data_dir, args.runs))
            if "serve" in names:
                measure("serve", lambda: _serve.measure(data_dir, seeded, say))
            if "shared" in names:
                measure(
                    "shared",
                    lambda: _shared.measure(data_dir, seeded, args.tokens, args.runs, say),
                )
    finally:
        session.stop()
    seconds = time.perf_counter() - _STARTED
    info = machine()
    figures = [figure for key in SHOWN for figure in results.get(key, [])]
    print(report(figures, info, seconds, summary))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "tokens": args.tokens,
                    "rotations": args.rotations,
                    "seconds": seconds,
                    "data": summary,
                    "figures": [figure.to_json() for figure in figures],
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        say(f"results written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
