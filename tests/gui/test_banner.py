"""The banner across the top of the window: hidden until asked, its message plain text (a
name with markup in it is shown, never interpreted), and its buttons wired to their slots."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QToolButton
from pytestqt.qtbot import QtBot

from desktop.gui import theme
from desktop.gui.banner import Banner


@pytest.fixture
def banner(qtbot: QtBot) -> Banner:
    widget = Banner("keyringBanner", "warning")
    qtbot.addWidget(widget)
    return widget


def test_hidden_until_shown(banner: Banner) -> None:
    assert banner.objectName() == "keyringBanner"
    assert banner.label.objectName() == "keyringBannerText"
    assert banner.isHidden()
    assert banner.text() == ""


def test_the_message_is_escaped_and_the_heading_bold(banner: Banner) -> None:
    banner.set_text("Agent <b>Ada</b> & co\nsecond line", heading="Keyring <locked>")
    assert banner.text() == "Keyring <locked> Agent <b>Ada</b> & co\nsecond line"
    assert banner.label.text() == (
        "<b>Keyring &lt;locked&gt;</b> Agent &lt;b&gt;Ada&lt;/b&gt; &amp; co<br>second line"
    )
    assert banner.label.textFormat() == Qt.TextFormat.RichText


def test_without_a_heading_only_the_message(banner: Banner) -> None:
    banner.set_text("  token #3 failed  ")
    assert banner.text() == "token #3 failed"
    assert "<b>" not in banner.label.text()


def test_buttons_call_their_slots(banner: Banner, qtbot: QtBot) -> None:
    calls: list[str] = []
    retry = banner.add_button("&Retry", "retryKeyringButton", lambda: calls.append("retry"))
    close = banner.add_close_button("dismissButton", lambda: calls.append("close"))
    assert banner.findChild(QPushButton, "retryKeyringButton") is retry
    assert banner.findChild(QToolButton, "dismissButton") is close
    assert close.accessibleName() == "Dismiss" and close.toolTip() == "Dismiss"
    assert not close.icon().isNull()
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert calls == ["retry", "close"]


@pytest.mark.parametrize("kind", sorted(Banner.KINDS))
def test_each_kind_has_its_colours(qtbot: QtBot, kind: str) -> None:
    banner = Banner(f"{kind}Banner", kind)
    qtbot.addWidget(banner)
    colors = theme.banner_colors(theme.Tone(kind))
    assert colors.background in banner.styleSheet() and colors.border in banner.styleSheet()
    assert banner.styleSheet().startswith(f"#{kind}Banner ")


def test_an_unknown_kind_is_refused(qtbot: QtBot) -> None:
    with pytest.raises(KeyError):
        Banner("oddBanner", "celebration")
