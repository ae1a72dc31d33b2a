"""A whole session in the window against the real keyring: create, copy, use, deactivate,
refresh, delete. Every question is answered in the real dialog or message box."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from desktop import app
from desktop.app import Context
from desktop.gui.main_window import MainWindow
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.models import Token
from tests.gui.conftest import Modals, click_button


def fill_create_dialog(dialog: QWidget) -> None:
    agent = dialog.findChild(QComboBox, "agentCombo")
    label = dialog.findChild(QLineEdit, "labelEdit")
    assert agent is not None and label is not None
    agent.setCurrentIndex(agent.findData("Beta Sync"))
    label.setText("Flow test")
    click_button(dialog, "createButton")


def copy_and_close(dialog: QWidget) -> None:
    click_button(dialog, "copySecretButton")
    click_button(dialog, "closeButton")


def test_token_lifecycle_through_the_window(
    window: MainWindow,
    seeded: TokenService,
    context: Context,
    keyring_store: KeyringSecretStore,
    modals: Modals,
    qtbot: QtBot,
) -> None:
    handle = context.database.handle
    service = seeded
    clipboard = QApplication.clipboard()

    # Create it in the dialog; the new secret is shown and copied from there.
    created = modals.when("CreateTokenDialog", fill_create_dialog)
    shown = modals.when("SecretDialog", copy_and_close)
    window.window_actions.create.trigger()
    assert created and shown
    tokens = service.tokens("Production")
    assert len(tokens) == 1
    token = tokens[0]
    assert (token.agent, token.label) == ("Beta Sync", "Flow test")
    assert window.model.rowCount() == 1
    assert [t.id for t in window.selected_tokens()] == [token.id]
    first_secret = clipboard.text()
    assert first_secret.startswith("tdk_")
    assert window.model.index(0, 0).data() == token.masked

    # Copy it from the table as well: the same secret, from the keyring.
    clipboard.clear()
    window.window_actions.copy.trigger()
    assert clipboard.text() == first_secret
    assert service.verify("Production", first_secret, "GET", "/Loans").status == 200

    # Deactivate: every request gets 401.
    window.window_actions.deactivate.trigger()
    assert window.model.index(0, 4).data() == "Inactive"
    assert service.verify("Production", first_secret, "GET", "/Loans").status == 401
    window.window_actions.activate.trigger()
    assert window.model.index(0, 4).data() == "Active"
    assert service.verify("Production", first_secret, "GET", "/Loans").status == 200

    # Refresh: confirm in the real dialog (its grace preset: none), copy the new secret.
    confirmed = modals.when("refreshDialog", lambda box: click_button(box, "confirmButton"))
    shown_again = modals.when("SecretDialog", copy_and_close)
    window.window_actions.refresh.trigger()
    assert confirmed and shown_again
    second_secret = clipboard.text()
    assert second_secret not in ("", first_secret)
    assert service.verify("Production", second_secret, "GET", "/Loans").status == 200
    assert service.verify("Production", first_secret, "GET", "/Loans").status == 401
    assert window.model.token_at(0).generation == 1
    token_uuid = Token.select().where(Token.id == token.id).get(handle).uuid
    assert keyring_store.get(secret_key(token_uuid, 1)) == second_secret
    assert keyring_store.get(secret_key(token_uuid, 0)) is None

    # Delete: confirm; gone from the table, the database and the keyring.
    deleted = modals.when("messageBox", lambda box: click_button(box, "confirmButton"))
    window.window_actions.delete.trigger()
    assert deleted
    assert window.model.rowCount() == 0
    assert service.tokens() == []
    assert keyring_store.get(secret_key(token_uuid, 1)) is None
    assert service.verify("Production", second_secret, "GET", "/Loans").status == 401
    assert [e.action for e in service.audit(token.id)][:3] == ["delete", "refresh", "activate"]

    # Closing takes our secret off the clipboard.
    window.close()
    assert clipboard.text() == ""


def test_demo_window_opens_seeded_and_cleans_up_after_itself(
    qtbot: QtBot,
    keyring_store: KeyringSecretStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen: dict[str, object] = {}
    poll = QTimer()
    poll.setInterval(20)

    def close_when_shown() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.isVisible():
                poll.stop()
                seen["title"] = widget.windowTitle()
                seen["rows"] = widget.model.rowCount()
                seen["environment"] = widget.environment_selector.currentText()
                handle = widget.service.unit_of_work.database.handle
                seen["keys"] = [
                    secret_key(row.uuid, row.generation) for row in Token.select().bind(handle)
                ]
                widget.close()

    poll.timeout.connect(close_when_shown)
    poll.start()
    try:
        code = app.run_window(tmp_path / "unused", demo=True)
    finally:
        poll.stop()

    assert code == 0
    assert "demo" in str(seen["title"])
    assert seen["environment"] == "Production"
    assert seen["rows"] == 4
    keys = seen["keys"]
    assert isinstance(keys, list) and len(keys) == 7
    assert all(keyring_store.get(key) is None for key in keys)  # the demo's secrets are gone
    assert list(tmp_path.glob("tokendesk-demo-*")) == []
    assert not (tmp_path / "unused").exists()
