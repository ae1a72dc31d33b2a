"""Delivered secrets in the window: the rotation dialog's delivery command, a Refresh that
delivers the new secret off the window's thread, the details pane's line, and a failed delivery
notified once through the suite's own notification server. The commands are real shell
processes; the keyring is the real Secret Service."""

from __future__ import annotations

import json
import shlex
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.main_window import MainWindow
from desktop.gui.rotation_dialog import RotationDialog
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret
from tests.gui.conftest import Answers, action
from tests.helpers.clock import FakeClock
from tests.helpers.notification_server import NotificationServer
from tests.helpers.widgets import click, find, shown

BOB = "bob@desk"


def run_pass(qtbot: QtBot, window: MainWindow) -> Any:
    """One pass of the scheduler (deliveries due alone start one); its report."""
    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        assert window.runner.run_now()
    return finished.args[0]


def open_dialog(qtbot: QtBot, service: TokenService, token_id: int) -> RotationDialog:
    dialog = RotationDialog(service, token_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_the_rotation_dialog_sets_the_delivery_command_by_keyboard(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret, tmp_path: Path
) -> None:
    dialog = open_dialog(qtbot, service, ada_token.token.id)
    edit = find(dialog, QLineEdit, "deliveryCommand")
    (caption,) = [label for label in dialog.findChildren(QLabel) if label.buddy() is edit]
    assert caption.text() == "&Delivery command:"
    assert edit.text() == "" and edit.isClearButtonEnabled()
    assert "standard input" in find(dialog, QLabel, "deliveryHelp").text()
    assert not shown(dialog, "deliverySetBy")

    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    handle = dialog.windowHandle()
    assert handle is not None
    QTest.keyClick(handle, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)  # as the platform would
    qtbot.waitUntil(edit.hasFocus)
    command = f"umask 077; cat > {shlex.quote(str(tmp_path / 'token'))}"
    qtbot.keyClicks(edit, command)
    qtbot.keyClick(edit, Qt.Key.Key_Return)

    assert dialog.result() == QDialog.DialogCode.Accepted
    token = service.token(ada_token.token.id)
    assert (token.delivery_command, token.delivery_set_by) == (command, service.person)
    assert token.rotation_interval == timedelta(days=30)  # the schedule as it was
    again = open_dialog(qtbot, service, ada_token.token.id)
    assert find(again, QLineEdit, "deliveryCommand").text() == command


def test_a_command_holding_a_secret_is_refused_inline_and_nothing_changes(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = open_dialog(qtbot, service, ada_token.token.id)
    dialog.picker.setInterval(timedelta(hours=12))
    edit = find(dialog, QLineEdit, "deliveryCommand")
    qtbot.keyClicks(edit, f"echo {ada_token.secret} > /tmp/token")
    click(qtbot, dialog, "saveScheduleButton")

    assert dialog.isVisible()
    error = find(dialog, QLabel, "errorLabel").text()
    assert error == (
        "The schedule was not changed: delivery command must not contain a token secret: it "
        "reads the new secret on standard input."
    )
    token = service.token(ada_token.token.id)
    assert token.delivery_command is None
    assert token.rotation_interval == timedelta(days=30)
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)  # editing takes the error away
    assert not shown(dialog, "errorLabel")


def test_a_command_someone_else_set_is_flagged_and_kept_theirs_until_edited(
    qtbot: QtBot, context: Context, service: TokenService, ada_token: IssuedSecret
) -> None:
    bob = TokenService(context.database, InMemorySecretStore(), actor=BOB, person=BOB)
    bob.set_delivery(ada_token.token.id, "cat > /tmp/ada-token")
    dialog = open_dialog(qtbot, service, ada_token.token.id)
    assert shown(dialog, "deliverySetBy")
    assert (
        find(dialog, QLabel, "deliverySetBy")
        .text()
        .startswith(f"Set by {BOB}, so it never runs with a secret of yours.")
    )
    dialog.picker.setInterval(timedelta(hours=12))
    click(qtbot, dialog, "saveScheduleButton")
    assert service.token(ada_token.token.id).delivery_set_by == BOB  # saved as it was: Bob's

    dialog = open_dialog(qtbot, service, ada_token.token.id)
    edit = find(dialog, QLineEdit, "deliveryCommand")
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_End)
    qtbot.keyClicks(edit, ".new")
    click(qtbot, dialog, "saveScheduleButton")
    token = service.token(ada_token.token.id)
    assert (token.delivery_command, token.delivery_set_by) == (
        "cat > /tmp/ada-token.new",
        service.person,
    )


