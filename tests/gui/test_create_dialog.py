"""CreateTokenDialog on a real database and the real keyring."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import pytest
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
)
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain import tokens
from desktop.gui.create_dialog import CreateTokenDialog, hidden_agents_text
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.services.views import AgentView
from desktop.storage.models import Token


@pytest.fixture
def service(context: Context) -> TokenService:
    """Two environments (one without API access), one role, two eligible agents (Bob already
    holds a token) and two who may not get one."""
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Sandbox", api_enabled=False)
    service.add_environment("Staging", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("Bob", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("Newbie", "Reader")
    service.add_agent("Pending", "Reader", has_logged_in=True)
    service.create_token("Production", "Bob", label="first")
    return service


def make(
    qtbot: QtBot, service: TokenService, environment: str | None = "Production"
) -> CreateTokenDialog:
    dialog = CreateTokenDialog(service, environment=environment)
    qtbot.addWidget(dialog)
    return dialog


T = TypeVar("T", bound=QObject)


def find(dialog: QDialog, kind: type[T], name: str) -> T:
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def ok_button(dialog: QDialog) -> QPushButton:
    box = find(dialog, QDialogButtonBox, "buttonBox")
    button = box.button(QDialogButtonBox.StandardButton.Ok)
    assert isinstance(button, QPushButton)
    return button


def shown(dialog: QDialog, name: str) -> bool:
    return not find(dialog, QLabel, name).isHidden()


def choose_agent(dialog: QDialog, name: str) -> None:
    combo = find(dialog, QComboBox, "agentCombo")
    index = combo.findData(name)
    assert index >= 0, name
    combo.setCurrentIndex(index)


def test_only_eligible_agents_are_offered(qtbot: QtBot, service: TokenService) -> None:
    dialog = make(qtbot, service)
    combo = find(dialog, QComboBox, "agentCombo")
    assert [combo.itemData(i) for i in range(combo.count())] == ["Ada", "Bob"]
    hidden = find(dialog, QLabel, "hiddenAgentsLabel")
    assert hidden.text() == (
        "2 agents are hidden: 1 has never logged in, 1 has not signed the usage agreement"
    )
    assert shown(dialog, "hiddenAgentsLabel")
    assert "Newbie has never logged in" in hidden.toolTip()


def test_hidden_agents_text_counts_each_reason() -> None:
    def agent(name: str, logged_in: bool, signed: bool) -> AgentView:
        return AgentView(0, name, "Reader", logged_in, signed, 0)

    assert hidden_agents_text([agent("a", True, True)]) == ""
    one = hidden_agents_text([agent("a", False, True)])
    assert one == "1 agent is hidden: 1 has never logged in"
    three = hidden_agents_text(
        [agent("a", True, False), agent("b", True, False), agent("c", False, False)]
    )
    assert three == (
        "3 agents are hidden: 1 has never logged in, 2 have not signed the usage agreement"
    )
    gone = AgentView(0, "d", "Reader", True, True, 2, disabled=True)
    assert hidden_agents_text([gone, agent("a", False, True)]) == (
        "2 agents are hidden: 1 is disabled, 1 has never logged in"
    )


def test_environments_without_api_access_cannot_be_chosen(
    qtbot: QtBot, service: TokenService
) -> None:
    dialog = make(qtbot, service, environment="Sandbox")
    combo = find(dialog, QComboBox, "environmentCombo")
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    sandbox = combo.findData("Sandbox")
    assert combo.itemText(sandbox) == "Sandbox (API access disabled)"
    assert not model.item(sandbox).isEnabled()
    # The disabled preselection is not taken, and no other environment is taken instead.
    assert dialog.environment() is None
    assert combo.currentIndex() == -1
    assert not ok_button(dialog).isEnabled()

    preselected = make(qtbot, service, environment="Staging")
    assert preselected.environment() == "Staging"


def test_ok_is_disabled_without_an_eligible_agent(qtbot: QtBot, context: Context) -> None:
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Newbie", "Reader")
    dialog = make(qtbot, service)
    assert find(dialog, QComboBox, "agentCombo").count() == 0
    assert not ok_button(dialog).isEnabled()
    hidden = find(dialog, QLabel, "hiddenAgentsLabel").text()
    assert hidden.startswith("No agent can be given a token yet. 1 agent is hidden")


def test_ok_is_disabled_without_an_environment_with_api_access(
    qtbot: QtBot, service: TokenService
) -> None:
    service.set_api_enabled("Production", False)
    service.set_api_enabled("Staging", False)
    dialog = make(qtbot, service)
    assert dialog.environment() is None
    assert not ok_button(dialog).isEnabled()
    assert shown(dialog, "noEnvironmentLabel")


def test_ok_button_says_what_it_does_and_is_enabled_when_valid(
    qtbot: QtBot, service: TokenService
) -> None:
    dialog = make(qtbot, service)
    assert ok_button(dialog).text() == "Create token"
    assert ok_button(dialog).isEnabled()  # an empty label is allowed
    assert not shown(dialog, "labelError")
    assert not shown(dialog, "errorLabel")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x" * 201, "Label is too long: 201 characters, at most 200"),
        ("line\nbreak", "Label must not contain control characters"),
        ("tab\there", "Label must not contain control characters"),
        ("zero\u200bwidth", "Label must not contain control characters"),
    ],
)
def test_a_bad_label_disables_ok_and_says_why(
    qtbot: QtBot, service: TokenService, text: str, problem: str
) -> None:
    dialog = make(qtbot, service)
    label = find(dialog, QLineEdit, "labelEdit")
    label.setText(text)
    assert not ok_button(dialog).isEnabled()
    assert shown(dialog, "labelError")
    assert find(dialog, QLabel, "labelError").text() == problem

    before = len(service.tokens())
    dialog.accept()  # even if something forced it, nothing is created
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert len(service.tokens()) == before

    label.setText("x" * 200)
    assert ok_button(dialog).isEnabled()
    assert not shown(dialog, "labelError")


def test_the_multiple_tokens_warning_shows_only_for_an_agent_with_a_token(
    qtbot: QtBot, service: TokenService
) -> None:
    dialog = make(qtbot, service)
    choose_agent(dialog, "Ada")
    assert not shown(dialog, "multipleTokensWarning")
    choose_agent(dialog, "Bob")
    assert shown(dialog, "multipleTokensWarning")
    text = find(dialog, QLabel, "multipleTokensWarning").text()
    assert "Bob already has a token" in text
    assert ok_button(dialog).isEnabled()  # discouraged, not forbidden
    choose_agent(dialog, "Ada")
    assert not shown(dialog, "multipleTokensWarning")


def test_accept_creates_a_real_token(
    qtbot: QtBot, service: TokenService, keyring_store: KeyringSecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    before = len(service.tokens())
    dialog = make(qtbot, service, environment="Staging")
    choose_agent(dialog, "Ada")
    find(dialog, QLineEdit, "labelEdit").setText("  Nightly import  ")
    dialog.picker.setInterval(timedelta(weeks=1))
    dialog.picker.setGrace(timedelta(hours=1))
    dialog.show()
    QTest.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)

    assert dialog.result() == QDialog.DialogCode.Accepted
    issued = dialog.issued
    assert issued is not None
    token = issued.token
    assert (token.environment, token.agent, token.label) == ("Staging", "Ada", "Nightly import")
    assert token.rotation_interval == timedelta(weeks=1)
    assert token.grace == timedelta(hours=1)
    assert len(service.tokens()) == before + 1

    row = Token.select().where(Token.id == token.id).get(handle)
    assert row.fingerprint == tokens.fingerprint(issued.secret)
    assert keyring_store.get(secret_key(row.uuid, 0)) == issued.secret
    assert service.reveal(token.id) == issued.secret
    assert issued.secret not in repr(issued)


def test_a_service_error_is_shown_inline_and_changes_nothing(
    qtbot: QtBot, service: TokenService
) -> None:
    dialog = make(qtbot, service)
    choose_agent(dialog, "Ada")
    dialog.show()
    service.set_api_enabled("Production", False)  # meanwhile, elsewhere
    before_tokens = service.tokens()
    before_audit = service.audit()

    QTest.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)

    assert dialog.isVisible()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.issued is None
    assert shown(dialog, "errorLabel")
    error = find(dialog, QLabel, "errorLabel").text()
    assert error.startswith("The token was not created: ")
    assert "API access disabled" in error
    assert service.tokens() == before_tokens
    assert service.audit() == before_audit

    find(dialog, QLineEdit, "labelEdit").setText("retry")  # editing clears the old error
    assert not shown(dialog, "errorLabel")


def test_enter_accepts_when_valid_and_escape_cancels(qtbot: QtBot, service: TokenService) -> None:
    before = len(service.tokens())
    dialog = make(qtbot, service)
    choose_agent(dialog, "Ada")
    dialog.show()
    label = find(dialog, QLineEdit, "labelEdit")
    label.setFocus()
    label.setText("x" * 201)
    QTest.keyClick(label, Qt.Key.Key_Return)
    assert dialog.isVisible()  # invalid: Enter does nothing
    label.setText("by keyboard")
    QTest.keyClick(label, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert len(service.tokens()) == before + 1

    other = make(qtbot, service)
    other.show()
    QTest.keyClick(other, Qt.Key.Key_Escape)
    assert other.result() == QDialog.DialogCode.Rejected
    assert other.issued is None
    assert len(service.tokens()) == before + 1


def test_ask_returns_the_issued_secret(
    qtbot: QtBot, service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def answer(self: CreateTokenDialog) -> int:
        choose_agent(self, "Ada")
        find(self, QLineEdit, "labelEdit").setText("asked")
        self.accept()
        return self.result()

    monkeypatch.setattr(CreateTokenDialog, "exec", answer)
    issued = CreateTokenDialog.ask(service, environment="Staging")
    assert issued is not None
    assert (issued.token.environment, issued.token.label) == ("Staging", "asked")


def test_ask_returns_none_when_cancelled(
    qtbot: QtBot, service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancel(self: CreateTokenDialog) -> int:
        self.reject()
        return self.result()

    before = len(service.tokens())
    monkeypatch.setattr(CreateTokenDialog, "exec", cancel)
    assert CreateTokenDialog.ask(service) is None
    assert len(service.tokens()) == before


def test_ask_runs_a_real_modal_dialog(qtbot: QtBot, service: TokenService) -> None:
    seen: list[str] = []

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        try:
            assert isinstance(dialog, CreateTokenDialog)
            seen.append(dialog.objectName())
            choose_agent(dialog, "Ada")
            find(dialog, QLineEdit, "labelEdit").setText("modal")
            QTest.mouseClick(ok_button(dialog), Qt.MouseButton.LeftButton)
        finally:
            if isinstance(dialog, QDialog) and dialog.isVisible():
                dialog.reject()  # never leave the test waiting on a modal loop

    QTimer.singleShot(0, answer)
    issued = CreateTokenDialog.ask(service, environment="Production")
    assert seen == ["CreateTokenDialog"]
    assert issued is not None
    assert issued.token.label == "modal"


def test_tab_order_follows_the_form(qtbot: QtBot, service: TokenService) -> None:
    dialog = make(qtbot, service)
    start = find(dialog, QComboBox, "environmentCombo")
    order: list[str] = []
    widget = start.nextInFocusChain()
    while widget is not start and len(order) < 50:
        assert widget is not None  # the focus chain is a ring
        name = widget.objectName()
        tab_stop = widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisibleTo(dialog)
        # Tab passes hidden widgets by, and Qt's own parts inside a widget (a date edit's line
        # edit) start with "qt_".
        if tab_stop and name and not name.startswith("qt_"):
            order.append(name)
        widget = widget.nextInFocusChain()
    assert order[:6] == [
        "agentCombo",
        "labelEdit",
        "expiresCheck",
        "expiresEdit",
        "rotationMode",
        "rotationCount",
    ]
    assert order.index("graceCombo") < order.index("createButton")


def test_without_an_environment_none_is_preselected(qtbot: QtBot, service: TokenService) -> None:
    dialog = make(qtbot, service, environment=None)  # opened from All environments
    combo = find(dialog, QComboBox, "environmentCombo")
    choose_agent(dialog, "Ada")
    assert combo.currentIndex() == -1
    assert combo.placeholderText() == "Choose an environment"
    assert dialog.environment() is None
    assert not ok_button(dialog).isEnabled()
    assert ok_button(dialog).toolTip() == "Choose an environment first"
    dialog.accept()  # refused: nothing is created
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert len(service.tokens()) == 1

    combo.setCurrentIndex(combo.findData("Staging"))
    assert dialog.environment() == "Staging"
    assert ok_button(dialog).isEnabled()
    assert ok_button(dialog).toolTip() == ""
