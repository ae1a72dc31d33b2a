"""A real process that performs one token operation and dies at a chosen step.

Run as ``python -m tests.helpers.crash_driver DATA_DIR OP [options]`` from the project root. It
opens the data dir like the application does (its registry on ``--database URL`` or
``$TOKENDESK_DATABASE`` when given), wraps the keyring store and the database's write
transactions so that every step of the journaled protocol is an *event*, and then runs one
operation:

``create``      a new token for agent ``bot`` in environment ``Prod``
``refresh``     a new secret for ``--token`` (the token's configured grace)
``rotate``      :meth:`TokenService.rotate_due` (the scheduler's pass)
``delete``      delete ``--token``
``reconcile``   recovery only, as at start-up

Each event is announced on stdout *before* it happens (``event <n> <kind> <detail>``), so the
parent knows exactly how far a killed driver got. Events are keyring calls (``keyring.get``,
``keyring.put``, ``keyring.delete``, ``keyring.check``) and database commits (``db.commit``).

``--crash N --when before|after``  call ``os._exit(137)`` just before or just after event N (for
    a commit, "before" is inside the open transaction, so SQLite must roll it back)
``--at KIND:N``  crash at the Nth event of that kind instead (counting from 0)
``--pause N --when …``  print ``paused <n>`` there and block on stdin, so the parent can send a
    real SIGKILL
``--barrier``  print ``ready`` once the data dir is open and wait for a line on stdin, so several
    drivers can be released together
``--now ISO``  fix the service clock (UTC)
``--database URL``  the registry on PostgreSQL, as ``tokendesk --database`` takes it
``--keyring-lock FILE``  hold an exclusive ``flock`` on FILE during each keyring call:
    gnome-keyring 42 can crash when several clients call it at the same instant, so racing
    drivers take turns at the keyring while the database stays fully concurrent

On success the driver prints ``done <json>`` and exits 0.

``python -m tests.helpers.crash_driver --serve`` is a fork server for many short drivers: it
imports everything once, then for each JSON request line ``{"argv": [...], "output": PATH}``
forks a child that runs the driver with stdout and stderr sent to PATH, reaps it, and answers
``{"status": N}`` (a negative N is the signal that ended it). Each driver is still a process of
its own that really dies; it just skips the interpreter's start-up.

The driver prints keys and fingerprints, never a secret.
"""

from __future__ import annotations

import argparse
import faulthandler
import fcntl
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from desktop.app import open_context
from desktop.domain import tokens
from desktop.domain.clock import Clock, utc
from desktop.paths import database_url
from desktop.secrets.store import SecretStore, open_secret_store
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock

CRASH_STATUS = 137
HUNG_AFTER = 45  # seconds; the tests give up on a driver after 60
ENVIRONMENT = "Prod"
AGENT = "bot"
OPERATIONS = ("create", "refresh", "rotate", "delete", "reconcile")

T = TypeVar("T")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Tripwire:
    """Numbers every event and dies (or pauses) at the chosen one."""

    def __init__(
        self, crash: int | None, pause: int | None, when: str, at: str | None = None
    ) -> None:
        self.count = 0
        self.crash = crash
        self.pause = pause
        self.when = when
        # "KIND:N": crash at the Nth (from 0) event of that kind, whatever its number.
        self.at_kind, _, nth = (at or "").partition(":")
        self.at_nth = int(nth or 0)
        self.seen: dict[str, int] = {}

    def _stop(self, index: int, moment: str) -> None:
        if self.when != moment:
            return
        if index == self.crash:
            os._exit(CRASH_STATUS)
        if index == self.pause:
            say(f"paused {index} {moment}")
            sys.stdin.readline()

    def before(self, kind: str, detail: str = "") -> int:
        index = self.count
        self.count += 1
        nth = self.seen[kind] = self.seen.get(kind, -1) + 1
        if kind == self.at_kind and nth == self.at_nth:
            self.crash = index
        say(f"event {index} {kind} {detail}".rstrip())
        self._stop(index, "before")
        return index

    def after(self, index: int) -> None:
        self._stop(index, "after")


