"""Delivering each new secret through a token's delivery command (on SQLite, then PostgreSQL).

The commands are real ``/bin/sh`` scripts in real processes: what they were given is read back
from the files they write, never assumed."""

from __future__ import annotations

import logging
import os
import shlex
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.errors import InvalidInput
from desktop.services.delivery import run_command
from desktop.services.journal import pid_alive
from desktop.services.tokens import TokenService
from desktop.services.views import DeliveryOutcome
from tests.helpers.admins import ALICE, BOB
from tests.helpers.clock import FakeClock

# Writes what it was given: its standard input, its environment, its own argv and its parent
# shell's (as /proc shows them to every user of the machine), each in a file of its own.
RECORDER = """#!/bin/sh
out="$1"
cat > "$out/stdin"
env > "$out/env"
tr '\\0' ' ' < /proc/$$/cmdline > "$out/argv"
tr '\\0' ' ' < /proc/$PPID/cmdline > "$out/parent_argv"
"""


@pytest.fixture(autouse=True)
def commands_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands inherit TokenDesk's environment, as hooks do: the shell's tools must be on
    its PATH (the unit suite may run with an empty one)."""
    monkeypatch.setenv("PATH", os.defpath)


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[str, Path]:
    """A delivery command that records what it got, and the folder it records into."""
    script = tmp_path / "record.sh"
    script.write_text(RECORDER)
    out = tmp_path / "got"
    out.mkdir()
    return f"sh {shlex.quote(str(script))} {shlex.quote(str(out))}", out


def audit(service: TokenService, token_id: int) -> list[tuple[str, str, str]]:
    """The token's delivery events, oldest first: (action, actor, details)."""
    events = reversed(service.audit(token_id))
    return [(e.action, e.actor, e.details) for e in events if e.action.startswith("deliver")]


def test_the_secret_arrives_on_standard_input_only(
    alice: TokenService, recorder: tuple[str, Path]
) -> None:
    command, out = recorder
    token = alice.create_token("Production", "alice", label="Dashboard", grace="1h").token
    alice.set_delivery(token.id, command)
    issued = alice.refresh(token.id)
    outcome = alice.deliver(token.id)

    assert outcome is not None and outcome.ok, outcome
    assert outcome.text == "delivered (exit status 0)"
    assert (out / "stdin").read_text() == issued.secret
    env = (out / "env").read_text()
    for line in (
        f"TOKENDESK_TOKEN_ID={token.id}",
        "TOKENDESK_ENVIRONMENT=Production",
        "TOKENDESK_AGENT=alice",
        "TOKENDESK_LABEL=Dashboard",
    ):
        assert line in env.splitlines()
    for name in ("env", "argv", "parent_argv"):
        assert issued.secret not in (out / name).read_text(), name
    assert "/bin/sh -c" in (out / "parent_argv").read_text()  # the hook's shell, as certbot's
    assert audit(alice, token.id)[-1] == (
        "deliver",
        ALICE,
        "generation 1: delivered (exit status 0)",
    )
    assert alice.due_deliveries() == []  # delivered: nothing left to do


def test_a_command_that_outlives_its_time_is_killed_with_all_it_started(
    alice: TokenService, tmp_path: Path
) -> None:
    script = tmp_path / "hang.sh"
    script.write_text(f'sleep 300 &\necho $! > "{tmp_path}/child"\nwait\n')
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, f"sh {shlex.quote(str(script))}")
    alice.deliveries.timeout = 0.5
    alice.refresh(token.id)
    outcome = alice.deliver(token.id)

    assert outcome is not None and not outcome.ok
    assert outcome.text.startswith("timed out after 0.5 s and was killed; next try at ")
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 10
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(child)  # the whole process group, not the shell alone


