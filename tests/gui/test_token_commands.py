"""The token commands: what they ask, what they change and what they say."""

from __future__ import annotations

from typing import cast

import pytest
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from desktop.domain.table import Column
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
    assert masked in informative
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
    assert text == f"Delete token {token.masked} (agent Alpha Bot, label “job 00”)?"
    assert informative.startswith("Requests using this token will get 401 immediately.")
    assert token.masked not in informative  # named once, in the question
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
    seen = modals.when("messageBox", lambda box: click_button(box, "cancelButton"))
    action(window, "actionRefresh").trigger()
    assert seen
    assert seeded.token(ids[0]).generation == 0


def test_refresh_confirms_with_the_grace_and_shows_the_new_secret_once(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    old = seeded.create_token("Production", "Alpha Bot", label="graceful", grace="1h")
    window.sync.reload()
    window.select_tokens([old.token.id])
    action(window, "actionRefresh").trigger()
    _, text, informative = answers.confirmations[0]
    assert old.token.masked in text
    assert informative == (
        "The old secret keeps working for 1 hour (the token's grace period), then requests "
        "using it get 401. The new secret is shown once."
    )
    assert len(answers.secrets) == 1
    _title, message, secret = answers.secrets[0]
    assert secret != old.secret
    assert seeded.verify("Production", secret, "GET", "/Loans").status == 200
    assert seeded.verify("Production", old.secret, "GET", "/Loans").status == 200  # grace
    assert model(window).token_at(0).generation == 1
    assert secret not in message


def test_refresh_without_grace_says_the_old_secret_stops_now(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 2)
    window.sync.reload()
    window.select_tokens(ids)
    action(window, "actionRefresh").trigger()
    assert len(answers.confirmations) == 1
    assert "stops working now" in answers.confirmations[0][2]
    assert [title for title, _, _ in answers.secrets] == ["New Secret 1 of 2", "New Secret 2 of 2"]


def test_edit_label(window: MainWindow, seeded: TokenService, answers: Answers) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    answers.text = "Renamed job"
    action(window, "actionEditLabel").trigger()
    assert seeded.token(ids[0]).label == "Renamed job"
    assert model(window).token_at(0).label == "Renamed job"


def test_an_invalid_label_is_reported(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    ids = make_tokens(seeded, 1)
    window.sync.reload()
    window.select_tokens(ids)
    answers.text = "x" * 300
    action(window, "actionEditLabel").trigger()
    assert answers.errors and "too long" in answers.errors[0][2]
    assert seeded.token(ids[0]).label == "job 00"


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
