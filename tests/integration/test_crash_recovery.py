"""Kill a real process at every step of create, refresh, rotate and delete; then restart.

Each case seeds a fresh data dir, runs :mod:`tests.helpers.crash_driver` in a process of its own
that dies (``os._exit``) just before or just after one numbered event -- a keyring call or a
database commit -- and then opens the data dir again the way the application starts: recovery
runs, and the token must be wholly old or wholly new (exactly which one follows from how far the
driver got), its keyring entry must match its fingerprint, and nothing may be left behind: no
journal row, no stray generation in the keyring, no audit event for a change that was undone.
Other tests pause the driver at a handshake point and send it a real SIGKILL, recover in a new
process, and crash recovery itself.

Drivers run one at a time: gnome-keyring 42 can crash when several clients call it at once.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest

from desktop.app import Context, open_context
from desktop.domain import tokens
from desktop.paths import ENV_DATABASE
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import secret_key
from desktop.services.views import ReconcileReport
from desktop.storage.database import Database
from desktop.storage.models import READY, AuditEvent, Intent, PreviousSecret, Token
from tests.helpers.clock import FakeClock
from tests.helpers.crash_driver import AGENT, CRASH_STATUS, ENVIRONMENT

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DRIVER = [sys.executable, "-m", "tests.helpers.crash_driver"]
TIMEOUT = 60  # a safety net against a hung driver, never a timing assertion
OPERATIONS = ["create", "refresh", "rotate", "delete"]


@dataclass(frozen=True)
class Event:
    index: int
    kind: str
    detail: str

    @property
    def key(self) -> str:
        return self.detail.split(" ")[0]


@dataclass
class Run:
    returncode: int
    events: list[Event]
    done: dict[str, Any] | None
    output: str


def parse(output: str, returncode: int) -> Run:
    events: list[Event] = []
    done = None
    for line in output.splitlines():
        if line.startswith("event "):
            _, index, kind, *rest = line.split(" ", 3)
            events.append(Event(int(index), kind, rest[0] if rest else ""))
        elif line.startswith("done "):
            done = json.loads(line[len("done ") :])
    return Run(returncode, events, done, output)


class Lines:
    """A child's output, line by line, each within a timeout, or the test fails (a hung child).

    The lines are split here, from raw reads of the pipe: ``select`` sees only what is still in
    the pipe, and a buffered stream's ``readline`` takes every line already written into its
    buffer. A driver that printed its last event and ``paused`` in one go (a loaded machine
    runs the test late) would then wait, paused, for a line the test already held, until the
    timeout called it hung.

    A hung driver is asked for its threads' stacks first (faulthandler, on SIGABRT), and the
    failure shows them: where it hangs is the first thing to know."""

    def __init__(self, process: subprocess.Popen[bytes], timeout: float = TIMEOUT) -> None:
        assert process.stdout is not None
        self._process = process
        self._fd = process.stdout.fileno()
        self._timeout = timeout
        self._buffer = b""

    def _read(self, timeout: float) -> bytes | None:
        """What the child wrote next (b"" at its end), or None if nothing came in time."""
        ready, _, _ = select.select([self._fd], [], [], max(timeout, 0))
        return os.read(self._fd, 65536) if ready else None

    def readline(self) -> str:
        """The next line with its newline; "" once the child closed its output."""
        deadline = time.monotonic() + self._timeout
        while b"\n" not in self._buffer:
            chunk = self._read(deadline - time.monotonic())
            if chunk is None:
                self._hung()
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line.decode()
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode() + "\n"

    def _hung(self) -> NoReturn:
        process = self._process
        if process.poll() is None:
            # faulthandler writes every thread's stack on SIGABRT, then lets the process die.
            process.send_signal(signal.SIGABRT)
            process.wait(timeout=TIMEOUT)
        rest = []
        while chunk := self._read(0):
            rest.append(chunk)
        stacks = (self._buffer + b"".join(rest)).decode(errors="replace")
        raise AssertionError(f"the driver stopped answering; its stacks:\n{stacks}")


class Drivers:
    """Runs drivers one at a time, each forked from a server that has imported everything."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._count = 0
        # It outlives one test, and so one registry: each request names its own (--database).
        environment = {k: v for k, v in os.environ.items() if k != ENV_DATABASE}
        self._server = subprocess.Popen(
            [*DRIVER, "--serve"],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, data_dir: Path, op: str, *options: str) -> Run:
        """One driver on *data_dir* (and the registry its *options* name)."""
        assert self._server.stdin is not None and self._server.stdout is not None
        output = self._workdir / f"driver-{self._count}.out"
        self._count += 1
        request = {"argv": [str(data_dir), op, *options], "output": str(output)}
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        ready, _, _ = select.select([self._server.stdout], [], [], TIMEOUT)
        assert ready, f"the driver stopped answering; its output:\n{output.read_text()}"
        reply = self._server.stdout.readline()
        assert reply, "the fork server died"
        return parse(output.read_text(), json.loads(reply)["status"])

    def close(self) -> None:
        assert self._server.stdin is not None and self._server.stdout is not None
        self._server.stdin.close()
        self._server.wait(timeout=TIMEOUT)
        self._server.stdout.close()


