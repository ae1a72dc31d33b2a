"""The token commands: what they ask, what they change and what they say."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtTest import QSignalSpy, QTest
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from desktop.domain.table import Column
from desktop.gui import messages
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import (
    Answers,
    Modals,
    action,
    click_button,
    make_tokens,
    model,
    shown_ids,
    table,
)
from tests.helpers.clock import FakeClock
from tests.helpers.widgets import find

# The real question, kept before the answers fixture stands in for it.
REAL_CONFIRM_REFRESH = messages.confirm_refresh


def test_deactivate_and_activate_several_at_once(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 3)
    window.sync.reload()
    window.select_tokens(ids)
    action(window, "actionDeactivate").trigger()
    assert [seeded.token(i).status for i in ids] == ["Inactive"] * 3
    assert [model(window).token_at(r).status for r in range(3)] == ["Inactive"] * 3
    assert sorted(t.id for t in window.selected_tokens()) == ids
    action(window, "actionActivate").trigger()
    assert [seeded.token(i).status for i in ids] == ["Active"] * 3


def test_delete_asks_once_for_several_and_says_what_stops(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 3)
    masked = seeded.token(ids[0]).masked
    window.sync.reload()
    window.select_tokens(ids[:2])
    action(window, "actionDelete").trigger()
    assert len(answers.confirmations) == 1
    _title, text, informative = answers.confirmations[0]
    assert text == "Delete 2 tokens?"
    assert "401 immediately" in informative
    assert f"#{ids[0]} (agent Alpha Bot" in informative
    assert masked not in informative  # named by number, which a refresh does not change
    assert shown_ids(window) == [ids[2]]
    assert [t.id for t in seeded.tokens("Production")] == [ids[2]]


def test_after_a_delete_the_next_token_is_selected(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 4)
    window.sync.reload()
    window.select_tokens([ids[1], ids[2]])
    action(window, "actionDelete").trigger()
    assert shown_ids(window) == [ids[0], ids[3]]
    assert [t.id for t in window.selected_tokens()] == [ids[3]]
    action(window, "actionDelete").trigger()  # the last row: the one before it is next
    assert [t.id for t in window.selected_tokens()] == [ids[0]]
    assert table(window).currentIndex().row() == 0


def test_delete_declined_changes_nothing(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    answers.confirm = False
    action(window, "actionDelete").trigger()
    token = seeded.token(ids[0])
    _title, text, informative = answers.confirmations[0]
    assert text == f"Delete token #{token.id} (agent Alpha Bot, label “job 00”)?"
    assert informative.startswith("Requests using this token will get 401 immediately.")
    assert f"#{token.id}" not in informative  # named once, in the question
    assert shown_ids(window) == ids


def test_delete_confirmed_in_a_real_message_box(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens([ids[0]])
    texts: list[str] = []

    def answer(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        texts.append(box.text() + "\n" + box.informativeText())
        click_button(box, "confirmButton")

    seen = modals.when("messageBox", answer)
    action(window, "actionDelete").trigger()
    assert seen, "no confirmation was asked"
    assert "will get 401 immediately" in texts[0]
    assert shown_ids(window) == [ids[1]]


def test_cancel_in_a_real_message_box_keeps_the_token(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    seen = modals.when("refreshDialog", lambda box: click_button(box, "cancelButton"))
    action(window, "actionRefresh").trigger()
    assert seen
    assert seeded.token(ids[0]).generation == 0


def test_refresh_confirms_with_the_grace_and_shows_the_new_secret(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    old = seeded.create_token("Production", "Alpha Bot", label="graceful", grace="1h")
    token_id = old.token.id
    window.sync.reload()
    window.select_tokens([token_id])
    action(window, "actionRefresh").trigger()
    title, text, informative = answers.confirmations[0]
    assert title == "Refresh Secret"
    assert text == f"Issue a new secret for token #{token_id} (agent Alpha Bot, label “graceful”)?"
    assert informative == (
        "The old secret keeps working for 1 hour (the token's grace period), then requests "
        "using it get 401."
    )
    assert len(answers.secrets) == 1
    title, message, secret = answers.secrets[0]
    assert title == f"New Secret — Token #{token_id}"
    assert message.startswith(f"Token #{token_id} (agent Alpha Bot")
    assert secret != old.secret
    assert seeded.verify("Production", secret, "GET", "/Loans").status == 200
    assert seeded.verify("Production", old.secret, "GET", "/Loans").status == 200  # grace
    assert model(window).token_at(0).generation == 1
    assert secret not in message


def test_refresh_offers_every_grace_preset_from_the_token_and_uses_the_one_chosen(
    window: MainWindow,
    seeded: TokenService,
    modals: Modals,
    answers: Answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real dialog: the token's own grace preset, "None" offered; choosing None ends the
    old secret at once for this refresh and leaves the token's configured grace alone."""
    monkeypatch.setattr(messages, "confirm_refresh", REAL_CONFIRM_REFRESH)
    old = seeded.create_token("Production", "Alpha Bot", grace="1d")
    window.sync.reload()
    window.select_tokens([old.token.id])
    seen: dict[str, object] = {}

    def choose_none(widget: QWidget) -> None:
        combo = find(widget, QComboBox, "refreshGrace")
        seen["offered"] = [combo.itemText(n) for n in range(combo.count())]
        seen["preset"] = combo.currentText()
        informative = find(widget, QLabel, "refreshInformative")
        seen["before"] = informative.text()
        combo.setFocus()
        QTest.keyClick(combo, Qt.Key.Key_Home)  # the first choice, by keyboard
        seen["after"] = informative.text()
        cancel = widget.findChild(QPushButton, "cancelButton")
        seen["default"] = cancel is not None and cancel.isDefault()
        click_button(widget, "confirmButton")

    handled = modals.when("refreshDialog", choose_none)
    action(window, "actionRefresh").trigger()
    assert handled
    assert seen["offered"] == ["None (old secret stops at once)", "1 hour", "1 day", "7 days"]
    assert seen["preset"] == "1 day"
    assert "keeps working for 1 day (the token's grace period)" in str(seen["before"])
    assert seen["after"] == "The old secret stops working now: requests using it get 401."
    assert seen["default"] is True  # Enter answers Cancel
    assert seeded.verify("Production", old.secret, "GET", "/Loans").status == 401
    assert seeded.token(old.token.id).grace == timedelta(days=1)
    assert seeded.token(old.token.id).grace_until is None


