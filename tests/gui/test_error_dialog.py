"""An exception a slot lets escape while the window runs: it is logged (masked) and shown in one
error dialog whose *Copy details* copies the masked traceback, instead of vanishing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QPlainTextEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop import __version__, logs
from desktop.domain import tokens
from desktop.gui.error_dialog import ErrorDialog, ExceptionHook


@pytest.fixture
def log_folder(tmp_path: Path) -> Iterator[Path]:
    """The process logging to a file in a temporary folder, as a ``tokendesk`` run does."""
    installed = logs.install(tmp_path, stderr_format="%(message)s")
    yield tmp_path
    installed.remove()


@pytest.fixture
def hook(qtbot: QtBot, log_folder: Path) -> Iterator[ExceptionHook]:
    installed = ExceptionHook.install()
    yield installed
    installed.uninstall()


def error_dialogs() -> list[QWidget]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if w.objectName() == "errorDialog" and w.isVisible()
    ]


def failing_button(qtbot: QtBot, message: str) -> QPushButton:
    button = QPushButton("Do it")
    qtbot.addWidget(button)

    def fail() -> None:
        raise ValueError(message)

    button.clicked.connect(fail)
    return button


@pytest.mark.expect_log("unexpected error in the window", level="ERROR", logger="desktop.gui")
def test_an_exception_in_a_slot_shows_the_dialog_and_copies_masked_details(
    qtbot: QtBot, hook: ExceptionHook, log_folder: Path
) -> None:
    secret = tokens.generate()
    button = failing_button(qtbot, f"could not use {secret}")

    button.click()

    qtbot.waitUntil(lambda: len(error_dialogs()) == 1)
    (dialog,) = error_dialogs()
    assert isinstance(dialog, ErrorDialog)
    location = dialog.findChild(QLabel, "logLocation")
    assert location is not None and str(log_folder / logs.FILENAME) in location.text()
    details = dialog.findChild(QPlainTextEdit, "errorDetails")
    assert details is not None
    assert "ValueError: could not use tdk_[masked]" in details.toPlainText()
    assert secret not in details.toPlainText()

    QApplication.clipboard().clear()
    copy = dialog.findChild(QPushButton, "copyDetailsButton")
    assert copy is not None
    copy.click()
    copied = QApplication.clipboard().text()
    assert copied == dialog.report()
    about, blank, trace = copied.split("\n", 2)
    assert about.startswith(f"TokenDesk {__version__}, Python ") and blank == ""
    assert trace == dialog.details()
    assert trace.startswith("Traceback (most recent call last):")
    assert "in fail" in copied and "ValueError: could not use tdk_[masked]" in copied
    assert secret not in copied
    assert dialog.isVisible()  # copying leaves it open

    logged = (log_folder / logs.FILENAME).read_text(encoding="utf-8")
    assert "ERROR desktop.gui.error_dialog: unexpected error in the window" in logged
    assert "ValueError: could not use tdk_[masked]" in logged
    assert secret not in logged


@pytest.mark.expect_log("unexpected error in the window", level="ERROR", logger="desktop.gui")
def test_one_dialog_at_a_time(qtbot: QtBot, hook: ExceptionHook) -> None:
    first = failing_button(qtbot, "first failure")
    second = failing_button(qtbot, "second failure")
    first.click()
    qtbot.waitUntil(lambda: len(error_dialogs()) == 1)
    second.click()

    (dialog,) = error_dialogs()
    assert isinstance(dialog, ErrorDialog)
    assert "first failure" in dialog.details() and "second failure" in dialog.details()

    close = dialog.findChild(QPushButton, "closeButton")
    assert close is not None
    close.click()
    qtbot.waitUntil(lambda: not error_dialogs())
    assert hook.dialog is None

    second.click()  # a later failure gets a dialog again
    qtbot.waitUntil(lambda: len(error_dialogs()) == 1)
    (again,) = error_dialogs()
    assert isinstance(again, ErrorDialog)
    assert "first failure" not in again.details()


@pytest.mark.expect_log("unexpected error in the window", level="ERROR", logger="desktop.gui")
def test_called_directly_and_uninstalled(qtbot: QtBot, log_folder: Path) -> None:
    before = sys.excepthook
    hook = ExceptionHook.install()
    assert sys.excepthook is hook
    secret = tokens.generate()
    try:
        raise KeyError(secret)
    except KeyError as error:
        hook(KeyError, error, error.__traceback__)
    assert hook.dialog is not None and secret not in hook.dialog.details()
    hook.uninstall()
    assert sys.excepthook is before
    qtbot.waitUntil(lambda: not error_dialogs())


def test_keyboard_interrupt_goes_to_the_previous_hook(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[type[BaseException]] = []

    def previous(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        seen.append(kind)

    monkeypatch.setattr(sys, "excepthook", previous)
    hook = ExceptionHook.install()
    try:
        hook(KeyboardInterrupt, KeyboardInterrupt(), None)
    finally:
        hook.uninstall()
    assert seen == [KeyboardInterrupt]
    assert hook.dialog is None and not error_dialogs()


def test_without_a_log_file_the_dialog_says_so(qtbot: QtBot) -> None:
    dialog = ErrorDialog("Traceback (most recent call last):\nValueError: x", None)
    qtbot.addWidget(dialog)
    location = dialog.findChild(QLabel, "logLocation")
    assert location is not None and location.text() == "No log file is being written in this run."