def test_refresh_delivers_off_the_windows_thread_and_the_details_say_so(
    qtbot: QtBot, window: MainWindow, seeded: TokenService, answers: Answers, tmp_path: Path
) -> None:
    """The command waits for a file the test makes: Refresh returns to the window while it
    runs, and the delivery ends once the file is there."""
    go, target = tmp_path / "go", tmp_path / "token"
    command = (
        f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done; "
        f"umask 077; cat > {shlex.quote(str(target))}"
    )
    token_id = seeded.create_token("Production", "Alpha Bot", grace="1h").token.id
    seeded.set_delivery(token_id, command)
    window.sync.reload()
    window.select_tokens([token_id])

    action(window, "actionRefresh").trigger()
    assert window.runner.is_running()  # the window is free while the command runs
    assert not target.exists()
    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as finished:
        go.touch()
    (outcome,) = finished.args[0].deliveries
    assert outcome.ok and outcome.token_id == token_id
    ((_title, _message, secret),) = answers.secrets
    assert target.read_text() == secret

    window.details.refresh()
    qtbot.waitUntil(lambda: "last delivery" in window.details.toPlainText(), timeout=10_000)
    text = window.details.toPlainText()
    assert "Delivered by" in text
    assert f"{command} · last delivery " in text and text.split("last delivery ")[1].split("\n")[
        0
    ].endswith(" OK")
    assert secret not in text


def test_a_failed_delivery_is_notified_once_and_can_be_turned_off(
    qtbot: QtBot,
    server: NotificationServer,
    window: MainWindow,
    seeded: TokenService,
    clock: FakeClock,
) -> None:
    issued = seeded.create_token("Production", "Gamma ETL", grace="1h")
    token_id = issued.token.id
    seeded.set_delivery(token_id, 'read s; echo "vault said no to $s" >&2; exit 3')
    refreshed = seeded.refresh(token_id)

    (outcome,) = run_pass(qtbot, window).deliveries
    assert not outcome.ok
    [notice] = server.received()
    assert notice["summary"] == "Delivery Failed"
    assert notice["body"].startswith(
        f"Token #{token_id} (Gamma ETL, Production): its new secret was not delivered: exit "
        "status 3 (vault said no to •••); next try at "
    )
    assert refreshed.secret not in json.dumps(notice)
    assert issued.secret not in json.dumps(notice)

    clock.advance(timedelta(minutes=1))
    (retried,) = run_pass(qtbot, window).deliveries  # tried again, failed again: audited only
    assert retried.attempts == 2
    assert len(server.received()) == 1

    action(window, "actionNotifyDeliveryFailed").trigger()  # off
    assert not action(window, "actionNotifyDeliveryFailed").isChecked()
    seeded.refresh(token_id)  # a new secret whose delivery fails: not told, as asked
    run_pass(qtbot, window)
    assert len(server.received()) == 1


def test_a_delivery_command_saved_alone_leaves_the_schedule_running(
    qtbot: QtBot,
    service: TokenService,
    ada_token: IssuedSecret,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    """Setting where the secret goes is no reason to push the next rotation a month on, nor to
    write a schedule event nobody asked for."""
    token_id = ada_token.token.id
    before = service.token(token_id).next_rotation_at
    events = len(service.audit(token_id))
    clock.advance(timedelta(days=3))
    dialog = open_dialog(qtbot, service, token_id)
    qtbot.keyClicks(
        find(dialog, QLineEdit, "deliveryCommand"), f"cat > {shlex.quote(str(tmp_path / 't'))}"
    )
    click(qtbot, dialog, "saveScheduleButton")

    assert dialog.result() == QDialog.DialogCode.Accepted
    token = service.token(token_id)
    assert token.delivery_command is not None
    assert token.next_rotation_at == before
    assert [event.action for event in service.audit(token_id)[: -events or None]] == ["deliver-set"]

    again = open_dialog(qtbot, service, token_id)  # a schedule saved still starts afresh
    again.picker.setInterval(timedelta(days=7))
    click(qtbot, again, "saveScheduleButton")
    assert service.token(token_id).next_rotation_at == clock.now() + timedelta(days=7)


def test_a_failed_delivery_is_told_in_the_window_once(
    qtbot: QtBot, window: MainWindow, seeded: TokenService, clock: FakeClock
) -> None:
    """As a failed rotation is: a session with no notification server or tray would otherwise
    show nothing of it but an audit line."""
    issued = seeded.create_token("Production", "Gamma ETL", grace="1h")
    token_id = issued.token.id
    seeded.set_delivery(token_id, 'read s; echo "vault said no to $s" >&2; exit 3')
    refreshed = seeded.refresh(token_id)

    run_pass(qtbot, window)
    assert window.notification_banner.isVisible()
    (notice,) = window.notices.notices()
    assert notice.startswith(
        f"The new secret of token #{token_id} (agent Gamma ETL, no label) in Production was not "
        "delivered: exit status 3 (vault said no to •••); next try at "
    )
    assert refreshed.secret not in window.notification_banner.text()
    assert issued.secret not in window.notification_banner.text()

    clock.advance(timedelta(minutes=1))
    (retried,) = run_pass(qtbot, window).deliveries  # failed again: audited, not told again
    assert retried.attempts == 2
    assert len(window.notices.notices()) == 1
