"""RotationRunner in the window, on a real database and the real keyring: due tokens rotate off
the GUI thread, rows update in place, failures reach the banner and the keyring's return lets
the runner catch up. The runner on its own: tests/unit/services/test_runner.py."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column, Names, TokenRow
from desktop.gui.main_window import MainWindow
from desktop.services import actors
from desktop.services.runner import NO_TOKEN
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport
from tests.gui.conftest import FaultyStore, open_window
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_three_agents as seed
from tests.helpers.rotation import rotating


def test_due_token_rotates_once_in_the_window(
    window: MainWindow, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot", rotation="daily")
    window.sync.reload()
    before = window.model.token_at(0)
    clock.advance(timedelta(days=3))  # three intervals missed: one rotation
    threads: list[int] = []
    seeded.add_listener(lambda: threads.append(threading.get_ident()))

    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        window.runner.tick()
    report = finished.args[0]

    assert isinstance(report, RotationReport)
    assert report.rotated == (issued.token.id,)
    assert threads and all(t != threading.get_ident() for t in threads)  # off the GUI thread
    after = window.model.token_at(0)
    assert after.generation == 1
    assert after.masked != before.masked
    assert after.next_rotation_at == clock.now() + timedelta(days=1)
    assert not window.progress_bar.isVisible()
    events = [e for e in seeded.audit(issued.token.id) if e.action == "rotate"]
    assert len(events) == 1 and events[0].actor == actors.scheduler()
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 401
    # Nothing is due any more: the next tick starts nothing.
    with qtbot.assertNotEmitted(window.runner.started):
        window.runner.tick()


def test_progress_is_reported_for_each_token(
    window: MainWindow, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    ids = rotating(seeded, 3)
    clock.advance(timedelta(days=1, hours=1))
    steps: list[tuple[int, int]] = []
    totals: list[int] = []
    bar_shown: list[bool] = []
    window.runner.started.connect(lambda total: totals.append(total))
    window.runner.started.connect(lambda _total: bar_shown.append(window.progress_bar.isVisible()))
    window.runner.progress.connect(lambda done, total: steps.append((done, total)))
    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        assert window.runner.run_now()
        assert not window.runner.run_now()  # one run at a time
    assert totals == [3]
    assert bar_shown == [True]
    qtbot.waitUntil(lambda: len(steps) == 3)
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert sorted(finished.args[0].rotated) == ids
    assert [window.model.token_at(r).generation for r in range(3)] == [1, 1, 1]
    assert "Rotated 3 tokens" in window.statusBar().currentMessage()


def test_rotations_update_rows_in_place_without_reading_the_table_again(
    window: MainWindow, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    due = rotating(seeded, 4)
    idle = seeded.create_token("Production", "Alpha Bot", label="not scheduled").token.id
    window.sync.reload()
    window.select_tokens([idle])
    before = {token.id: token.masked for token in window.model.visible_tokens()}
    full_reads: list[object] = []
    read_table = window.service.token_table

    def counting_read(environment: str | None = None) -> tuple[int, Names, list[TokenRow]]:
        full_reads.append(environment)
        return read_table(environment)

    # Counts the table reads on this one service; mypy forbids assigning to a method.
    window.service.token_table = counting_read  # type: ignore[method-assign]
    resets: list[bool] = []
    window.model.modelReset.connect(lambda: resets.append(True))
    clock.advance(timedelta(days=1, hours=1))

    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        assert window.runner.run_now()
    window.sync.catch_up()

    after = {token.id: token for token in window.model.visible_tokens()}
    assert all(after[token_id].masked != before[token_id] for token_id in due)
    assert all(after[token_id].generation == 1 for token_id in due)
    assert after[idle].masked == before[idle]
    assert full_reads == [] and resets == []
    assert [token.id for token in window.selected_tokens()] == [idle]


def test_failed_rotation_is_shown_and_notified(
    qtbot: QtBot, faulty_context: tuple[Context, FaultyStore], clock: FakeClock
) -> None:
    context, store = faulty_context
    service = seed(context.service)
    token_id = rotating(service, 1)[0]
    window = open_window(qtbot, context)
    clock.advance(timedelta(days=2))
    store.fail_put = True

    failures: list[tuple[int, str]] = []
    window.runner.failed.connect(lambda token, why: failures.append((token, why)))
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.runner.tick()

    assert len(failures) == 1  # reported before the run's end, never dropped
    assert failures[0][0] == token_id
    assert "keyring is locked" in failures[0][1]
    cell = window.model.index(0, Column.NEXT_ROTATION)
    assert "keyring is locked" in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert cell.data(Qt.ItemDataRole.DecorationRole) is not None
    assert window.notification_banner.isVisible()
    assert "scheduled rotation" in window.notification_banner.text()
    assert "keyring is locked" in window.notification_banner.text()
    assert "(agent Alpha Bot, label “job 0”) in Production" in window.notification_banner.text()
    assert window.notices.notices()
    assert service.token(token_id).generation == 0
    assert service.audit(token_id)[0].action == "rotate-failed"

    # The keyring comes back: the next run (after the back-off) succeeds and clears the error.
    store.fail_put = False
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        assert window.runner.run_now()
    assert window.model.token_at(0).last_error is None
    window.notices.dismiss()
    assert not window.notification_banner.isVisible()
    window.close()


def test_a_failure_of_the_whole_run_is_not_blamed_on_a_token(
    window: MainWindow, seeded: TokenService
) -> None:
    # What the runner reports when the database itself failed (no token in particular).
    window.runner.failed.emit(NO_TOKEN, "database is locked")
    text = window.notification_banner.text()
    assert window.notification_banner.isVisible()
    assert text == "Scheduled rotations failed. Due tokens could not be rotated: database is locked"
    assert "token 0" not in text


def test_retrying_the_keyring_catches_up_despite_the_back_off(
    qtbot: QtBot, faulty_context: tuple[Context, FaultyStore], clock: FakeClock
) -> None:
    context, store = faulty_context
    service = seed(context.service)
    token_id = rotating(service, 1)[0]
    window = open_window(qtbot, context)
    window.runner.start()
    clock.advance(timedelta(days=2))
    store.fail_put = True  # the keyring locks while the window is open
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.runner.tick()
    assert service.token(token_id).last_error is not None
    with qtbot.assertNotEmitted(window.runner.started):
        window.runner.tick()  # backing off: the next attempt is a minute away
    store.fail_put = False  # unlocked; the person presses Retry in the banner

    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        assert window.retry_keyring()

    assert finished.args[0].rotated == (token_id,)
    assert service.token(token_id).generation == 1
    assert service.token(token_id).last_error is None
    window.close()


def test_recovery_never_runs_beside_a_rotation_in_flight(
    qtbot: QtBot,
    window: MainWindow,
    seeded: TokenService,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = rotating(seeded, 6)
    clock.advance(timedelta(days=2))
    window.runner.start()
    assert window.runner.run_now()  # the worker thread is rotating
    running_during_recovery: list[bool] = []
    reconcile = seeded.reconcile

    def observed_reconcile() -> object:
        running_during_recovery.append(window.runner.is_running())
        return reconcile()

    monkeypatch.setattr(seeded, "reconcile", observed_reconcile)

    assert window.retry_keyring()

    assert running_during_recovery == [False]
    assert window.runner.timer.isActive()  # the scheduler runs again
    qtbot.waitUntil(
        lambda: all(t.generation == 1 for t in seeded.tokens()) and not window.runner.is_running(),
        timeout=20_000,
    )
    assert sorted(t.id for t in seeded.tokens()) == ids
    assert all(t.last_error is None for t in seeded.tokens())
    assert seeded.reconcile().waiting == ()


def test_a_rotation_refused_for_a_disabled_agent_is_shown(
    window: MainWindow, seeded: TokenService, clock: FakeClock, qtbot: QtBot
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot", rotation="daily")
    seeded.set_agent_disabled("Alpha Bot", True)
    window.sync.reload()
    clock.advance(timedelta(days=2))
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.runner.tick()
    why = "agent 'Alpha Bot' is disabled, so its tokens are not rotated"
    cell = window.model.index(0, Column.NEXT_ROTATION)
    assert why in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert cell.data(Qt.ItemDataRole.DecorationRole) is not None
    assert window.notification_banner.isVisible()
    assert why in window.notification_banner.text()
    assert window.model.token_at(0).generation == 0
    assert seeded.audit(issued.token.id)[0].action == "rotate-failed"
    # Recorded once: the next tick does not start a run for it again.
    with qtbot.assertNotEmitted(window.runner.started):
        window.runner.tick()