class TrippingStore:
    """A :class:`SecretStore` that reports every call to a :class:`Tripwire`."""

    def __init__(self, inner: SecretStore, wire: Tripwire, lock_path: str | None = None) -> None:
        self._inner = inner
        self._wire = wire
        self._lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600) if lock_path else None

    @property
    def backend_name(self) -> str:
        return self._inner.backend_name

    def _call(self, kind: str, detail: str, call: Callable[[], T]) -> T:
        index = self._wire.before(kind, detail)
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            result = call()
        finally:
            if self._lock is not None:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._wire.after(index)
        return result

    def get(self, key: str) -> str | None:
        return self._call("keyring.get", key, lambda: self._inner.get(key))

    def put(self, key: str, secret: str) -> None:
        detail = f"{key} {tokens.fingerprint(secret)}"
        self._call("keyring.put", detail, lambda: self._inner.put(key, secret))

    def delete(self, key: str) -> None:
        self._call("keyring.delete", key, lambda: self._inner.delete(key))

    def check(self) -> None:
        self._call("keyring.check", "", self._inner.check)


def trip_commits(service: TokenService, wire: Tripwire) -> None:
    """Make every write transaction of *service* an event: its commit can be crashed."""

    @contextmanager
    def commit() -> Iterator[None]:
        index = wire.before("db.commit")
        yield
        wire.after(index)

    service.unit_of_work.commit_hook = commit


def run(args: argparse.Namespace) -> dict[str, Any]:
    clock: Clock | None = FakeClock(utc(datetime.fromisoformat(args.now))) if args.now else None
    wire = Tripwire(args.crash, args.pause, args.when, args.at)
    # Open without a keyring: recovery must not run before the tripwires are in place.
    database = database_url(args.database)
    context = open_context(Path(args.data_dir), need_keyring=False, clock=clock, database=database)
    store = TrippingStore(open_secret_store(check=False), wire, args.keyring_lock)
    service = TokenService(context.database, store, clock=clock, actor="cli")
    trip_commits(service, wire)
    if args.barrier:
        say("ready")
        sys.stdin.readline()
    result: dict[str, Any] = {"pid": os.getpid()}
    if args.op == "create":
        issued = service.create_token(ENVIRONMENT, AGENT, label="crash test")
        result["token"] = issued.token.id
    elif args.op == "refresh":
        issued = service.refresh(args.token)
        result["generation"] = issued.token.generation
    elif args.op == "rotate":
        report = service.rotate_due()
        result.update(
            rotated=list(report.rotated),
            skipped=list(report.skipped),
            failed=[list(failure) for failure in report.failed],
        )
    elif args.op == "delete":
        service.delete(args.token)
    else:
        recovery = service.reconcile()
        result.update(
            forward=list(recovery.rolled_forward),
            back=list(recovery.rolled_back),
            waiting=list(recovery.waiting),
        )
    result["events"] = wire.count
    context.close()
    return result


def main(argv: list[str] | None = None) -> int:
    # A parent that finds the driver hung sends SIGABRT to see where: every thread's stack.
    faulthandler.enable(all_threads=True)
    parser = argparse.ArgumentParser(prog="crash_driver")
    parser.add_argument("data_dir")
    parser.add_argument("op", choices=OPERATIONS)
    parser.add_argument("--token", type=int)
    parser.add_argument("--crash", type=int)
    parser.add_argument("--at", help="crash at the Nth event of a kind, as KIND:N")
    parser.add_argument("--pause", type=int)
    parser.add_argument("--when", choices=("before", "after"), default="before")
    parser.add_argument("--now")
    parser.add_argument("--barrier", action="store_true")
    parser.add_argument("--keyring-lock")
    parser.add_argument("--database")
    args = parser.parse_args(argv)
    say("done " + json.dumps(run(args)))
    return 0


def _child(argv: list[str], output: str) -> None:
    """In the forked child: run one driver with its output in a file; never return."""
    status = 1
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        # A driver still running after this long is hung: its stacks go to its output, which
        # the parent shows when it gives up waiting.
        faulthandler.dump_traceback_later(HUNG_AFTER, exit=False)
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def serve() -> int:
    """The fork server: one driver per request line, one at a time."""
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request["argv"], request["output"])
        _, wait_status = os.waitpid(pid, 0)
        status = os.waitstatus_to_exitcode(wait_status)
        say(json.dumps({"status": status}))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(serve())
    sys.exit(main())
