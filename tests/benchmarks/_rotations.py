"""The rotation figures: K due tokens rotated by the window's runner, against the same keyring
calls made bare, and against the same rotations through ``keyring``.

TokenDesk: the main window (scheduler not started) shows every token; a 10 ms heartbeat timer
records the largest gap between two of its timeouts from ``runner.run_now()`` until the first
heartbeat after ``runner.finished`` was delivered (so the window's own handling of the end
counts too), and the total time is ``run_now()`` to ``finished``. The service's store is wrapped
in :class:`CountingStore` meanwhile, so the keyring calls TokenDesk made are known.

Baseline: the same number of calls of each kind per token, made straight on the same pinned
store object: per due token a read of a fresh key (absent), a write of it, a read back, and the
delete of the entry it replaces (the token's current one, which exists), and the checks.

Through ``keyring``: the database as it was before the rotations is put back (a SQLite backup
taken before them), the due tokens' secrets are stored again, and the window rotates the same
tokens once more, its store's backend now ``keyring``'s SecretService (a new D-Bus connection and
session per call, as TokenDesk did before it kept one connection).
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, Qt, QTimer

from desktop.secrets.store import SecretStore
from desktop.services.tokens import secret_key
from desktop.storage.database import DB_FILENAME, open_database
from desktop.storage.models import Token
from tests.benchmarks._common import bench_window
from tests.benchmarks.seed import DueToken, fake_secret, remove_entries, store_secrets

HEARTBEAT_MS = 10
LONG_GAP = 0.030  # gaps this long are listed in the notes
CALLS = ("check", "get", "put", "delete")


class CountingStore:
    """The real store, call for call, counting the calls by kind."""

    def __init__(self, inner: SecretStore) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()

    @property
    def backend_name(self) -> str:
        return self.inner.backend_name

    def get(self, key: str) -> str | None:
        self.counts["get"] += 1
        return self.inner.get(key)

    def put(self, key: str, secret: str) -> None:
        self.counts["put"] += 1
        self.inner.put(key, secret)

    def delete(self, key: str) -> None:
        self.counts["delete"] += 1
        self.inner.delete(key)

    def check(self) -> None:
        self.counts["check"] += 1
        self.inner.check()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class RotationResult:
    due: int
    rows: int
    window: str
    rotated: int  # generation advanced, read back from the database
    failed: int  # reported failed by the runner
    largest_gap: float
    beats: int
    seconds: float
    counts: dict[str, int]
    baseline_counts: dict[str, int] = field(default_factory=dict)
    baseline_seconds: float = 0.0
    cleanup_seconds: float = 0.0
    through_keyring: RotationResult | None = None  # the same rotations through keyring
    daemon_seconds: float | None = None  # CPU time the Secret Service's own process spent
    failures: list[str] = field(default_factory=list)  # the runner's messages (never a secret)
    long_gaps: list[tuple[float, float, int, bool]] = field(default_factory=list)


@dataclass
class _Run:
    last: float = 0.0
    largest_gap: float = 0.0
    beats: int = 0
    done: int = 0
    finished_at: float | None = None
    report: Any = None
    timed_out: bool = False
    # gap, seconds since run_now(), tokens done by then, whether finished had been delivered
    long_gaps: list[tuple[float, float, int, bool]] = field(default_factory=list)


def _rotate(
    data_dir: Path,
    due: Sequence[DueToken],
    timeout: float,
    say: Callable[[str], None],
    through: SecretStore | None = None,
) -> tuple[RotationResult, SecretStore]:
    """Rotate in the window, through its own store or, given, *through* that one."""
    with bench_window(data_dir) as shown:
        window = shown.window
        service = window.service
        real = service.store
        if real is None:
            raise RuntimeError(f"the window has no keyring: {window.keyring.problem}")
        counting = CountingStore(through if through is not None else real)
        loop = QEventLoop()
        run = _Run()

        def beat() -> None:
            now = time.perf_counter()
            gap = now - run.last
            run.largest_gap = max(run.largest_gap, gap)
            if gap >= LONG_GAP:
                run.long_gaps.append((gap, now - started, run.done, run.finished_at is not None))
            run.last = now
            run.beats += 1
            if run.finished_at is not None:
                loop.quit()

        def progressed(done: int, total: int) -> None:
            run.done = done

        def finished(report: object) -> None:
            run.finished_at = time.perf_counter()
            run.report = report

        def timed_out() -> None:
            run.timed_out = True
            loop.quit()

        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.setInterval(HEARTBEAT_MS)
        heartbeat.timeout.connect(beat)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.setInterval(int(timeout * 1000))
        guard.timeout.connect(timed_out)
        runner = window.runner
        runner.progress.connect(progressed)
        runner.finished.connect(finished)  # after the window's own handler
        service.set_store(counting)
        say(
            f"  TokenDesk: runner.run_now() on {len(due):,} due tokens ({shown.description}), "
            f"store backend {counting.backend_name}"
        )
        daemon_before = secret_service_cpu()
        started = run.last = time.perf_counter()
        try:
            heartbeat.start()
            guard.start()
            if not runner.run_now():
                raise RuntimeError("runner.run_now() started nothing: no token was due")
            loop.exec()
            if run.timed_out:
                runner.stop()
                raise RuntimeError(
                    f"the rotations did not finish within {timeout:.0f} s "
                    f"({run.done} of {len(due)} done)"
                )
        finally:
            heartbeat.stop()
            guard.stop()
            service.set_store(real)
        assert run.finished_at is not None
        daemon_after = secret_service_cpu()
        generations = _generations(data_dir, due)
        rotated = sum(generations.get(token.id, -1) > token.generation for token in due)
        failed = list(getattr(run.report, "failed", ()))
        return (
            RotationResult(
                due=len(due),
                rows=shown.rows,
                window=shown.description,
                rotated=rotated,
                failed=len(failed),
                largest_gap=run.largest_gap,
                beats=run.beats,
                seconds=run.finished_at - started,
                daemon_seconds=(
                    None
                    if daemon_before is None or daemon_after is None
                    else daemon_after - daemon_before
                ),
                counts={call: counting.counts[call] for call in CALLS},
                failures=[str(message) for _, message in failed[:3]],
                long_gaps=sorted(run.long_gaps, reverse=True),
            ),
            real,
        )


def secret_service_cpu() -> float | None:
    """The CPU time (user and system) the process serving the Secret Service has used so far,
    or None when it cannot be known: the part of a rotation no client can save."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress(
        "/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus"
    )
    try:
        with open_dbus_connection("SESSION") as connection:
            call = new_method_call(
                bus, "GetConnectionUnixProcessID", "s", ("org.freedesktop.secrets",)
            )
            pid = connection.send_and_get_reply(call, timeout=5).body[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except Exception:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _generations(data_dir: Path, due: Sequence[DueToken]) -> dict[int, int]:
    """The current generation of each of these tokens, from the database."""
    database = open_database(data_dir / DB_FILENAME)
    try:
        query = Token.select(Token.id, Token.generation).where(Token.id.in_([t.id for t in due]))
        return {row.id: row.generation for row in query.bind(database.handle)}
    finally:
        database.close()


def _share(total: int, parts: int, index: int) -> int:
    """Part *index* of *total* spread as evenly as possible over *parts*."""
    return total // parts + (1 if index < total % parts else 0)


def _bare(
    store: SecretStore, keys: Sequence[tuple[str, str]], counts: dict[str, int]
) -> tuple[float, Counter[str]]:
    """Per (old, new) key pair, TokenDesk's calls per token: the checks, a read of the new key
    (absent), the writes, the reads back, the deletes of the old entry."""
    rng = random.Random(11)
    values = [fake_secret(rng) for _ in keys]
    made: Counter[str] = Counter()
    parts = len(keys)
    started = time.perf_counter()
    for n, ((old, new), value) in enumerate(zip(keys, values, strict=True)):
        gets = _share(counts["get"], parts, n)
        for _ in range(_share(counts["check"], parts, n)):
            store.check()
        if gets:
            store.get(new)
        for _ in range(_share(counts["put"], parts, n)):
            store.put(new, value)
        for _ in range(gets - 1):
            store.get(new)
        for _ in range(_share(counts["delete"], parts, n)):
            store.delete(old)
        made.update(
            check=_share(counts["check"], parts, n),
            get=gets,
            put=_share(counts["put"], parts, n),
            delete=_share(counts["delete"], parts, n),
        )
    return time.perf_counter() - started, made


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (its WAL included), by SQLite's backup."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def keyring_store() -> SecretStore:
    """The store as TokenDesk made it before it kept one connection: keyring's SecretService."""
    import keyring.backends.SecretService

    from desktop.secrets.store import KeyringSecretStore

    return KeyringSecretStore(keyring.backends.SecretService.Keyring())  # type: ignore[no-untyped-call]


def measure(
    data_dir: Path,
    due: Sequence[DueToken],
    store: SecretStore,
    say: Callable[[str], None],
    secrets: Sequence[str] = (),
) -> RotationResult:
    """Rotate the due tokens in the window, then make the same keyring calls bare; given the
    due tokens' *secrets*, rotate them once more through ``keyring``. Every keyring entry of the
    due tokens is removed again afterwards."""
    timeout = max(300.0, 1.0 * len(due))
    keys_left: list[str] = [secret_key(t.uuid, g) for t in due for g in range(3)]
    database = data_dir / DB_FILENAME
    before = data_dir.parent / "before-rotations.db"
    try:
        if secrets:
            _copy_database(database, before)
        result, pinned = _rotate(data_dir, due, timeout, say)
        # The bare run writes the next generation of each token and deletes its current entry.
        generations = _generations(data_dir, due)
        pairs = [
            (
                secret_key(t.uuid, generations.get(t.id, t.generation)),
                secret_key(t.uuid, generations.get(t.id, t.generation) + 1),
            )
            for t in due
        ]
        say(f"  baseline: the same keyring calls, bare, for {len(pairs):,} tokens")
        result.baseline_seconds, made = _bare(pinned, pairs, result.counts)
        result.baseline_counts = {call: made[call] for call in CALLS}
        keys_left = [new for _, new in pairs]
        if secrets:
            say(f"  removing {len(keys_left):,} keyring entries, putting the database back")
            remove_entries(store, keys_left)
            _copy_database(before, database)
            keys_left = [secret_key(t.uuid, g) for t in due for g in range(3)]
            say(f"  storing the {len(due):,} due secrets again; the same rotations via keyring")
            store_secrets(store, due, secrets)
            result.through_keyring, _ = _rotate(data_dir, due, timeout, say, keyring_store())
    finally:
        before.unlink(missing_ok=True)
        started = time.perf_counter()
        say(f"  removing {len(keys_left):,} keyring entries of the due tokens")
        remove_entries(store, keys_left)
        cleanup = time.perf_counter() - started
    result.cleanup_seconds = cleanup
    return result