def test_a_failure_is_tried_again_while_the_grace_lasts_and_each_try_is_audited(
    alice: TokenService, clock: FakeClock, tmp_path: Path
) -> None:
    flag = tmp_path / "works"
    command = f'test -e {shlex.quote(str(flag))} || {{ echo "no route to vault" >&2; exit 3; }}'
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, command)
    alice.refresh(token.id)
    start = clock.now()

    first = alice.deliver(token.id)
    assert first is not None and not first.ok
    assert first.retry_at == start + timedelta(minutes=1)
    assert first.text.startswith("exit status 3 (no route to vault); next try at ")
    assert alice.rotate_due().deliveries == ()  # not due again yet
    clock.advance(timedelta(minutes=1))
    (second,) = alice.rotate_due().deliveries
    assert not second.ok and second.attempts == 2
    assert second.retry_at == clock.now() + timedelta(minutes=5)
    flag.touch()
    clock.advance(timedelta(minutes=5))
    (third,) = alice.rotate_due().deliveries
    assert third.ok and third.text == "delivered (exit status 0) at try 3"
    assert [action for action, _, _ in audit(alice, token.id)] == [
        "deliver-set",
        "deliver-failed",
        "deliver-failed",
        "deliver",
    ]
    assert alice.due_deliveries() == []


def test_retries_stop_when_the_previous_secrets_grace_ends(
    alice: TokenService, clock: FakeClock
) -> None:
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, "exit 1")
    alice.refresh(token.id)
    alice.deliver(token.id)  # next try after 1 minute
    clock.advance(timedelta(minutes=1))
    alice.deliver(token.id)  # after 5 more
    clock.advance(timedelta(minutes=5))
    alice.deliver(token.id)  # after 15 more
    clock.advance(timedelta(minutes=15))
    alice.deliver(token.id)  # then every 30: 21 + 30 < 60
    clock.advance(timedelta(minutes=30))
    last = alice.deliver(token.id)  # 51 + 30 > 60: the grace ends first
    assert last is not None and last.retry_at is None and last.attempts == 5
    assert last.text.endswith("not tried again: the previous secret's grace ends first")
    clock.advance(timedelta(hours=2))
    assert alice.due_deliveries() == []


def test_without_grace_a_failure_is_not_tried_again(alice: TokenService) -> None:
    token = alice.create_token("Production", "alice").token
    alice.set_delivery(token.id, "exit 1")
    alice.refresh(token.id)
    outcome = alice.deliver(token.id)
    assert outcome is not None and outcome.retry_at is None
    assert outcome.text == "exit status 1; not tried again: the previous secret has no grace left"
    assert alice.due_deliveries() == []


def test_the_secret_never_reaches_the_audit_log_or_the_log_when_the_command_echoes_it(
    alice: TokenService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, 'read s; echo "got $s"; echo "bad token $s" >&2; exit 2')
    issued = alice.refresh(token.id)
    outcome = alice.deliver(token.id)

    assert outcome is not None and outcome.text.startswith("exit status 2 (bad token •••)")
    every_event = " ".join(f"{e.actor} {e.action} {e.details}" for e in alice.audit())
    assert "bad token •••" in every_event
    assert issued.secret not in every_event
    assert issued.secret[4:] not in every_event
    assert issued.secret not in caplog.text
    assert issued.secret not in repr(outcome)


def test_scheduled_rotations_deliver_their_new_secrets(
    alice: TokenService, clock: FakeClock, recorder: tuple[str, Path]
) -> None:
    command, out = recorder
    token = alice.create_token("Production", "alice", rotation="1d", grace="1h").token
    alice.set_delivery(token.id, command)
    clock.advance(timedelta(days=1, minutes=1))
    report = alice.rotate_due(actor="scheduler (alice@laptop)")

    assert report.rotated == (token.id,)
    (outcome,) = report.deliveries
    assert outcome.ok and outcome.generation == 1
    assert (out / "stdin").read_text() == alice.reveal(token.id)
    assert audit(alice, token.id)[-1][:2] == ("deliver", "scheduler (alice@laptop)")


