"""Every icon the window names exists: from the theme, or the style's fallback pixmap."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from desktop.gui import icons


@pytest.mark.parametrize("name", sorted(icons._ICONS))
def test_each_icon_has_a_real_fallback(qapp: QApplication, name: str) -> None:
    _, fallback = icons._ICONS[name]
    pixmap = getattr(QStyle.StandardPixmap, fallback)  # a misspelt name fails here
    style = QApplication.style()
    assert style is not None and not style.standardIcon(pixmap).isNull()
    assert not icons.icon(name).isNull()


def test_without_a_theme_the_style_fallback_is_used(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QIcon, "fromTheme", staticmethod(lambda name: QIcon()))
    assert not icons.icon("delete").isNull()