@pytest.fixture(scope="module")
def drivers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drivers]:
    server = Drivers(tmp_path_factory.mktemp("drivers"))
    yield server
    server.close()


@dataclass
class Seeded:
    """A data dir ready for one operation, and what the test knows about its token."""

    op: str
    data_dir: Path
    database: str | None = None  # a PostgreSQL registry's URL; None for the data dir's file
    token_id: int | None = None
    uuid: str | None = None
    generation: int = 0
    fingerprint: str | None = None
    secret: str | None = None

    def registry(self) -> list[str]:
        """The driver's options naming the registry."""
        return ["--database", self.database] if self.database is not None else []

    def options(self) -> list[str]:
        token = ["--token", str(self.token_id)] if self.token_id is not None else []
        return [*token, *self.registry()]


def seed(data_dir: Path, store: KeyringSecretStore, op: str, database: str | None = None) -> Seeded:
    """An environment, a role, an eligible agent and (but for create) one token that is due
    for rotation by the real clock, with a one-hour grace; in the data dir's SQLite file, or
    in the PostgreSQL registry *database*."""
    data_dir.mkdir(parents=True, exist_ok=True)
    yesterday = FakeClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    context = open_context(data_dir, store=store, clock=yesterday, database=database)
    try:
        service = context.service
        service.add_environment(ENVIRONMENT, api_enabled=True)
        service.add_role("Reader", ["GET /Loans"])
        service.add_agent(AGENT, "Reader", has_logged_in=True, signed_agreement=True)
        seeded = Seeded(op, data_dir, database)
        if op != "create":
            issued = service.create_token(ENVIRONMENT, AGENT, rotation="1h", grace="1h")
            row = Token.select().where(Token.id == issued.token.id).get(context.database.handle)
            seeded.token_id, seeded.uuid = row.id, row.uuid
            seeded.generation, seeded.fingerprint = row.generation, row.fingerprint
            seeded.secret = issued.secret
    finally:
        context.close()
    return seeded


def passed(crash: int, when: str, step: int) -> bool:
    """Whether a driver that died at (crash, when) had completed event *step*."""
    return crash > step or (crash == step and when == "after")


def decisive_step(op: str, events: list[Event]) -> int:
    """The event after which recovery must keep the change (roll forward): the database commit
    of its outcome. Before it, the change is undone, whatever the keyring holds already."""
    kinds = [event.kind for event in events]
    if op == "create":  # never shown to anyone before its final commit: undone until then
        return max(i for i, kind in enumerate(kinds) if kind == "db.commit")
    if op in {"refresh", "rotate"}:  # the new generation's commit, after the keyring write
        return kinds.index("db.commit", kinds.index("keyring.put"))
    assert op == "delete"  # the tombstone commit: from then on the token is going
    return kinds.index("db.commit")


