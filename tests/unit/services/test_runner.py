"""RotationRunner on its own, on a real SQLite file and the in-memory store: a blocking run,
stopping mid-run, no run without a keyring, a suspend noticed by the wall clock, and the
wake-up interval. The runner in the window: tests/gui/test_runner.py."""

from __future__ import annotations

import os
import shlex
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.services.runner import RotationRunner
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_three_agents as seed
from tests.helpers.rotation import rotating


@pytest.fixture
def seeded(memory_context: Context) -> TokenService:
    return seed(memory_context.service)


def test_blocking_run_is_synchronous(
    memory_context: Context, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    ids = rotating(seeded, 2)
    clock.advance(timedelta(days=2))
    runner = RotationRunner(seeded)
    reports: list[RotationReport] = []
    runner.finished.connect(reports.append)
    assert runner.run_now(blocking=True)
    assert len(reports) == 1
    assert sorted(reports[0].rotated) == ids
    assert not runner.is_running()
    assert not runner.run_now(blocking=True)  # nothing due any more


def test_stop_cancels_and_waits(
    memory_context: Context, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    rotating(seeded, 6)
    clock.advance(timedelta(days=2))
    runner = RotationRunner(seeded)
    runner.start()
    assert runner.timer.isActive()
    assert runner.run_now()
    runner.stop()
    assert not runner.is_running()
    assert not runner.timer.isActive()
    rotated = [t for t in seeded.tokens() if t.generation == 1]
    assert len(rotated) < 6 or all(t.last_error is None for t in rotated)
    # No change was left half done.
    assert seeded.reconcile().waiting == ()


def test_nothing_runs_without_the_keyring(
    memory_context: Context, clock: FakeClock, qtbot: QtBot
) -> None:
    service = seed(memory_context.service)
    rotating(service, 1)
    clock.advance(timedelta(days=2))
    service.set_store(None)
    runner = RotationRunner(service)
    with qtbot.assertNotEmitted(runner.started):
        runner.tick()
        assert not runner.run_now()


def test_a_wall_clock_jump_counts_as_a_resume(
    memory_context: Context, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    now = {"mono": 100.0, "wall": 1_000_000.0}
    runner = RotationRunner(seeded, 30_000, monotonic=lambda: now["mono"], wall=lambda: now["wall"])
    resumed: list[bool] = []
    runner.resumed.connect(lambda: resumed.append(True))
    runner.tick()
    now["mono"] += 30
    now["wall"] += 30
    runner.tick()
    assert resumed == []
    # Suspended for eight hours: the monotonic clock stood still, the wall clock did not.
    now["mono"] += 30
    now["wall"] += 8 * 3600
    token = rotating(seeded, 1)[0]
    clock.advance(timedelta(days=1))
    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        runner.tick()
    assert resumed == [True]
    assert finished.args[0].rotated == (token,)


def test_the_wake_up_interval_stays_within_a_minute(seeded: TokenService) -> None:
    assert RotationRunner(seeded).timer.interval() <= 60_000
    with pytest.raises(ValueError, match="once a minute"):
        RotationRunner(seeded, 24 * 3600 * 1000)


def test_a_refused_rotation_is_reported_without_holding_the_others_back(
    memory_context: Context, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    """A rotation the rules refuse (its agent is disabled) is a failure to show, not a reason
    to back off: trying sooner changes nothing, and waiting would delay every other token."""
    held = seeded.create_token("Production", "Alpha Bot", rotation="1d").token.id
    other = seeded.create_token("Production", "Beta Sync", rotation="3d").token.id
    seeded.set_agent_disabled("Alpha Bot", True)
    clock.advance(timedelta(days=2))
    runner = RotationRunner(seeded, monotonic=lambda: 1_000.0, wall=lambda: 0.0)
    failures: list[tuple[int, str]] = []
    runner.failed.connect(lambda token_id, why: failures.append((token_id, why)))
    assert runner.run_now(blocking=True)
    assert failures == [(held, "agent 'Alpha Bot' is disabled, so its tokens are not rotated")]

    clock.advance(timedelta(days=2))  # the other token falls due; the agent is enabled again
    seeded.set_agent_disabled("Alpha Bot", False)
    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        runner.tick()  # at once: no back-off after a refusal
    assert sorted(finished.args[0].rotated) == sorted([held, other])
    runner.stop()


def test_scheduled_rotations_name_the_scheduler_and_the_user(
    memory_context: Context,
    seeded: TokenService,
    clock: FakeClock,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    token = rotating(seeded, 1)[0]
    clock.advance(timedelta(days=2))
    assert RotationRunner(seeded).run_now(blocking=True)
    rotated = [e for e in seeded.audit(token_id=token) if e.action == "rotate"]
    assert [e.actor for e in rotated] == ["scheduler (alice@laptop)"]


@pytest.fixture
def commands_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery commands inherit TokenDesk's environment, as hooks do: the shell's tools must
    be on its PATH (the unit suite may run with an empty one)."""
    monkeypatch.setenv("PATH", os.defpath)


@pytest.mark.usefixtures("commands_on_path")
def test_a_due_delivery_alone_starts_a_run_without_progress(
    memory_context: Context, seeded: TokenService, qtbot: QtBot
) -> None:
    """A refresh made in the window leaves its delivery due: a run makes it, as rotations'
    are made, and shows no rotation progress for it."""
    token_id = seeded.create_token("Production", "Alpha Bot", grace="1h").token.id
    seeded.set_delivery(token_id, "cat > /dev/null")
    seeded.refresh(token_id)
    runner = RotationRunner(seeded)
    started: list[int] = []
    reports: list[RotationReport] = []
    runner.started.connect(started.append)
    runner.finished.connect(reports.append)
    assert runner.run_now(blocking=True)
    assert started == []
    ((outcome,),) = [report.deliveries for report in reports]
    assert outcome.ok and outcome.token_id == token_id
    assert not runner.run_now(blocking=True)  # delivered: nothing due


@pytest.mark.usefixtures("commands_on_path")
def test_a_run_asked_for_during_a_run_follows_it(
    memory_context: Context, seeded: TokenService, qtbot: QtBot, tmp_path: Path
) -> None:
    """Refresh while a pass runs: that pass has looked for due deliveries already (its first
    one's command waits for a file), so another pass follows it and delivers the new one."""
    started, go = tmp_path / "started", tmp_path / "go"
    first = seeded.create_token("Production", "Alpha Bot", grace="1h").token.id
    seeded.set_delivery(
        first,
        f"touch {shlex.quote(str(started))}; while [ ! -e {shlex.quote(str(go))} ]; do "
        "sleep 0.02; done",
    )
    seeded.refresh(first)
    runner = RotationRunner(seeded)
    reports: list[RotationReport] = []
    runner.finished.connect(reports.append)
    assert runner.run_now()
    qtbot.waitUntil(started.exists, timeout=10_000)
    later = seeded.create_token("Production", "Beta Sync", grace="1h").token.id
    seeded.set_delivery(later, "cat > /dev/null")
    seeded.refresh(later)
    assert not runner.run_now()  # one at a time: asked for again once it ends
    go.touch()
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=20_000)
    delivered = [[outcome.token_id for outcome in report.deliveries] for report in reports]
    assert delivered == [[first], [later]]
    runner.stop()
