"""The environment bar: the selector, All environments and the API access toggle."""

from __future__ import annotations

from desktop.domain.table import Column
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.gui.conftest import (
    Answers,
    make_tokens,
    shown_ids,
)


def test_environment_selector_shows_that_environments_tokens(
    window: MainWindow, seeded: TokenService
) -> None:
    production = make_tokens(seeded, 2)
    staging = make_tokens(seeded, 1, "Staging")
    window.sync.reload()
    selector = window.environment_selector
    assert [selector.itemText(i) for i in range(selector.count())] == [
        "Production",
        "Staging",
        "All environments",
    ]
    assert shown_ids(window) == production
    assert window.table.isColumnHidden(Column.ENVIRONMENT)
    selector.setCurrentIndex(1)
    assert shown_ids(window) == staging
    assert window.counts_label.text() == "1 token"


def test_all_environments_shows_every_token_with_its_environment(
    window: MainWindow, seeded: TokenService
) -> None:
    production = make_tokens(seeded, 2)
    staging = make_tokens(seeded, 1, "Staging")
    window.sync.reload()
    selector = window.environment_selector
    selector.setCurrentIndex(selector.findText("All environments"))
    assert window.showing_all()
    assert sorted(shown_ids(window)) == sorted(production + staging)
    assert not window.table.isColumnHidden(Column.ENVIRONMENT)
    assert window.counts_label.text() == "3 tokens"
    assert not window.api_toggle.isEnabled()  # API access is set per environment
    window.filter_edit.setText("staging")  # the Environment column is searched too
    assert shown_ids(window) == staging
    window.filter_edit.clear()
    # A token created elsewhere shows up here, whichever environment it is in.
    extra = seeded.create_token("Staging", "Alpha Bot").token
    window.sync.catch_up()
    assert extra.id in shown_ids(window)
    assert window.counts_label.text() == "4 tokens"


def test_api_access_toggle_turns_every_token_into_401(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    assert window.api_toggle.isChecked()
    assert not window.api_banner.isVisible()
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 200

    window.api_toggle.click()

    assert len(answers.confirmations) == 1
    assert "401" in answers.confirmations[0][2]
    assert not window.api_toggle.isChecked()
    assert window.api_banner.isVisible()
    assert window.api_banner.text().startswith(
        "API access is disabled for Production: every token in it answers 401"
    )
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert window.statusBar().currentMessage() == (
        "API access turned off for Production: its tokens get 401"
    )
    window.api_toggle.click()  # turning it on asks nothing
    assert len(answers.confirmations) == 1
    assert not window.api_banner.isVisible()
    assert seeded.verify("Production", issued.secret, "GET", "/Loans").status == 200
    assert window.statusBar().currentMessage() == "API access turned on for Production"


def test_api_access_stays_on_when_the_question_is_declined(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    make_tokens(seeded, 1)  # with no token in it, it would not ask
    window.sync.reload()
    answers.confirm = False
    window.api_toggle.click()
    assert window.api_toggle.isChecked()
    assert seeded.environment("Production").api_enabled


def test_turning_off_api_access_where_there_is_no_token_does_not_ask(
    window: MainWindow, seeded: TokenService, answers: Answers
) -> None:
    """Nothing stops working, so there is nothing to confirm; with a token there, it asks."""
    assert window.environments.select("Staging")
    assert window.api_toggle.isChecked()
    window.api_toggle.click()
    assert answers.confirmations == []
    assert not window.api_toggle.isChecked()
    assert not seeded.environment("Staging").api_enabled
    assert window.statusBar().currentMessage() == (
        "API access turned off for Staging: its tokens get 401"
    )
    window.api_toggle.click()
    make_tokens(seeded, 1, "Staging")
    window.api_toggle.click()
    assert [title for title, _, _ in answers.confirmations] == ["Turn Off API Access"]