def protocol_steps(op: str, events: list[Event]) -> list[tuple[str, str | None]]:
    """The steps of the two-store protocol for *op*, in order (desktop/services/journal.py)."""
    uuid = next(e.key.split(":")[0] for e in events if ":" in e.key)
    g0, g1 = secret_key(uuid, 0), secret_key(uuid, 1)
    commit = ("db.commit", None)
    if op == "create":  # row + intent; write; read back; ready
        return [commit, ("keyring.put", g0), ("keyring.get", g0), commit]
    if op in {"refresh", "rotate"}:  # intent; write n+1; read back; commit n+1; drop n; done
        return [
            commit,
            ("keyring.put", g1),
            ("keyring.get", g1),
            commit,
            ("keyring.delete", g0),
            commit,
        ]
    # keyring reachable; tombstone + intent; delete the entry; delete the row
    return [("keyring.check", None), commit, ("keyring.delete", g0), commit]


def assert_protocol(events: list[Event], steps: list[tuple[str, str | None]]) -> None:
    position = 0
    for kind, key in steps:
        while position < len(events) and not (
            events[position].kind == kind and (key is None or events[position].key == key)
        ):
            position += 1
        assert position < len(events), f"step {kind} {key or ''} missing from {events}"
        position += 1


def key_generations(store: KeyringSecretStore, uuid: str, upto: int) -> dict[int, str | None]:
    return {gen: store.get(secret_key(uuid, gen)) for gen in range(upto + 1)}


def audit_actions(database: Database, token_id: int | None) -> list[str]:
    query = AuditEvent.select().where(AuditEvent.token_id == token_id)
    return [e.action for e in query.bind(database.handle)]


def check_recovered(
    context: Context,
    store: KeyringSecretStore,
    seeded: Seeded,
    run: Run,
    *,
    expect_new: bool,
    where: str,
) -> None:
    """The promises of the two-store protocol, after a crash and a restart."""
    handle = context.database.handle
    service = context.service
    report = context.recovery
    assert report.waiting == (), where
    assert report.problem is None, where
    assert Intent.select().bind(handle).count() == 0, f"{where}: journal rows left"
    assert Token.select().bind(handle).where(Token.phase != READY).count() == 0, (
        f"{where}: half-made token"
    )
    assert service.reconcile() == ReconcileReport(), f"{where}: recovery is not idempotent"
    if seeded.op == "create":
        check_create(context, store, run, expect_new=expect_new, where=where)
        return
    assert seeded.token_id is not None and seeded.uuid is not None and seeded.secret is not None
    token_id, uuid, old_gen = seeded.token_id, seeded.uuid, seeded.generation
    own_actions = audit_actions(context.database, token_id)
    row = Token.select().where(Token.id == token_id).get_or_none(handle)
    if seeded.op == "delete" and expect_new:
        assert row is None, f"{where}: delete did not roll forward"
        assert own_actions.count("delete") == 1, where
        assert all(v is None for v in key_generations(store, uuid, old_gen + 1).values()), (
            f"{where}: a deleted token left a secret in the keyring"
        )
        assert service.verify(ENVIRONMENT, seeded.secret, "GET", "/Loans").status == 401, where
        return
    assert row is not None, f"{where}: token lost"
    new_gen, expected_fingerprint = old_gen, seeded.fingerprint
    if seeded.op == "delete":
        assert "delete" not in own_actions, where
    else:
        if expect_new:
            put = next(e for e in run.events if e.kind == "keyring.put")
            new_gen, expected_fingerprint = old_gen + 1, put.detail.split(" ")[1]
            assert token_id not in report.rolled_back, where
        else:
            assert token_id not in report.rolled_forward, where
        # The audit trail tells what happened: one event for a kept change, none for an undone one.
        assert own_actions.count(seeded.op) == (1 if expect_new else 0), f"{where}: {own_actions}"
    assert row.generation == new_gen, f"{where}: generation {row.generation}, want {new_gen}"
    previous = PreviousSecret.select().where(PreviousSecret.token == token_id).bind(handle)
    assert row.fingerprint == expected_fingerprint, f"{where}: not wholly old or wholly new"
    entries = key_generations(store, uuid, old_gen + 2)
    current = entries.pop(new_gen)
    assert current is not None, f"{where}: the current secret is missing from the keyring"
    assert tokens.fingerprint(current) == row.fingerprint, f"{where}: keyring and database differ"
    assert all(value is None for value in entries.values()), f"{where}: orphan secrets left"
    assert service.reveal(token_id) == current, where
    assert service.verify(ENVIRONMENT, current, "GET", "/Loans").status == 200, where
    if new_gen != old_gen:
        # Rolled forward with the token's one-hour grace: the old secret still works.
        assert [p.fingerprint for p in previous] == [seeded.fingerprint], where
        assert service.verify(ENVIRONMENT, seeded.secret, "GET", "/Loans").status == 200, where
    else:
        assert list(previous) == [], where
        if seeded.op == "rotate":  # undone: still due, and the next pass rotates it
            assert service.rotate_due().rotated == (token_id,), where


