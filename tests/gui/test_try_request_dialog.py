"""Trying a request with a stored or pasted token, on a real database and the real keyring
(the fixtures ``service`` and ``ada_token`` come from tests/gui/conftest.py)."""

from __future__ import annotations

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDialogButtonBox, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from desktop.domain import tokens
from desktop.gui.try_request_dialog import TryRequestDialog
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.services.views import IssuedSecret
from desktop.storage.models import Token
from tests.helpers.widgets import click, find


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


def test_an_answer_goes_when_the_request_changes(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    """An earlier answer never stands beside a request it did not answer."""
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    result = find(dialog, QLabel, "tryResult")
    endpoint = find(dialog, QLineEdit, "tryEndpoint")
    assert send(qtbot, dialog, "GET", "/Loans/42") == "200 OK — allowed"
    endpoint.setFocus()
    QTest.keyClicks(endpoint, "/x")  # typed: "/Loans/42/x" was not asked
    assert result.text() == "The request changed: press Send to try it."
    assert result.property("outcome") == ""
    assert result.styleSheet() == ""  # no colour of an outcome
    assert send(qtbot, dialog, "POST", "/Loans").startswith("403 Forbidden")
    find(dialog, QComboBox, "tryMethod").setCurrentText("GET")
    assert result.property("outcome") == ""


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
    row = (
        Token.select()
        .where(Token.id == ada_token.token.id)
        .get(service.unit_of_work.database.handle)
    )
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
    service.add_environment("Staging", api_enabled=True)
    dialog = try_dialog(qtbot, service, environment="Staging", token_id=ada_token.token.id)
    assert dialog.environment() == "Production"
    assert find(dialog, QComboBox, "tryTokenCombo").currentData() == ada_token.token.id


def test_try_refuses_an_ambiguous_path(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    assert send(qtbot, dialog, "GET", "/Loans/%252e%252e/Admin").startswith(
        "403 Forbidden — ambiguous path '/Loans/%252e%252e/Admin'"
    )


def test_try_refuses_a_disabled_agents_token(
    qtbot: QtBot, service: TokenService, ada_token: IssuedSecret
) -> None:
    dialog = try_dialog(qtbot, service, token_id=ada_token.token.id)
    service.set_agent_disabled("Ada", True)
    assert send(qtbot, dialog, "GET", "/Loans") == "401 Unauthorized — agent 'Ada' is disabled"
