"""Desktop notifications, on a real session bus: a notification server of the test's own
(tests/helpers/notification_server.py) receives what the window sends and clicks on it; with
no server there, the tray's message takes over. Time travels with the fake clock."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.main_window import MainWindow
from desktop.gui.notices import Notices
from desktop.gui.notifications import OVERDUE_AFTER, Kind
from desktop.services.display import format_time
from desktop.services.runner import BACKOFF_MAX_SECONDS
from desktop.services.tokens import TokenService
from tests.gui.conftest import FaultyStore, action, open_window
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_three_agents as seed
from tests.helpers.notification_server import NotificationServer

NOTIFY_ACTIONS = (
    "actionNotifyRotationFailed",
    "actionNotifyOverdue",
    "actionNotifyExpiring",
    "actionNotifyDeliveryFailed",
)


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"


def settings_at(path: Path) -> QSettings:
    """The settings file as a new start of TokenDesk reads it."""
    return QSettings(str(path), QSettings.Format.IniFormat)


def run_pass(qtbot: QtBot, window: MainWindow) -> Any:
    """One pass of the scheduler over the due tokens; its report."""
    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        assert window.runner.run_now()
    return finished.args[0]


def selected(window: MainWindow) -> list[int]:
    return [token.id for token in window.selected_tokens()]


def test_a_failed_rotation_is_notified_once_and_a_click_opens_the_token(
    qtbot: QtBot,
    server: NotificationServer,
    faulty_context: tuple[Context, FaultyStore],
    clock: FakeClock,
) -> None:
    context, store = faulty_context
    service = seed(context.service)
    issued = service.create_token("Staging", "Beta Sync", label="nightly", rotation="daily")
    token_id = issued.token.id
    window = open_window(qtbot, context)
    assert window.environments.choice == "Production"  # the token is not shown
    clock.advance(timedelta(days=2))
    store.fail_put = True

    run_pass(qtbot, window)

    [notice] = server.received()
    assert notice["app_name"] == "TokenDesk"
    assert notice["actions"] == ["default", "Open"]
    assert notice["app_icon"]
    assert notice["summary"] == "Scheduled Rotation Failed"
    assert notice["body"].startswith(f"Token #{token_id} (Beta Sync, Staging) was not rotated: ")
    assert "keyring is locked" in notice["body"]
    assert issued.secret not in json.dumps(notice)
    assert window.notification_banner.isVisible()  # the window's own notice stays

    run_pass(qtbot, window)  # it fails again: no second notification
    assert len(server.received()) == 1

    with qtbot.waitSignal(window.notifier.opened, timeout=10_000) as opened:
        server.invoke(notice["id"])  # the person clicks it
    assert opened.args == [token_id]
    assert window.environments.choice == "Staging"
    assert selected(window) == [token_id]

    # Once it rotated, a later failure is a new one, and is told.
    store.fail_put = False
    assert run_pass(qtbot, window).rotated == (token_id,)
    clock.advance(timedelta(days=2))
    store.fail_put = True
    run_pass(qtbot, window)
    assert len(server.received()) == 2
    window.close()


def test_many_failures_in_one_pass_are_one_notification(
    qtbot: QtBot,
    server: NotificationServer,
    window: MainWindow,
    seeded: TokenService,
    clock: FakeClock,
) -> None:
    ids = [
        seeded.create_token("Production", "Gamma ETL", label=f"job {n}", rotation="daily").token.id
        for n in range(5)
    ]
    seeded.set_agent_disabled("Gamma ETL", True)  # none of its tokens may be rotated
    clock.advance(timedelta(days=2))

    assert len(run_pass(qtbot, window).failed) == 5

    [notice] = server.received()
    assert notice["summary"] == "5 Rotations Failed"
    assert notice["body"].startswith("Token #")
    assert "(Gamma ETL, Production)" in notice["body"]
    assert notice["body"].endswith(" and 2 more were not rotated. TokenDesk shows why.")
    window.select_tokens([ids[4]])
    with qtbot.waitSignal(window.notifier.opened, timeout=10_000) as opened:
        server.invoke(notice["id"])
    assert opened.args == [None]  # the window comes up; the selection is the person's
    assert selected(window) == [ids[4]]


def test_an_overdue_rotation_is_told_once_a_day_across_restarts(
    qtbot: QtBot,
    server: NotificationServer,
    context: Context,
    seeded: TokenService,
    clock: FakeClock,
    settings_path: Path,
) -> None:
    token = seeded.create_token("Production", "Alpha Bot", rotation="daily").token
    window = open_window(qtbot, context)
    window.use_settings(settings_at(settings_path))
    # Due a day after creation; not overdue until an hour later (the scheduler is not running).
    clock.advance(timedelta(days=1) + OVERDUE_AFTER - timedelta(minutes=1))
    window.notifier.check()
    assert server.received() == []

    clock.advance(timedelta(minutes=2))
    window.notifier.check()
    [notice] = server.received()
    assert notice["summary"] == "Rotation Overdue"
    assert notice["body"] == (
        f"Token #{token.id} (Alpha Bot, Production) was due for rotation at "
        f"{format_time(token.next_rotation_at)} and is not rotated yet."
    )
    window.notifier.check()
    assert len(server.received()) == 1
    window.close()

    # TokenDesk starts again the same day: still told already.
    clock.advance(OVERDUE_AFTER * 2)  # the new window has watched long enough too
    again = open_window(qtbot, context)
    again.use_settings(settings_at(settings_path))
    again.notifier.check()
    assert len(server.received()) == 1

    clock.advance(timedelta(days=1))  # a day after it was told
    again.notifier.check()
    assert len(server.received()) == 2
    with qtbot.waitSignal(again.notifier.opened, timeout=10_000):
        server.invoke(server.received()[-1]["id"])
    assert selected(again) == [token.id]
    again.close()


def test_several_overdue_rotations_are_one_notification(
    qtbot: QtBot,
    server: NotificationServer,
    window: MainWindow,
    seeded: TokenService,
    clock: FakeClock,
) -> None:
    for agent in ("Alpha Bot", "Beta Sync"):
        seeded.create_token("Production", agent, rotation="daily")
    clock.advance(timedelta(days=2))
    window.notifier.check()
    [notice] = server.received()
    assert notice["summary"] == "2 Rotations Overdue"
    assert notice["body"].endswith(" are due for rotation and not rotated yet.")
    assert "(Alpha Bot, Production) and Token #" in notice["body"]
    with qtbot.waitSignal(window.notifier.opened, timeout=10_000) as opened:
        server.invoke(notice["id"])
    assert opened.args == [None]


def test_rotations_missed_while_closed_are_not_overdue_at_start(
    qtbot: QtBot,
    server: NotificationServer,
    context: Context,
    seeded: TokenService,
    clock: FakeClock,
) -> None:
    seeded.create_token("Production", "Alpha Bot", rotation="daily")
    clock.advance(timedelta(days=5))  # TokenDesk was closed: the scheduler rotates it at start
    window = open_window(qtbot, context)
    window.notifier.check()
    assert server.received() == []
    window.close()


def test_each_kind_is_turned_off_in_the_settings_menu_and_stays_off(
    qtbot: QtBot,
    server: NotificationServer,
    context: Context,
    seeded: TokenService,
    clock: FakeClock,
    settings_path: Path,
) -> None:
    seeded.create_token("Production", "Alpha Bot", rotation="daily")
    window = open_window(qtbot, context)
    window.use_settings(settings_at(settings_path))
    settings_menu = window.findChild(QMenu, "menuSettings")
    submenu = window.findChild(QMenu, "menuNotifications")
    assert settings_menu is not None and submenu is not None
    assert action(window, "actionNotifications") in settings_menu.actions()
    assert [a.objectName() for a in submenu.actions()] == list(NOTIFY_ACTIONS)
    assert all(action(window, name).isCheckable() for name in NOTIFY_ACTIONS)
    assert all(action(window, name).isChecked() for name in NOTIFY_ACTIONS)

    action(window, "actionNotifyOverdue").trigger()  # off
    clock.advance(timedelta(days=2))
    window.notifier.check()
    assert server.received() == []
    window.close()

    again = open_window(qtbot, context)
    again.use_settings(settings_at(settings_path))
    assert not action(again, "actionNotifyOverdue").isChecked()
    assert action(again, "actionNotifyRotationFailed").isChecked()
    assert not again.notifier.is_enabled(Kind.OVERDUE)
    action(again, "actionNotifyOverdue").trigger()  # on again
    clock.advance(OVERDUE_AFTER * 2)
    again.notifier.check()
    assert [n["summary"] for n in server.received()] == ["Rotation Overdue"]
    again.close()


def test_failures_not_wanted_are_not_told_later_either(
    qtbot: QtBot,
    server: NotificationServer,
    faulty_context: tuple[Context, FaultyStore],
    clock: FakeClock,
) -> None:
    context, store = faulty_context
    seed(context.service).create_token("Production", "Alpha Bot", rotation="daily")
    window = open_window(qtbot, context)
    action(window, "actionNotifyRotationFailed").trigger()  # off
    clock.advance(timedelta(days=2))
    store.fail_put = True
    run_pass(qtbot, window)
    action(window, "actionNotifyRotationFailed").trigger()  # on: what went before stays told
    run_pass(qtbot, window)  # the same failure again
    assert server.received() == []
    window.close()


def test_tokens_about_to_expire_are_told_once_a_day(
    qtbot: QtBot,
    server: NotificationServer,
    window: MainWindow,
    seeded: TokenService,
    clock: FakeClock,
) -> None:
    now = clock.now()
    soon = seeded.create_token("Production", "Alpha Bot", expires=now + timedelta(days=3)).token
    later = seeded.create_token("Production", "Beta Sync", expires=now + timedelta(days=10)).token
    paused = seeded.create_token("Production", "Beta Sync", expires=now + timedelta(days=2)).token
    seeded.set_status(paused.id, False)  # answers 401 already: nothing to warn of
    seeded.create_token("Production", "Alpha Bot")  # never expires

    window.notifier.check()
    window.notifier.check()
    [notice] = server.received()
    assert notice["summary"] == "Token Expires Soon"
    assert notice["body"] == (
        f"Token #{soon.id} (Alpha Bot, Production) expires at "
        f"{format_time(soon.expires_at)} and then answers 401 to every request."
    )
    with qtbot.waitSignal(window.notifier.opened, timeout=10_000) as opened:
        server.invoke(notice["id"])
    assert opened.args == [soon.id] and selected(window) == [soon.id]

    clock.advance(timedelta(days=4))  # the first has expired; the second is 6 days away
    window.notifier.check()
    assert server.received()[-1]["body"].startswith(f"Token #{later.id} (Beta Sync, Production)")
    window.notifier.check()
    assert len(server.received()) == 2  # once a day
    clock.advance(timedelta(days=1))
    window.notifier.check()
    assert len(server.received()) == 3

    action(window, "actionNotifyExpiring").trigger()  # off
    clock.advance(timedelta(days=1))
    window.notifier.check()
    assert len(server.received()) == 3


def test_several_tokens_about_to_expire_are_one_notification(
    server: NotificationServer, window: MainWindow, seeded: TokenService, clock: FakeClock
) -> None:
    for agent in ("Alpha Bot", "Beta Sync"):
        seeded.create_token("Production", agent, expires=clock.now() + timedelta(days=1))
    window.notifier.announce_expiring(seeded.tokens("Production"))
    [notice] = server.received()
    assert notice["summary"] == "2 Tokens Expire Soon"
    assert notice["body"].endswith(" expire within 7 days.")


class RecordingTray(QSystemTrayIcon):
    """A tray icon that keeps its messages: the offscreen platform has no tray to show them."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title: str, msg: str, *_rest: Any) -> None:
        self.messages.append((title, msg))