def check_create(
    context: Context, store: KeyringSecretStore, run: Run, *, expect_new: bool, where: str
) -> None:
    handle = context.database.handle
    actions = [e.action for e in AuditEvent.select().bind(handle)]
    rows = list(Token.select().bind(handle))
    if not expect_new:
        assert rows == [], f"{where}: a crashed create left a token row"
        for uuid in {e.key.split(":")[0] for e in run.events if ":" in e.key}:
            assert store.get(secret_key(uuid, 0)) is None, f"{where}: orphan secret"
        assert "create" not in actions, f"{where}: audit names a token that never was"
        return
    assert len(rows) == 1, where
    row = rows[0]
    assert row.id not in context.recovery.rolled_back, where
    secret = store.get(secret_key(row.uuid, 0))
    assert secret is not None, f"{where}: created token without its secret"
    assert tokens.fingerprint(secret) == row.fingerprint, where
    assert store.get(secret_key(row.uuid, 1)) is None, where
    assert context.service.reveal(row.id) == secret, where
    assert context.service.verify(ENVIRONMENT, secret, "GET", "/Loans").status == 200, where
    assert actions.count("create") == 1, where


def recover_and_check(
    store: KeyringSecretStore, seeded: Seeded, run: Run, *, expect_new: bool, where: str
) -> None:
    """Restart: open the data dir like the application (recovery runs) and check."""
    context = open_context(seeded.data_dir, store=store, database=seeded.database)
    try:
        check_recovered(context, store, seeded, run, expect_new=expect_new, where=where)
    finally:
        context.close()


