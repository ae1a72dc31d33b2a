"""The rotation dialog: a token's schedule and grace, saved, switched off or cancelled, on a
real database and the real keyring (the fixtures ``service`` and ``ada_token`` come from
tests/gui/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtWidgets import QDialog, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from desktop.gui.rotation_dialog import RotationDialog
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret
from tests.helpers.clock import FakeClock
from tests.helpers.widgets import click, find, shown


def test_rotation_dialog_starts_from_the_token_schedule(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = RotationDialog(service, ada_token.token.id)
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "RotationDialog"
    assert dialog.picker.interval() == timedelta(days=30)
    assert dialog.picker.grace() == timedelta(hours=1)
    assert find(dialog, QLabel, "rotationTokenMasked").text() == ada_token.token.masked
    assert ada_token.secret not in find(dialog, QLabel, "rotationTokenMasked").text()
    assert find(dialog, QLabel, "rotationTokenAgent").text() == "Ada"
    assert find(dialog, QLabel, "rotationTokenLabel").text() == "dashboard"
    assert find(dialog, QLabel, "rotationCurrent").text().startswith("Every 30 days; next ")


def test_rotation_dialog_applies_set_rotation(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret, clock: FakeClock
) -> None:
    clock.advance(timedelta(days=3))
    dialog = RotationDialog(service, ada_token.token.id)
    qtbot.addWidget(dialog)
    dialog.picker.setInterval(timedelta(hours=12))
    dialog.picker.setGrace(timedelta(0))
    dialog.show()
    click(qtbot, dialog, "saveScheduleButton")

    assert dialog.result() == QDialog.DialogCode.Accepted
    token = service.token(ada_token.token.id)
    assert token.rotation_interval == timedelta(hours=12)
    assert token.grace == timedelta(0)
    assert token.next_rotation_at == clock.now() + timedelta(hours=12)
    assert service.audit(token_id=token.id, limit=1)[0].details == "rotate 12h, grace 0"


def test_rotation_dialog_can_switch_rotation_off(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(self: RotationDialog) -> int:
        self.picker.setInterval(None)
        self.accept()
        return self.result()

    monkeypatch.setattr(RotationDialog, "exec", answer)
    assert RotationDialog.ask(service, ada_token.token.id) is True
    token = service.token(ada_token.token.id)
    assert token.rotation_interval is None
    assert token.next_rotation_at is None
    assert token.grace == timedelta(hours=1)  # grace kept


def test_rotation_dialog_cancel_changes_nothing(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancel(self: RotationDialog) -> int:
        self.picker.setInterval(timedelta(days=1))
        self.reject()
        return self.result()

    monkeypatch.setattr(RotationDialog, "exec", cancel)
    before = service.token(ada_token.token.id)
    assert RotationDialog.ask(service, ada_token.token.id) is False
    assert service.token(ada_token.token.id) == before


def test_rotation_dialog_shows_errors_inline(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = RotationDialog(service, ada_token.token.id)
    qtbot.addWidget(dialog)
    dialog.show()
    service.delete(ada_token.token.id)  # meanwhile, elsewhere
    click(qtbot, dialog, "saveScheduleButton")
    assert dialog.isVisible()
    assert shown(dialog, "errorLabel")
    assert f"unknown token {ada_token.token.id}" in find(dialog, QLabel, "errorLabel").text()

    gone = RotationDialog(service, ada_token.token.id)
    qtbot.addWidget(gone)
    assert not find(gone, QPushButton, "saveScheduleButton").isEnabled()
    assert shown(gone, "errorLabel")