def test_without_a_notification_server_the_tray_tells_and_its_click_opens_the_token(
    qtbot: QtBot,
    context: Context,
    seeded: TokenService,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tray = RecordingTray()
    monkeypatch.setattr(Notices, "tray", lambda _self: tray)
    token = seeded.create_token("Staging", "Gamma ETL", rotation="daily").token
    seeded.set_agent_disabled("Gamma ETL", True)
    window = open_window(qtbot, context)
    clock.advance(timedelta(days=2))

    run_pass(qtbot, window)  # nothing owns org.freedesktop.Notifications on the test bus

    [(title, text)] = tray.messages
    assert title == "Scheduled Rotation Failed"
    assert text.startswith(f"Token #{token.id} (Gamma ETL, Staging) was not rotated: ")
    with qtbot.waitSignal(window.notifier.opened, timeout=10_000) as opened:
        tray.messageClicked.emit()
    assert opened.args == [token.id]
    assert window.environments.choice == "Staging"
    assert selected(window) == [token.id]
    window.close()


def test_overdue_waits_longer_than_the_schedulers_longest_back_off() -> None:
    # A token the scheduler is still retrying on its own cadence is not called overdue.
    assert timedelta(seconds=BACKOFF_MAX_SECONDS + 60) < OVERDUE_AFTER


def test_a_failure_of_the_whole_run_is_told_once_until_a_run_succeeds(
    server: NotificationServer, window: MainWindow
) -> None:
    from desktop.services.runner import NO_TOKEN
    from desktop.services.views import RotationReport

    for _ in range(2):  # the database stays locked over two passes
        window.runner.failed.emit(NO_TOKEN, "database is locked")
    [notice] = server.received()
    assert notice["summary"] == "Scheduled Rotations Failed"
    assert notice["body"] == "Due tokens could not be rotated: database is locked"
    window.runner.finished.emit(RotationReport())  # a pass that went through
    window.runner.failed.emit(NO_TOKEN, "database is locked")
    assert len(server.received()) == 2