def test_a_delivery_left_by_a_crash_is_made_by_the_next_pass(
    alice: TokenService, memory_context: Context, clock: FakeClock, recorder: tuple[str, Path]
) -> None:
    """The commit that makes a new secret final marks its delivery due: a process that ended
    before running the command leaves it to the next TokenDesk of the same person."""
    command, out = recorder
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, command)
    issued = alice.refresh(token.id)  # and then the process ends, before delivering
    again = TokenService(
        memory_context.database, alice.store, clock=clock, actor=ALICE, person=ALICE
    )
    assert again.due_deliveries() == [token.id]
    (outcome,) = again.rotate_due().deliveries
    assert outcome.ok
    assert (out / "stdin").read_text() == issued.secret


def test_a_command_set_by_someone_else_never_runs_with_the_holders_secret(
    alice: TokenService, bob: TokenService, recorder: tuple[str, Path]
) -> None:
    command, out = recorder
    token = alice.create_token("Production", "alice", grace="1h").token
    set_by_bob = bob.set_delivery(token.id, command)
    assert set_by_bob.delivery_set_by == BOB
    alice.refresh(token.id)
    outcome = alice.deliver(token.id)

    assert outcome is not None and outcome.refused and not outcome.ok
    why = (
        f"delivery command set by {BOB}, not by the holder {ALICE}: not run; set it again "
        f"from {ALICE}"
    )
    assert outcome.text == why
    assert outcome.summary == f"token {token.id}: delivery not run: {why}"
    assert list(out.iterdir()) == []  # not run at all
    assert audit(alice, token.id)[-1] == ("deliver-refused", ALICE, f"generation 1: {why}")
    assert alice.due_deliveries() == []  # refused once, not at every pass

    alice.set_delivery(token.id, command)  # the holder takes it over: it runs from now on
    alice.refresh(token.id)
    delivered = alice.deliver(token.id)
    assert delivered is not None and delivered.ok
    assert (out / "stdin").exists()


def test_a_refresh_by_another_admin_moves_the_token_but_not_the_command(
    alice: TokenService, bob: TokenService, recorder: tuple[str, Path]
) -> None:
    """Bob's refresh makes him the holder: Alice's command is not run with his secret (nor on
    Alice's desktop, which no longer holds it) until he sets it himself."""
    command, out = recorder
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, command)
    bob.refresh(token.id)

    assert alice.due_deliveries() == []  # no longer hers to deliver
    assert alice.deliver(token.id) is None
    outcome = bob.deliver(token.id)
    assert outcome is not None and outcome.refused
    assert outcome.text.startswith(f"delivery command set by {ALICE}, not by the holder {BOB}")
    assert list(out.iterdir()) == []
    view = bob.token(token.id)
    assert (view.delivery_command, view.delivery_set_by) == (command, ALICE)


def test_turning_delivery_off_clears_what_was_due(alice: TokenService) -> None:
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, "exit 1")
    alice.refresh(token.id)
    assert alice.due_deliveries() == [token.id]
    view = alice.set_delivery(token.id, None)
    assert (view.delivery_command, view.delivery_set_by) == (None, None)
    assert alice.due_deliveries() == []
    assert audit(alice, token.id)[-1] == ("deliver-set", ALICE, "delivery off")


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ("cat\n> /tmp/x", "one line"),
        ("x" * 1001, "too long"),
        ("echo tdk_" + "A" * 43 + "x", None),  # a secret-shaped text with a wrong checksum
    ],
)
def test_a_bad_command_is_refused_and_changes_nothing(
    alice: TokenService, command: str, why: str | None
) -> None:
    token = alice.create_token("Production", "alice").token
    if why is None:
        assert alice.set_delivery(token.id, command).delivery_command == command
        return
    with pytest.raises(InvalidInput, match=why):
        alice.set_delivery(token.id, command)
    assert alice.token(token.id).delivery_command is None


def test_a_command_holding_a_secret_is_refused(alice: TokenService) -> None:
    issued = alice.create_token("Production", "alice")
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        alice.set_delivery(issued.token.id, f"echo {issued.secret} > /tmp/x")
    assert alice.token(issued.token.id).delivery_command is None


