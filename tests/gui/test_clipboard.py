"""SecretClipboard: password-manager hints, clearing only what is still ours."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from desktop.domain import tokens
from desktop.gui.clipboard import CLEAR_AFTER_MS, KDE_PASSWORD_HINT, SecretClipboard
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from tests.helpers.widgets import find


@pytest.fixture
def clipboard(qtbot: QtBot) -> SecretClipboard:
    QApplication.clipboard().clear()
    return SecretClipboard()


def test_copy_puts_text_and_the_password_manager_hint(clipboard: SecretClipboard) -> None:
    secret = tokens.generate()
    clipboard.copy(secret)
    system = QApplication.clipboard()
    assert system.text() == secret
    mime = system.mimeData()
    assert mime is not None
    assert "text/plain" in mime.formats()
    assert bytes(mime.data(KDE_PASSWORD_HINT).data()) == b"secret"
    assert clipboard.holds_ours()


def test_clears_after_the_timeout_when_still_ours(clipboard: SecretClipboard, qtbot: QtBot) -> None:
    assert clipboard.timer.interval() == CLEAR_AFTER_MS == 30_000
    assert clipboard.timer.isSingleShot()
    clipboard.copy(tokens.generate())
    assert clipboard.timer.isActive()
    with qtbot.waitSignal(clipboard.cleared):
        clipboard.timer.timeout.emit()
    assert QApplication.clipboard().text() == ""
    assert not clipboard.holds_ours()


def test_a_short_interval_clears_on_its_own(qtbot: QtBot) -> None:
    clipboard = SecretClipboard(clear_after_ms=50)
    clipboard.copy(tokens.generate())
    with qtbot.waitSignal(clipboard.cleared, timeout=5_000):
        pass
    assert QApplication.clipboard().text() == ""


def test_leaves_what_the_person_copied_since(clipboard: SecretClipboard, qtbot: QtBot) -> None:
    clipboard.copy(tokens.generate())
    QApplication.clipboard().setText("my shopping list")
    with qtbot.assertNotEmitted(clipboard.cleared):
        assert clipboard.clear_if_ours() is False
    assert QApplication.clipboard().text() == "my shopping list"


def test_keeps_a_hash_not_the_secret(clipboard: SecretClipboard) -> None:
    secret = tokens.generate()
    clipboard.copy(secret)
    kept = [value for value in vars(clipboard).values() if isinstance(value, str | bytes)]
    assert all(secret not in str(value) for value in kept)
    assert secret not in repr(clipboard)


def test_window_copy_reports_and_clears_on_close(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    assert window.window_actions.copy.objectName() == "actionCopyToken"
    window.window_actions.copy.trigger()
    assert QApplication.clipboard().text() == issued.secret
    notice = find(window, QLabel, "clipboardCountdown")
    assert notice.isVisible()
    assert notice.text() == "Copied; clipboard clears in 30 s"
    window.close()
    assert QApplication.clipboard().text() == ""


def test_window_close_leaves_a_replaced_clipboard_alone(
    window: MainWindow, seeded: TokenService
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    window.window_actions.copy.trigger()
    QApplication.clipboard().setText("something else")
    window.close()
    assert QApplication.clipboard().text() == "something else"


def test_counts_down_once_a_second_until_cleared(clipboard: SecretClipboard, qtbot: QtBot) -> None:
    seen: list[int] = []
    clipboard.countdown.connect(seen.append)
    clipboard.copy(tokens.generate())
    assert seen == [30]
    assert clipboard.tick.interval() == 1_000
    assert clipboard.counting_down()
    for _ in range(3):
        clipboard.tick.timeout.emit()
    assert seen == [30, 29, 28, 27]
    with qtbot.waitSignal(clipboard.cleared):
        clipboard.timer.timeout.emit()
    assert not clipboard.counting_down()
    assert not clipboard.tick.isActive()


def test_the_count_stops_when_someone_else_replaces_the_secret(
    clipboard: SecretClipboard, qtbot: QtBot
) -> None:
    seen: list[int] = []
    clipboard.countdown.connect(seen.append)
    clipboard.copy(tokens.generate())
    with qtbot.waitSignal(clipboard.released), qtbot.assertNotEmitted(clipboard.cleared):
        QApplication.clipboard().setText("my shopping list")
    assert not clipboard.counting_down()
    assert not clipboard.timer.isActive()
    clipboard.tick.timeout.emit()  # a tick already on its way changes nothing
    assert seen == [30]
    assert QApplication.clipboard().text() == "my shopping list"


def test_the_window_counts_down_and_stops_when_cleared_or_replaced(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    notice = find(window, QLabel, "clipboardCountdown")
    assert not notice.isVisible()
    window.window_actions.copy.trigger()
    assert notice.text() == "Copied; clipboard clears in 30 s"
    window.clipboard.tick.timeout.emit()
    window.clipboard.tick.timeout.emit()
    assert notice.text() == "Copied; clipboard clears in 28 s"
    assert notice.isVisible()

    QApplication.clipboard().setText("something else")  # the person copied something else
    assert not notice.isVisible()
    assert window.statusBar().currentMessage() != "Clipboard cleared"

    window.window_actions.copy.trigger()
    assert notice.isVisible()
    window.clipboard.timer.timeout.emit()
    assert not notice.isVisible()
    assert window.statusBar().currentMessage() == "Clipboard cleared"
    assert QApplication.clipboard().text() == ""
