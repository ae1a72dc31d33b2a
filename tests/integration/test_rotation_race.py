"""Several processes (and threads) run the scheduler's pass over the same due tokens at once:
no token may ever be rotated twice for one due time.

The races run against a keyring session of their own: gnome-keyring 42 can crash when several
clients call it at the same instant (measured here: six processes reading at once brought the
daemon down in two runs of five), and a crash must not take the rest of the suite with it. The
racing processes also take turns at the keyring (``--keyring-lock``; within one process the
store does that itself), while the database -- where the compare-and-swap that prevents double
rotation lives -- stays fully concurrent. A rotation the keyring refuses is a legitimate
outcome: it must leave the token wholly old, and a later pass rotates it, once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from desktop.app import open_context
from desktop.domain import tokens
from desktop.paths import database_url
from desktop.secrets.store import KeyringSecretStore, SecretStore, open_secret_store
from desktop.services.tokens import TokenService, secret_key
from desktop.services.views import RotationReport
from desktop.storage.models import AuditEvent, Intent, Token
from tests.helpers import keyring_session
from tests.helpers.clock import FakeClock
from tests.helpers.crash_driver import AGENT, ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
TOKENS = 5
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TIMEOUT = 60  # a safety net against a hung process, never a timing assertion


@pytest.fixture
def race_keyring(keyring_store: KeyringSecretStore) -> Iterator[KeyringSecretStore]:
    """A private Secret Service for this test alone (the address is exported meanwhile)."""
    if not keyring_session.tools_available():
        pytest.skip("dbus-daemon or gnome-keyring-daemon not installed")
    session = keyring_session.start()
    try:
        yield open_secret_store()
    finally:
        session.stop()


def seed(data_dir: Path, store: SecretStore) -> list[int]:
    """Five tokens that rotate hourly, all created at START."""
    context = open_context(data_dir, store=store, clock=FakeClock(START), database=database_url())
    try:
        service = context.service
        service.add_environment(ENVIRONMENT, api_enabled=True)
        service.add_role("Reader", ["GET /Loans"])
        service.add_agent(AGENT, "Reader", has_logged_in=True, signed_agreement=True)
        return [
            service.create_token(ENVIRONMENT, AGENT, label=f"t{n}", rotation="1h").token.id
            for n in range(TOKENS)
        ]
    finally:
        context.close()


def race(data_dir: Path, now: datetime) -> list[RotationReport]:
    """Start the processes, wait until every one is ready, then release them together."""
    argv = [
        sys.executable,
        "-m",
        "tests.helpers.crash_driver",
        str(data_dir),
        "rotate",
        "--barrier",
        "--now",
        now.isoformat(),
        "--keyring-lock",
        str(data_dir / "keyring.lock"),
    ]
    processes = [
        subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in processes:  # the barrier: one line each, written back to back
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, _ = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, out
            done: dict[str, Any] = json.loads(out.splitlines()[-1].removeprefix("done "))
            failed = tuple((token_id, why) for token_id, why in done["failed"])
            reports.append(RotationReport(tuple(done["rotated"]), failed, tuple(done["skipped"])))
        return reports
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def rotations(service: TokenService, token_id: int) -> int:
    return (
        AuditEvent.select()
        .bind(service.unit_of_work.database.handle)
        .where(AuditEvent.token_id == token_id, AuditEvent.action == "rotate")
        .count()
    )


def check_at_most_once_then_exactly_once(
    reports: list[RotationReport],
    ids: list[int],
    service: TokenService,
    store: SecretStore,
    generation: int,
) -> None:
    """No token rotated twice in the race; a catch-up pass rotates exactly the ones the keyring
    refused (if any) and nothing else; then each token has exactly one rotation per due time."""
    handle = service.unit_of_work.database.handle
    rotated = [token_id for report in reports for token_id in report.rotated]
    assert len(rotated) == len(set(rotated)), f"a token was rotated twice: {reports}"
    assert set(rotated) <= set(ids)
    failures = [failure for report in reports for failure in report.failed]
    for report in reports:
        assert not set(report.rotated) & set(report.skipped)
        assert set(report.rotated) | set(report.skipped) <= set(ids)
    for token_id, why in failures:
        assert "keyring" in why, f"token {token_id} failed for another reason: {why}"
    failed_audits = (
        AuditEvent.select().bind(handle).where(AuditEvent.action == "rotate-failed").count()
    )
    assert failed_audits >= len(failures)
    assert Intent.select().bind(handle).count() == 0
    for token_id in set(ids) - set(rotated):
        # Refused by the keyring: wholly old, still due.
        assert Token.select().where(Token.id == token_id).get(handle).generation == generation - 1
    catch_up = service.rotate_due()
    assert catch_up.failed == ()
    assert set(catch_up.rotated) == set(ids) - set(rotated)
    for token_id in ids:
        row = Token.select().where(Token.id == token_id).get(handle)
        assert row.generation == generation
        assert rotations(service, token_id) == generation
        current = store.get(secret_key(row.uuid, generation))
        assert current is not None
        assert tokens.fingerprint(current) == row.fingerprint
        for other in range(generation + 2):
            if other != generation:
                assert store.get(secret_key(row.uuid, other)) is None
    assert Intent.select().bind(handle).count() == 0


@pytest.mark.slow
def test_processes_racing_rotate_due_never_rotate_a_token_twice(
    data_dir: Path, race_keyring: KeyringSecretStore
) -> None:
    ids = seed(data_dir, race_keyring)
    # Three hours later: three missed rotations coalesce into one, whoever gets there first.
    clock = FakeClock(START + timedelta(hours=3))
    reports = race(data_dir, clock.now())
    context = open_context(data_dir, store=race_keyring, clock=clock, database=database_url())
    try:
        check_at_most_once_then_exactly_once(
            reports, ids, context.service, race_keyring, generation=1
        )
        next_due = {token.next_rotation_at for token in context.service.tokens()}
        assert next_due == {clock.now() + timedelta(hours=1)}  # due an interval after completion
        assert context.service.due_token_ids() == []
    finally:
        context.close()
    # Due again two hours on: a second race, again one rotation per token.
    clock.advance(timedelta(hours=2))
    reports = race(data_dir, clock.now())
    context = open_context(data_dir, store=race_keyring, clock=clock, database=database_url())
    try:
        check_at_most_once_then_exactly_once(
            reports, ids, context.service, race_keyring, generation=2
        )
    finally:
        context.close()


@pytest.mark.slow
def test_two_tokendesk_rotate_due_commands_rotate_each_due_token_once(
    data_dir: Path, race_keyring: KeyringSecretStore
) -> None:
    """``tokendesk rotate-due`` as cron or a timer on two machines starts it, twice at once on
    one registry: the compare-and-swap on the generation (and on PostgreSQL the writes that
    take turns) let each due token rotate once, whichever process gets there first."""
    ids = seed(data_dir, race_keyring)  # due since START, long before now
    argv = [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "rotate-due", "--json"]
    processes = [
        subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=TIMEOUT)
        # 1 and 3: a rotation the keyring refused, which leaves its token wholly old.
        assert process.returncode in (0, 1, 3), err
        done: dict[str, Any] = json.loads(out)
        failed = tuple((failure["token"], failure["error"]) for failure in done["failed"])
        reports.append(RotationReport(tuple(done["rotated"]), failed, tuple(done["skipped"])))
    clock = FakeClock(datetime.now(UTC))
    context = open_context(data_dir, store=race_keyring, clock=clock, database=database_url())
    try:
        check_at_most_once_then_exactly_once(
            reports, ids, context.service, race_keyring, generation=1
        )
    finally:
        context.close()


def test_threads_racing_rotate_due_never_rotate_a_token_twice(
    data_dir: Path, race_keyring: KeyringSecretStore
) -> None:
    """Two ticks in one process (say the timer and a manual run) race the same way. (The
    keyring store itself makes one process's calls take turns.)"""
    store = race_keyring
    ids = seed(data_dir, store)
    clock = FakeClock(START + timedelta(hours=5))
    context = open_context(data_dir, store=store, clock=clock, database=database_url())
    try:
        services = [TokenService(context.database, store, clock=clock) for _ in range(3)]
        barrier = threading.Barrier(len(services))
        outcomes: list[RotationReport | BaseException | None] = [None] * len(services)

        def tick(index: int) -> None:
            try:
                barrier.wait()
                outcomes[index] = services[index].rotate_due()
            except BaseException as error:  # surfaced below, in the test's thread
                outcomes[index] = error
            finally:
                context.database.close()  # this thread's connection

        threads = [threading.Thread(target=tick, args=(i,)) for i in range(len(services))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        reports = [outcome for outcome in outcomes if isinstance(outcome, RotationReport)]
        assert len(reports) == len(services), outcomes
        check_at_most_once_then_exactly_once(reports, ids, context.service, store, generation=1)
    finally:
        context.close()