def test_a_cancelled_run_is_stopped_and_stays_due(alice: TokenService, tmp_path: Path) -> None:
    """Closing the window stops a running command; the delivery is tried at the next pass."""
    result = run_command("sleep 300", "tdk_x", {}, timeout=60, cancelled=lambda: True)
    assert result.cancelled and not result.ok
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, "sleep 300")
    alice.refresh(token.id)
    assert alice.deliveries.deliver(token.id, cancelled=lambda: True) is None
    assert alice.due_deliveries() == [token.id]


def test_a_command_that_does_not_read_its_input_still_runs() -> None:
    result = run_command("exit 0", "tdk_secret", dict(os.environ), timeout=10)
    assert result.ok


def test_two_processes_of_the_holder_never_run_one_delivery_twice(
    alice: TokenService, memory_context: Context, clock: FakeClock, tmp_path: Path
) -> None:
    """The window and cron's rotate-due on one desktop both find a delivery due: whichever
    takes it first runs the command; the other finds it taken."""
    started, go, runs = tmp_path / "started", tmp_path / "go", tmp_path / "runs"
    command = (
        f"echo run >> {shlex.quote(str(runs))}; touch {shlex.quote(str(started))}; "
        f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done"
    )
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, command)
    alice.refresh(token.id)
    cron = TokenService(memory_context.database, alice.store, clock=clock, person=ALICE)
    outcomes: list[DeliveryOutcome | None] = []

    def window_pass() -> None:
        with alice.connection():
            outcomes.append(alice.deliver(token.id))

    thread = threading.Thread(target=window_pass)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists()
        assert cron.due_deliveries() == []  # taken: not due to anyone else meanwhile
        assert cron.deliver(token.id) is None
    finally:
        go.touch()
        thread.join(timeout=30)
    assert outcomes[0] is not None and outcomes[0].ok
    assert runs.read_text() == "run\n"


def test_a_try_cut_short_by_a_crash_is_due_again_after_its_lease(
    alice: TokenService, clock: FakeClock
) -> None:
    token = alice.create_token("Production", "alice", grace="1h").token
    alice.set_delivery(token.id, "true")
    alice.refresh(token.id)
    row = alice.lifecycle.ready_row(token.id)
    assert alice.deliveries._claim(row) is not None  # and then the process ends
    assert alice.due_deliveries() == []
    clock.advance(timedelta(seconds=alice.deliveries.timeout) + timedelta(minutes=1))
    (outcome,) = alice.rotate_due().deliveries
    assert outcome.ok


def test_a_secret_cut_by_the_end_of_standard_error_read_is_not_kept_in_part() -> None:
    """Only the last 4 KiB of standard error are read: a line that starts before them starts
    mid-way, perhaps mid-secret, where no mask can recognise it, so it is not kept."""
    secret = tokens.generate()
    # The secret, then 4056 more characters on its line: the 4096 bytes read begin 40
    # characters from the secret's end.
    command = "cat >&2; head -c 4056 /dev/zero | tr '\\0' B >&2; exit 3"
    result = run_command(command, secret, dict(os.environ), timeout=10)
    assert result.returncode == 3
    assert all(secret[i : i + 8] not in result.tail for i in range(len(secret) - 8)), result.tail
    # A line read whole is still kept.
    ended = run_command(
        "cat >&2; echo >&2; echo 'no such host' >&2; exit 3", secret, {}, timeout=10
    )
    assert ended.tail == "no such host"


def test_a_command_that_floods_standard_error_is_stopped() -> None:
    """Standard error goes to a temporary file: one without end would fill the disk until the
    time ran out. Killed once it passes the bound, and said so."""
    command = "head -c 20000000 /dev/zero >&2; sleep 30"
    result = run_command(command, tokens.generate(), dict(os.environ), timeout=20)
    assert not result.ok and not result.timed_out
    assert result.tail == "it wrote over 16 MiB to standard error"
