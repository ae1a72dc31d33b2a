"""The secret, rotation, audit and try-a-request dialogs, on a real database and the
real keyring."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TypeVar

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain import tokens
from desktop.gui.audit_dialog import AuditDialog
from desktop.gui.rotation_dialog import RotationDialog
from desktop.gui.secret_dialog import SecretDialog
from desktop.gui.try_request_dialog import TryRequestDialog
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.services.views import IssuedSecret
from desktop.storage.models import Token
from tests.helpers.clock import FakeClock


@pytest.fixture
def service(context: Context) -> TokenService:
    service = context.service
    service.add_environment("Production")
    service.add_environment("Sandbox", api_enabled=False)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_role("Writer", ["* /Payments"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("Wes", "Writer", has_logged_in=True, signed_agreement=True)
    service.add_agent("Newbie", "Reader")
    return service


@pytest.fixture
def ada_token(service: TokenService) -> IssuedSecret:
    return service.create_token(
        "Production", "Ada", label="dashboard", rotation="monthly", grace="1h"
    )


T = TypeVar("T", bound=QObject)


def find(dialog: QDialog, kind: type[T], name: str) -> T:
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def click(qtbot: QtBot, dialog: QDialog, name: str) -> None:
    button = find(dialog, QPushButton, name)
    assert button.isEnabled(), name
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def shown(dialog: QDialog, name: str) -> bool:
    return not find(dialog, QLabel, name).isHidden()


# --------------------------------------------------------------------------- secret dialog


def test_secret_dialog_shows_the_secret_once_and_copies_it(qtbot: QtBot) -> None:
    secret = tokens.generate()
    copied: list[str] = []
    dialog = SecretDialog(secret, "Token Created", "Token #1 for Ada is ready.", copied.append)
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "SecretDialog"
    assert dialog.windowTitle() == "Token Created"
    field = find(dialog, QLineEdit, "secretField")
    assert field.text() == secret
    assert field.isReadOnly()
    assert "only time" in find(dialog, QLabel, "secretOnlyOnce").text()

    click(qtbot, dialog, "copySecretButton")
    assert copied == [secret]
    assert find(dialog, QPushButton, "copySecretButton").text() == "Copied"
    assert find(dialog, QLabel, "copyFeedback").text() == "Copied to the clipboard."


def test_copying_from_the_secret_field_goes_through_the_window(qtbot: QtBot) -> None:
    """Ctrl+C in the focused field must not copy the secret plainly: it goes through the same
    copy as the button, which marks it for clipboard managers and clears it later."""
    secret = tokens.generate()
    copied: list[str] = []
    QApplication.clipboard().setText("before")
    dialog = SecretDialog(secret, "Token Created", "ready", copied.append)
    qtbot.addWidget(dialog)
    dialog.show()
    field = find(dialog, QLineEdit, "secretField")
    dialog.activateWindow()
    qtbot.waitUntil(field.hasFocus)

    qtbot.keySequence(field, QKeySequence(QKeySequence.StandardKey.Copy))
    qtbot.keySequence(field, QKeySequence(QKeySequence.StandardKey.Cut))

    assert copied == [secret, secret]
    assert QApplication.clipboard().text() == "before"
    assert field.text() == secret
    assert field.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    assert [a.objectName() for a in field.actions()] == ["secretFieldCopy"]
    field.actions()[0].trigger()
    assert copied == [secret, secret, secret]


def test_the_secret_cannot_be_selected(qtbot: QtBot) -> None:
    """On X11 selecting text copies it to the primary selection, unmarked and never cleared."""
    secret = tokens.generate()
    dialog = SecretDialog(secret, "Token Created", "ready", lambda _text: None)
    qtbot.addWidget(dialog)
    dialog.show()
    field = find(dialog, QLineEdit, "secretField")
    dialog.activateWindow()
    qtbot.waitUntil(field.hasFocus)
    assert not field.hasSelectedText()

    QTest.keyClick(field, Qt.Key.Key_Home)
    QTest.keyClick(field, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    assert not field.hasSelectedText()
    qtbot.keySequence(field, QKeySequence(QKeySequence.StandardKey.SelectAll))
    assert not field.hasSelectedText()
    qtbot.mouseDClick(field, Qt.MouseButton.LeftButton)
    assert not field.hasSelectedText()
    field.selectAll()
    assert field.selectedText() == ""


def test_secret_dialog_never_puts_the_secret_in_its_repr_or_the_log(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tokens.generate()
    with caplog.at_level(logging.DEBUG):
        dialog = SecretDialog(secret, "Token Created", "ready", lambda _text: None)
        qtbot.addWidget(dialog)
        logging.getLogger("tokendesk.test").debug("dialog: %r", dialog)
    assert secret not in repr(dialog)
    assert secret not in str(dialog)
    assert secret not in caplog.text


def test_show_once_runs_the_dialog_and_clears_the_field(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tokens.generate()
    seen: list[str] = []

    def run(self: SecretDialog) -> int:
        seen.append(find(self, QLineEdit, "secretField").text())
        self.reject()
        return self.result()

    monkeypatch.setattr(SecretDialog, "exec", run)
    SecretDialog.show_once(secret, "Token Refreshed", "New secret", lambda _text: None)
    assert seen == [secret]


def test_secret_dialog_closes_with_escape(qtbot: QtBot) -> None:
    dialog = SecretDialog(tokens.generate(), "t", "m", lambda _text: None)
    qtbot.addWidget(dialog)
    dialog.show()
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


# --------------------------------------------------------------------------- rotation dialog


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


# --------------------------------------------------------------------------- audit dialog


@pytest.fixture
def history(service: TokenService, clock: FakeClock) -> list[int]:
    """Two tokens with a few events each, a minute apart."""
    ids = []
    for agent in ("Ada", "Wes"):
        clock.advance(timedelta(minutes=1))
        ids.append(service.create_token("Production", agent, label=f"{agent} key").token.id)
    clock.advance(timedelta(minutes=1))
    service.set_status(ids[0], False)
    clock.advance(timedelta(minutes=1))
    service.set_rotation(ids[1], "weekly")
    return ids


def column(dialog: AuditDialog, index: int) -> list[str]:
    model = find(dialog, QTableView, "auditTable").model()
    return [model.index(row, index).data() for row in range(model.rowCount())]


def test_audit_lists_newest_first(
    qtbot: QtBot, service: TokenService, history: list[int], qtmodeltester: ModelTester
) -> None:
    dialog = AuditDialog(service)
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "AuditDialog"
    qtmodeltester.check(dialog.model)
    actions = column(dialog, 2)
    assert actions[:4] == ["schedule", "deactivate", "create", "create"]
    assert column(dialog, 3)[:4] == [
        f"#{history[1]}",
        f"#{history[0]}",
        f"#{history[1]}",
        f"#{history[0]}",
    ]
    assert len(actions) == len(service.audit())
    when = column(dialog, 0)
    assert when == sorted(when, reverse=True)


def test_audit_filters_by_token_and_text(
    qtbot: QtBot, service: TokenService, history: list[int]
) -> None:
    dialog = AuditDialog(service)
    qtbot.addWidget(dialog)
    combo = find(dialog, QComboBox, "auditTokenFilter")
    assert combo.itemText(0) == "All tokens"
    assert combo.itemText(1) == f"#{history[0]} — Ada — Ada key"
    combo.setCurrentIndex(combo.findData(history[0]))
    assert column(dialog, 3) == [f"#{history[0]}"] * 2
    assert column(dialog, 2) == ["deactivate", "create"]

    combo.setCurrentIndex(0)
    text = find(dialog, QLineEdit, "auditTextFilter")
    text.setText("WEEKLY")
    assert column(dialog, 2) == ["schedule"]
    assert find(dialog, QLabel, "auditCount").text().startswith("1 of ")
    text.clear()
    assert len(column(dialog, 2)) == len(service.audit())


def test_audit_opens_on_one_token_and_reloads(
    qtbot: QtBot, service: TokenService, history: list[int]
) -> None:
    dialog = AuditDialog(service, token_id=history[1])
    qtbot.addWidget(dialog)
    assert column(dialog, 2) == ["schedule", "create"]
    service.set_label(history[1], "renamed")
    dialog.reload()
    assert column(dialog, 2) == ["label", "schedule", "create"]


def test_audit_keeps_a_deleted_token_filterable(
    qtbot: QtBot, service: TokenService, history: list[int]
) -> None:
    service.delete(history[0])
    dialog = AuditDialog(service, token_id=history[0])
    qtbot.addWidget(dialog)
    assert find(dialog, QComboBox, "auditTokenFilter").currentText() == f"#{history[0]} (deleted)"
    assert column(dialog, 2) == ["delete", "deactivate", "create"]


# --------------------------------------------------------------------------- try a request


def try_dialog(
    qtbot: QtBot,
    service: TokenService,
    environment: str | None = None,
    token_id: int | None = None,
) -> TryRequestDialog:
    dialog = TryRequestDialog(service, environment=environment, token_id=token_id)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def send(qtbot: QtBot, dialog: TryRequestDialog, method: str, path: str) -> str:
    find(dialog, QComboBox, "tryMethod").setCurrentText(method)
    find(dialog, QLineEdit, "tryEndpoint").setText(path)
    click(qtbot, dialog, "trySend")
    result: str = find(dialog, QLabel, "tryResult").text()
    return result


def test_try_with_a_stored_token(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    assert dialog.objectName() == "TryRequestDialog"
    assert dialog.environment() == "Production"
    combo = find(dialog, QComboBox, "tryTokenCombo")
    assert combo.currentData() == ada_token.token.id
    assert ada_token.secret not in combo.currentText()

    assert send(qtbot, dialog, "GET", "/Loans/42") == "200 OK — allowed"
    result = find(dialog, QLabel, "tryResult")
    assert result.property("outcome") == "allowed"
    assert send(qtbot, dialog, "POST", "/Loans") == (
        "403 Forbidden — role does not allow POST on /loans"
    )
    assert result.property("outcome") == "forbidden"

    service.set_status(ada_token.token.id, False)
    assert send(qtbot, dialog, "GET", "/Loans") == "401 Unauthorized — token is inactive"
    assert result.property("outcome") == "unauthorized"
    assert ada_token.secret not in result.text()
    assert find(dialog, QLineEdit, "tryTokenEdit").text() == ""  # never copied into view


def test_try_with_a_pasted_token(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = try_dialog(qtbot, service, environment="Production")
    pasted = find(dialog, QLineEdit, "tryTokenEdit")
    assert pasted.echoMode() == QLineEdit.EchoMode.Password
    QTest.keyClicks(pasted, ada_token.secret)  # typing picks "Pasted token"
    assert send(qtbot, dialog, "GET", "/odata.svc/Customers(7)") == "200 OK — allowed"

    find(dialog, QCheckBox, "tryShowToken").setChecked(True)
    assert pasted.echoMode() == QLineEdit.EchoMode.Normal

    pasted.setText("tdk_not-a-token")
    assert send(qtbot, dialog, "GET", "/Loans") == (
        "401 Unauthorized — token is malformed (bad format or checksum)"
    )
    pasted.setText(tokens.generate())
    assert send(qtbot, dialog, "GET", "/Loans") == "401 Unauthorized — unknown token"


def test_try_in_an_environment_without_api_access(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    service.set_api_enabled("Production", False)
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    assert send(qtbot, dialog, "GET", "/Loans") == (
        "401 Unauthorized — API access is disabled for this environment"
    )
    environments = find(dialog, QComboBox, "tryEnvironment")
    environments.setCurrentIndex(environments.findData("Sandbox"))
    assert find(dialog, QComboBox, "tryTokenCombo").count() == 0
    assert find(dialog, QLineEdit, "tryTokenEdit").isEnabled()


def test_try_explains_a_keyring_problem_inline(
    qtbot: QtBot,
    service: TokenService,
    ada_token: IssuedSecret,
    keyring_store: KeyringSecretStore,
) -> None:
    handle = service.unit_of_work.database.handle
    row = Token.select().where(Token.id == ada_token.token.id).get(handle)
    key = secret_key(row.uuid, row.generation)
    keyring_store.delete(key)
    keyring_store.put(key, tokens.generate())  # someone replaced the entry behind our back
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    text = send(qtbot, dialog, "GET", "/Loans")
    assert text.startswith(f"Could not read token #{ada_token.token.id} from the keyring: ")
    assert "different secret" in text
    assert find(dialog, QLabel, "tryResult").property("outcome") == "error"


def test_try_send_needs_a_path(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    find(dialog, QLineEdit, "tryEndpoint").setText("   ")
    assert not find(dialog, QPushButton, "trySend").isEnabled()
    find(dialog, QLineEdit, "tryEndpoint").setText("/Loans")
    assert find(dialog, QPushButton, "trySend").isEnabled()
    box = find(dialog, QDialogButtonBox, "buttonBox")
    assert box.button(QDialogButtonBox.StandardButton.Close) is not None


def test_try_opens_on_the_given_token_environment(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    service.add_environment("Staging")
    dialog = try_dialog(qtbot, service, environment="Staging", token_id=ada_token.token.id)
    assert dialog.environment() == "Production"
    assert find(dialog, QComboBox, "tryTokenCombo").currentData() == ada_token.token.id
