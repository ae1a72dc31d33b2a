"""The modal seam: real QMessageBox windows, named for automation (``messageBox``, its accept
button ``confirmButton``), with Cancel the default before anything destructive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop.domain import tokens
from desktop.gui import messages
from desktop.gui.refresh_dialog import GraceChoice, RefreshDialog, grace_choices
from desktop.gui.secret_dialog import SecretDialog
from tests.gui.conftest import Modals, click_button
from tests.helpers.widgets import find

Seen = dict[str, object]


def look(seen: Seen, then: str) -> Callable[[QWidget], None]:
    """Note what the box shows, then press the button named *then*."""

    def act(widget: QWidget) -> None:
        assert isinstance(widget, QMessageBox)
        seen["title"] = widget.windowTitle()
        seen["text"] = widget.text()
        seen["informative"] = widget.informativeText()
        seen["icon"] = widget.icon()
        default = widget.defaultButton()
        seen["default"] = default.objectName() if default is not None else None
        escape = widget.escapeButton()
        seen["escape"] = escape.objectName() if escape is not None else None
        seen["accept"] = find(widget, QPushButton, "confirmButton").text()
        click_button(widget, then)

    return act


def test_confirm_names_its_action_and_answers_yes(modals: Modals, qtbot: QtBot) -> None:
    seen: Seen = {}
    handled = modals.when("messageBox", look(seen, "confirmButton"))
    assert messages.confirm(
        None, "Refresh token", "Refresh #3?", "The old one stops.", accept="Refresh"
    )
    assert handled
    assert seen == {
        "title": "Refresh token",
        "text": "Refresh #3?",
        "informative": "The old one stops.",
        "icon": QMessageBox.Icon.Question,
        "default": "confirmButton",
        "escape": "cancelButton",
        "accept": "Refresh",
    }


def test_a_destructive_question_defaults_to_cancel(modals: Modals, qtbot: QtBot) -> None:
    seen: Seen = {}
    modals.when("messageBox", look(seen, "cancelButton"))
    assert not messages.confirm(None, "Delete", "Delete #3?", accept="Delete", destructive=True)
    assert seen["default"] == "cancelButton"
    assert seen["icon"] == QMessageBox.Icon.Warning
    assert seen["accept"] == "Delete"
    assert seen["informative"] == ""


@pytest.mark.parametrize(
    ("show", "icon"),
    [(messages.inform, QMessageBox.Icon.Information), (messages.error, QMessageBox.Icon.Critical)],
)
def test_notices_have_one_button_to_close_them(
    modals: Modals, qtbot: QtBot, show: Callable[..., None], icon: QMessageBox.Icon
) -> None:
    seen: Seen = {}
    handled = modals.when("messageBox", look(seen, "confirmButton"))
    show(None, "TokenDesk", "Something happened.", "Details here.")
    assert handled
    assert (seen["icon"], seen["text"], seen["informative"]) == (
        icon,
        "Something happened.",
        "Details here.",
    )
    assert seen["accept"] == "OK"


def test_confirm_refresh_goes_through_the_refresh_dialog(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[object, ...]] = []
    choices, preset = grace_choices([timedelta(hours=1)])

    def ask(*args: object) -> GraceChoice:
        asked.append(args)
        return choices[preset]

    def fate(grace: timedelta | None) -> str:
        return "kept"

    monkeypatch.setattr(RefreshDialog, "ask", ask)
    answer = messages.confirm_refresh(None, "Refresh Secret", "Refresh?", fate, choices, preset)
    assert answer == GraceChoice("1 hour", timedelta(hours=1))
    assert asked == [("Refresh Secret", "Refresh?", fate, choices, preset, None)]


def test_show_secret_goes_through_the_secret_dialog(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tokens.generate()
    shown: list[tuple[object, ...]] = []
    monkeypatch.setattr(SecretDialog, "show_once", lambda *args: shown.append(args))
    copied: list[str] = []
    copy = copied.append
    messages.show_secret(None, secret, "Token Created", "Ready.", copy)
    assert shown == [(secret, "Token Created", "Ready.", copy, None)]
    assert copied == []  # nothing copied unless the person asks
