"""The window's own colours follow a light or a dark palette, and a switch between them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from desktop.gui import icons, theme
from desktop.gui.banner import Banner
from desktop.gui.theme import Tone
from desktop.gui.widgets import ERROR_STYLE, WARNING_STYLE, message_label

# GNOME's dark palette as Qt gets it from Adwaita-dark: a dark grey window, near-black bases.
DARK_WINDOW = "#323232"
DARK_BASE = "#2d2d2d"


def dark_palette() -> QPalette:
    palette = QPalette(QColor(DARK_WINDOW))  # derives light text from a dark button colour
    palette.setColor(QPalette.ColorRole.Window, QColor(DARK_WINDOW))
    palette.setColor(QPalette.ColorRole.Base, QColor(DARK_BASE))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.Text, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor("#ffffff"))
    return palette


def light_palette() -> QPalette:
    style = QApplication.style()
    assert style is not None
    return style.standardPalette()


@pytest.fixture
def dark(qapp: QApplication) -> Iterator[QPalette]:
    """The application switched to a dark palette, as the desktop does; switched back after."""
    before = QGuiApplication.palette()
    QApplication.setPalette(dark_palette())
    try:
        yield QGuiApplication.palette()
    finally:
        QApplication.setPalette(before)


def style_color(text: str) -> str:
    assert text.startswith("color: #"), text
    return text.split("color: ", 1)[1].split(";", 1)[0]


def test_the_palettes_read_as_light_and_dark(qapp: QApplication) -> None:
    assert not theme.is_dark(light_palette())
    assert theme.is_dark(dark_palette())


@pytest.mark.parametrize("tone", list(Tone))
@pytest.mark.parametrize("palette_of", [light_palette, dark_palette], ids=["light", "dark"])
def test_every_tone_is_readable_on_both_palettes(
    qapp: QApplication, tone: Tone, palette_of: object
) -> None:
    palette = palette_of()  # type: ignore[operator]
    color = theme.text_color(tone, palette)
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
        ratio = theme.contrast_ratio(color, palette.color(role))
        assert ratio >= 4.5, (tone, role, color.name(), round(ratio, 2))


@pytest.mark.parametrize("tone", list(Tone))
@pytest.mark.parametrize("palette_of", [light_palette, dark_palette], ids=["light", "dark"])
def test_every_banner_keeps_its_text_readable(
    qapp: QApplication, tone: Tone, palette_of: object
) -> None:
    colors = theme.banner_colors(tone, palette_of())  # type: ignore[operator]
    assert theme.contrast_ratio(QColor(colors.text), QColor(colors.background)) >= 7


def test_the_contrast_ratio_is_wcags() -> None:
    assert theme.contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21)
    assert theme.contrast_ratio(QColor("#777777"), QColor("#777777")) == pytest.approx(1)


def test_a_message_label_changes_colour_with_the_palette(qtbot: QtBot, qapp: QApplication) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    error = message_label("errorLabel", ERROR_STYLE, dialog)
    warning = message_label("warningLabel", WARNING_STYLE, dialog)
    assert error.property("tone") == "error" and warning.property("tone") == "warning"
    light_error = style_color(error.styleSheet())
    light_warning = style_color(warning.styleSheet())
    before = QGuiApplication.palette()
    QApplication.setPalette(dark_palette())
    try:
        dark_error = style_color(error.styleSheet())
        dark_warning = style_color(warning.styleSheet())
        assert dark_error == theme.text_color(Tone.ERROR, dark_palette()).name() != light_error
        assert dark_warning != light_warning
    finally:
        QApplication.setPalette(before)
    assert style_color(error.styleSheet()) == light_error


def test_a_banner_turns_dark_with_the_palette(qtbot: QtBot, dark: QPalette) -> None:
    banner = Banner("keyringBanner", "error")
    qtbot.addWidget(banner)
    dark_colors = theme.banner_colors(Tone.ERROR, dark)
    assert dark_colors.background in banner.styleSheet()
    assert dark_colors.text in banner.styleSheet()
    QApplication.setPalette(light_palette())
    light_colors = theme.banner_colors(Tone.ERROR, light_palette())
    assert light_colors.background in banner.styleSheet()
    assert dark_colors.background not in banner.styleSheet()


def black_icon() -> QIcon:
    """A one-colour icon as Adwaita ships them: a black square on transparency."""
    icon = QIcon()
    for side in (16, 32):
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.fillRect(side // 4, side // 4, side // 2, side // 2, QColor("#000000"))
        painter.end()
        icon.addPixmap(pixmap)
    return icon


def centre(icon: QIcon, scale: float = 1.0, mode: QIcon.Mode = QIcon.Mode.Normal) -> QColor:
    pixmap = icon.pixmap(QSize(16, 16), scale, mode)
    image = pixmap.toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def test_a_symbolic_icon_is_drawn_in_the_palettes_text_colour(qapp: QApplication) -> None:
    plain = black_icon()
    tinted = icons.symbolic(plain)
    assert centre(plain).lightnessF() == 0.0
    assert centre(tinted).name() == light_palette().color(QPalette.ColorRole.ButtonText).name()
    before = QGuiApplication.palette()
    QApplication.setPalette(dark_palette())
    try:
        assert centre(tinted).name() == "#ffffff"  # the same icon, on a dark toolbar
        disabled = dark_palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
        assert centre(tinted, mode=QIcon.Mode.Disabled).name() == disabled.name()
    finally:
        QApplication.setPalette(before)
    # Transparent stays transparent: only the shape is recoloured.
    image = tinted.pixmap(QSize(16, 16)).toImage()
    assert image.pixelColor(0, 0).alpha() == 0


def test_a_symbolic_icon_is_sharp_on_a_high_dpi_screen(qapp: QApplication) -> None:
    pixmap = icons.symbolic(black_icon()).pixmap(QSize(16, 16), 2.0)
    assert pixmap.devicePixelRatio() == 2.0
    assert (pixmap.width(), pixmap.height()) == (32, 32)