def child(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_lines_written_in_one_go_are_each_read_at_once() -> None:
    """The last event and ``paused`` reach the pipe together when the test runs late: the
    second must not wait in a buffer that select cannot see (it once did, for the timeout)."""
    process = child(
        "import sys; sys.stdout.write('event 1 db.commit\\npaused 1 after\\n'); "
        "sys.stdout.flush(); sys.stdin.readline()"
    )
    assert process.stdin is not None
    try:
        lines = Lines(process, timeout=TIMEOUT)
        assert lines.readline() == "event 1 db.commit\n"
        assert lines.readline() == "paused 1 after\n"
        process.stdin.close()  # the paused child goes on and ends
        assert lines.readline() == ""
    finally:
        process.kill()
        process.wait()


def test_a_hung_child_is_shown_by_its_stacks() -> None:
    process = child(
        "import faulthandler, sys; faulthandler.enable(all_threads=True); "
        "print('waiting', flush=True); sys.stdin.readline()"
    )
    try:
        lines = Lines(process, timeout=1)
        assert lines.readline() == "waiting\n"
        with pytest.raises(AssertionError, match="the driver stopped answering") as raised:
            lines.readline()
        assert 'File "<string>", line 1 in <module>' in str(raised.value)
        assert process.returncode == -signal.SIGABRT
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def protocol(
    tmp_path_factory: pytest.TempPathFactory, keyring_store: KeyringSecretStore, drivers: Drivers
) -> dict[str, list[Event]]:
    """Every event of each operation, from one uncrashed run of the driver (on SQLite: the
    events are the service's keyring calls and commits, the same on either engine, and each
    crashed run checks that it followed them)."""
    base = tmp_path_factory.mktemp("dry")
    events = {}
    for op in OPERATIONS:
        seeded = seed(base / op, keyring_store, op)
        run = drivers.run(seeded.data_dir, op, *seeded.options())
        assert run.returncode == 0, run.output
        assert run.done is not None
        events[op] = run.events
    return events


@pytest.mark.parametrize("op", OPERATIONS)
def test_crash_at_every_step_recovers_wholly_old_or_wholly_new(
    tmp_path: Path,
    new_registry: Callable[[], str | None],
    keyring_store: KeyringSecretStore,
    drivers: Drivers,
    protocol: dict[str, list[Event]],
    op: str,
) -> None:
    events = protocol[op]
    assert_protocol(events, protocol_steps(op, events))
    decisive = decisive_step(op, events)
    outcomes: set[bool] = set()
    for i in range(len(events)):
        for when in ("before", "after"):
            where = f"{op} crashed {when} event {i} ({events[i].kind})"
            case = seed(tmp_path / f"{i}-{when}", keyring_store, op, new_registry())
            run = drivers.run(case.data_dir, op, *case.options(), "--crash", str(i), "--when", when)
            assert run.returncode == CRASH_STATUS, f"{where}: exit {run.returncode}: {run.output}"
            assert [e.kind for e in run.events] == [e.kind for e in events[: i + 1]], where
            expect_new = passed(i, when, decisive)
            outcomes.add(expect_new)
            recover_and_check(keyring_store, case, run, expect_new=expect_new, where=where)
    assert outcomes == {True, False}  # both sides of the decisive step were exercised


# Handshake points where the driver stops and the test sends a real SIGKILL: after the intent
# is committed, after the new secret is written or read back (not committed: undone), after the
# new generation or the tombstone is committed. (op, event kind, which one of that kind,
# whether the change survives)
SIGKILL_POINTS = [
    ("create", "db.commit", 0, False),
    ("create", "keyring.put", 0, False),
    ("refresh", "db.commit", 0, False),
    ("refresh", "keyring.put", 0, False),
    ("refresh", "db.commit", 1, True),
    ("rotate", "keyring.get", 1, False),
    ("rotate", "db.commit", 1, True),
    ("delete", "db.commit", 0, True),
]


@pytest.mark.parametrize(("op", "kind", "nth", "expect_new"), SIGKILL_POINTS)
def test_sigkill_at_handshake_point(
    tmp_path: Path,
    new_registry: Callable[[], str | None],
    keyring_store: KeyringSecretStore,
    protocol: dict[str, list[Event]],
    op: str,
    kind: str,
    nth: int,
    expect_new: bool,
) -> None:
    seeded = seed(tmp_path / "data", keyring_store, op, new_registry())
    index = [e.index for e in protocol[op] if e.kind == kind][nth]
    argv = [str(seeded.data_dir), op, *seeded.options(), "--pause", str(index), "--when", "after"]
    process = subprocess.Popen(
        [*DRIVER, *argv],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert process.stdout is not None and process.stdin is not None
    output = Lines(process)
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith(("paused ", "done ")):
            line = output.readline()
            assert line, "".join(lines)
            lines.append(line)
        assert lines[-1].startswith("paused "), "".join(lines)
        # While the owner lives, a second process starting up leaves its change alone.
        live = open_context(seeded.data_dir, store=keyring_store, database=seeded.database)
        try:
            assert len(live.recovery.waiting) == 1
            if seeded.token_id is not None:
                assert live.recovery.waiting == (seeded.token_id,)
            assert live.recovery.rolled_forward == live.recovery.rolled_back == ()
            assert Intent.select().bind(live.database.handle).count() == 1
        finally:
            live.close()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stdin.close()
    assert process.returncode == -signal.SIGKILL
    run = parse("".join(lines), process.returncode)
    where = f"{op} killed after {kind} #{nth}"
    recover_and_check(keyring_store, seeded, run, expect_new=expect_new, where=where)


def test_recovery_in_a_new_process_after_crash(
    tmp_path: Path,
    new_registry: Callable[[], str | None],
    keyring_store: KeyringSecretStore,
    drivers: Drivers,
    protocol: dict[str, list[Event]],
) -> None:
    """The restart is a real process too: it finds the dead owner's intent and undoes it (the
    new secret reached the keyring, but its generation was never committed)."""
    seeded = seed(tmp_path / "data", keyring_store, "refresh", new_registry())
    put = next(e.index for e in protocol["refresh"] if e.kind == "keyring.put")
    crashed = drivers.run(
        seeded.data_dir, "refresh", *seeded.options(), "--crash", str(put), "--when", "after"
    )
    assert crashed.returncode == CRASH_STATUS, crashed.output
    recovery = drivers.run(seeded.data_dir, "reconcile", *seeded.registry())
    assert recovery.returncode == 0, recovery.output
    assert recovery.done is not None
    assert recovery.done["back"] == [seeded.token_id]
    assert recovery.done["forward"] == recovery.done["waiting"] == []
    context = open_context(seeded.data_dir, store=keyring_store, database=seeded.database)
    try:
        assert context.recovery == ReconcileReport()
        check_recovered(
            context, keyring_store, seeded, crashed, expect_new=False, where="new process"
        )
    finally:
        context.close()


# Crash recovery itself at each of its own steps, then recover again: recovery is idempotent.
# (op, the event kind the first driver dies after, which one of that kind, whether the change
# survives)
RECOVERY_SCENARIOS = [
    ("refresh", "keyring.put", 0, False),  # written, not committed: recovery rolls back
    ("refresh", "db.commit", 0, False),  # intent only: recovery rolls back
    ("refresh", "db.commit", 1, True),  # committed: recovery removes the old entry
    ("create", "keyring.put", 0, False),  # recovery undoes the create
    ("delete", "db.commit", 0, True),  # recovery finishes the delete
]


@pytest.mark.parametrize(("op", "kind", "nth", "expect_new"), RECOVERY_SCENARIOS)
def test_crash_during_recovery_then_recover_again(
    tmp_path: Path,
    new_registry: Callable[[], str | None],
    keyring_store: KeyringSecretStore,
    drivers: Drivers,
    protocol: dict[str, list[Event]],
    op: str,
    kind: str,
    nth: int,
    expect_new: bool,
) -> None:
    first = [e.index for e in protocol[op] if e.kind == kind][nth]

    def crashed_case(name: str) -> tuple[Seeded, Run]:
        case = seed(tmp_path / name, keyring_store, op, new_registry())
        run = drivers.run(
            case.data_dir, op, *case.options(), "--crash", str(first), "--when", "after"
        )
        assert run.returncode == CRASH_STATUS, run.output
        return case, run

    probe, _ = crashed_case("probe")
    steps = drivers.run(probe.data_dir, "reconcile", *probe.registry()).events
    assert steps, "recovery had nothing to do"
    # After every step of recovery; before a commit too (inside its transaction). Before a
    # keyring call is the same state as after the step that precedes it.
    points = [(i, "after") for i in range(len(steps))]
    points += [(e.index, "before") for e in steps if e.kind == "db.commit"]
    for i, when in points:
        where = f"{op}: recovery crashed {when} {steps[i].kind} #{i}"
        case, first_run = crashed_case(f"{i}-{when}")
        run = drivers.run(
            case.data_dir, "reconcile", *case.registry(), "--crash", str(i), "--when", when
        )
        assert run.returncode == CRASH_STATUS, f"{where}: {run.output}"
        recover_and_check(keyring_store, case, first_run, expect_new=expect_new, where=where)