def test_refresh_of_tokens_with_different_graces_keeps_each_one_unless_told(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    short = seeded.create_token("Production", "Alpha Bot", grace="1h").token.id
    odd = seeded.create_token("Production", "Beta Sync", grace="5h").token.id
    window.sync.reload()
    window.select_tokens([short, odd])
    action(window, "actionRefresh").trigger()
    assert [choice.text for choice in answers.grace_choices] == [
        "Each token's own grace period",
        "None (old secret stops at once)",
        "1 hour",
        "1 day",
        "7 days",
    ]
    informative = answers.confirmations[0][2]
    assert "1 hour (the token's grace period)" in informative
    assert "5 hours (the token's grace period)" in informative
    clock = seeded.clock
    assert isinstance(clock, FakeClock)
    ends = {token_id: seeded.token(token_id).grace_until for token_id in (short, odd)}
    assert ends == {short: clock.now() + timedelta(hours=1), odd: clock.now() + timedelta(hours=5)}


def test_a_running_grace_shows_on_the_token_until_it_ends(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    """An icon and its deadline on the API Token cell while the replaced secret works; the
    cell repaints without it when the grace ends, though nothing in the database changes."""
    clock = seeded.clock
    assert isinstance(clock, FakeClock)
    token_id = seeded.create_token("Production", "Alpha Bot", grace="2h").token.id
    window.sync.reload()
    cell = model(window).index(0, Column.TOKEN)
    assert cell.data(Qt.ItemDataRole.DecorationRole) is None
    assert not model(window).grace_timer.isActive()
    window.select_tokens([token_id])
    action(window, "actionRefresh").trigger()

    ends = clock.now() + timedelta(hours=2)
    icon = cell.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    until = ends.astimezone().strftime("%H:%M")
    assert f"Previous secret valid until {until}" in cell.data(Qt.ItemDataRole.ToolTipRole)
    timer = model(window).grace_timer
    assert timer.isActive() and timer.interval() <= 60_000

    clock.advance(timedelta(hours=1))
    timer.timeout.emit()  # a check while it still runs: nothing changes
    assert cell.data(Qt.ItemDataRole.DecorationRole) is not None
    clock.advance(timedelta(hours=1))
    spy = QSignalSpy(model(window).dataChanged)
    timer.timeout.emit()
    assert spy.count() == 1
    assert cell.data(Qt.ItemDataRole.DecorationRole) is None
    assert "valid until" not in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert not timer.isActive()


def test_edit_label_checks_as_you_type_and_saves(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    seen: dict[str, object] = {}

    def edit(widget: QWidget) -> None:
        seen["title"] = widget.windowTitle()
        edit = find(widget, QLineEdit, "labelEdit")
        save = find(widget, QPushButton, "saveButton")
        problem = find(widget, QLabel, "labelError")
        edit.selectAll()
        QTest.keyClicks(edit, "x" * 201)
        seen["too long"] = (problem.isHidden(), problem.text(), save.isEnabled())
        QTest.keyClick(edit, Qt.Key.Key_Backspace)
        seen["fixed"] = (problem.isHidden(), save.isEnabled())
        edit.selectAll()
        QTest.keyClicks(edit, "Renamed job")
        QTest.keyClick(edit, Qt.Key.Key_Return)

    handled = modals.when("LabelDialog", edit)
    action(window, "actionEditLabel").trigger()
    assert handled
    assert seen["title"] == f"Edit Label — Token #{ids[0]}"
    assert seen["too long"] == (False, "Label is too long: 201 characters, at most 200", False)
    assert seen["fixed"] == (True, True)
    assert seeded.token(ids[0]).label == "Renamed job"
    assert model(window).token_at(0).label == "Renamed job"


def test_a_refused_label_keeps_the_text_typed(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    """The token is deleted while its label is edited: the refusal shows in the dialog, which
    stays open with every character typed."""
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    seen: dict[str, object] = {}

    def edit(widget: QWidget) -> None:
        edit = find(widget, QLineEdit, "labelEdit")
        edit.selectAll()
        QTest.keyClicks(edit, "a label worth keeping")
        seeded.delete(ids[0])
        click_button(widget, "saveButton")
        error = find(widget, QLabel, "errorLabel")
        seen["after"] = (widget.isVisible(), edit.text(), error.isHidden(), error.text())
        click_button(widget, "cancelButton")

    handled = modals.when("LabelDialog", edit)
    action(window, "actionEditLabel").trigger()
    assert handled
    visible, text, hidden, error = cast(tuple[bool, str, bool, str], seen["after"])
    assert (visible, text, hidden) == (True, "a label worth keeping", False)
    assert error.startswith("The label was not saved:")


def test_reveal_shows_the_secret_and_hides_it_after_the_timer(
    window: MainWindow, seeded: TokenService
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    assert window.commands.reveal_timer.interval() == 30_000
    action(window, "actionRevealToken").trigger()
    cell = model(window).index(0, Column.TOKEN)
    assert cell.data() == issued.secret
    assert window.commands.reveal_timer.isActive()
    assert action(window, "actionRevealToken").text() == "H&ide"

    window.commands.reveal_timer.timeout.emit()

    assert cell.data() == issued.token.masked
    assert not window.commands.reveal_timer.isActive()
    assert issued.secret not in window.statusBar().currentMessage()


def test_new_token_action_opens_the_create_dialog(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    seen = modals.when("CreateTokenDialog", lambda d: cast(QDialog, d).reject())
    action(window, "actionCreateToken").trigger()
    assert seen
    assert seeded.tokens() == []


def test_a_new_token_hidden_by_the_filter_is_shown_and_selected(
    window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    make_tokens(seeded, 2)
    window.sync.reload()
    window.filter_edit.setText("job 00")

    def fill(dialog: QWidget) -> None:
        label = dialog.findChild(QLineEdit, "labelEdit")
        assert label is not None
        label.setText("Brand new")
        click_button(dialog, "createButton")

    created = modals.when("CreateTokenDialog", fill)
    shown = modals.when("SecretDialog", lambda d: click_button(d, "closeButton"))
    action(window, "actionCreateToken").trigger()
    assert created and shown
    new = next(t for t in seeded.tokens("Production") if t.label == "Brand new")
    assert window.filter_edit.text() == ""
    assert new.id in shown_ids(window)
    assert [t.id for t in window.selected_tokens()] == [new.id]


@pytest.mark.parametrize(
    ("action_name", "dialog_name"),
    [
        ("actionRotate", "RotationDialog"),
        ("actionAgentsRoles", "DirectoryDialog"),
        ("actionTryRequest", "TryRequestDialog"),
    ],
)
def test_tool_actions_open_their_dialogs(
    window: MainWindow, seeded: TokenService, modals: Modals, action_name: str, dialog_name: str
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    seen = modals.when(dialog_name, lambda d: cast(QDialog, d).reject())
    action(window, action_name).trigger()
    assert seen


def test_audit_log_opens_beside_the_window_and_follows_changes(
    window: MainWindow, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    dialog = window.commands.show_audit_log()
    assert dialog.objectName() == "AuditDialog"
    assert dialog.isVisible() and not dialog.isModal()
    window.select_tokens(ids)
    history = window.commands.show_token_history()
    assert history is not None and history.isVisible()
    dialog.close()
    history.close()
