"""Colours that mean something (an error, a warning, an allowed request), for light and dark.

Qt follows the desktop's colour scheme by itself: the platform theme (GNOME's through GTK, KDE's
colour schemes, Windows, macOS) hands the application a light or a dark palette, and changes it
while the app runs when the person switches. What Qt cannot know is the few colours the window
picks itself. Each is defined here twice, for a light and for a dark background, and chosen by
the palette in force, never by a platform flag: a dark palette is dark however it came about
(a dark desktop theme, a high-contrast theme, ``-style`` and ``QT_QPA_PLATFORMTHEME`` choices).

Widgets that use them follow a change of palette while the window is open (see :func:`follow`):
they are re-coloured when the application's palette changes, as Qt's own widgets are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget


class Tone(StrEnum):
    """What a coloured text or notice means."""

    ERROR = "error"
    WARNING = "warning"
    SUCCESS = "success"
    INFO = "info"


# Text in a tone, on the window's background: (on a light background, on a dark one). Each
# keeps a contrast of at least 4.5:1 (WCAG AA for body text) against the Window and Base
# colours of Qt's light and dark palettes (checked by tests/gui/test_theme.py).
_TEXT: dict[Tone, tuple[str, str]] = {
    Tone.ERROR: ("#b3261e", "#ff8a80"),
    Tone.WARNING: ("#8a5300", "#f2b661"),
    Tone.SUCCESS: ("#18753a", "#7bd88f"),
    Tone.INFO: ("#1f5fae", "#8ab4f8"),
}


@dataclass(frozen=True, slots=True)
class BannerColors:
    background: str
    border: str
    text: str


# A notice across the window: a tinted background with a stronger border, text in the
# palette's sense of light or dark. (light, dark) per tone.
_BANNERS: dict[Tone, tuple[BannerColors, BannerColors]] = {
    Tone.WARNING: (
        BannerColors("#fff4ce", "#c9a227", "#1f1f1f"),
        BannerColors("#433519", "#c9a227", "#f3f3f3"),
    ),
    Tone.ERROR: (
        BannerColors("#fde7e9", "#c42b1c", "#1f1f1f"),
        BannerColors("#442726", "#e06a5f", "#f3f3f3"),
    ),
    Tone.INFO: (
        BannerColors("#e8f1fb", "#5b8ccc", "#1f1f1f"),
        BannerColors("#1f3147", "#6f9fd8", "#f3f3f3"),
    ),
    Tone.SUCCESS: (
        BannerColors("#e6f4ea", "#1b7f3b", "#1f1f1f"),
        BannerColors("#1d3524", "#4caf6a", "#f3f3f3"),
    ),
}


def _palette(palette: QPalette | None) -> QPalette:
    return palette if palette is not None else QGuiApplication.palette()


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether *palette* (the application's by default) draws light text on a dark window."""
    colors = _palette(palette)
    window = colors.color(QPalette.ColorRole.Window)
    text = colors.color(QPalette.ColorRole.WindowText)
    return window.lightnessF() < text.lightnessF()


def text_color(tone: Tone, palette: QPalette | None = None) -> QColor:
    """The colour of text in *tone* on *palette*'s window (the application's by default)."""
    light, dark = _TEXT[Tone(tone)]
    return QColor(dark if is_dark(palette) else light)


def banner_colors(tone: Tone, palette: QPalette | None = None) -> BannerColors:
    light, dark = _BANNERS[Tone(tone)]
    return dark if is_dark(palette) else light


def tone_style(tone: Tone, *, bold: bool = False, palette: QPalette | None = None) -> str:
    """A style sheet that colours a widget's text in *tone* (``color: …;``)."""
    weight = " font-weight: bold;" if bold else ""
    return f"color: {text_color(tone, palette).name()};{weight}"


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (none) to 21 (black on white)."""

    def luminance(color: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        return (
            0.2126 * channel(color.redF())
            + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF())
        )

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


class _Follower(QObject):
    """Re-applies a widget's colours when the application's palette changes; a child of the
    widget, so the connection ends with it.

    The application's signal, not an event: ``ApplicationPaletteChange`` reaches only
    top-level windows, and a widget with a style sheet of its own gets no ``PaletteChange``.
    """

    def __init__(self, widget: QWidget, apply: Callable[[], None]) -> None:
        super().__init__(widget)
        self.setObjectName("themeFollower")
        self._apply = apply
        application = QGuiApplication.instance()
        if isinstance(application, QGuiApplication):
            application.paletteChanged.connect(self.repaint)

    @Slot()
    def repaint(self) -> None:
        self._apply()


def follow(widget: QWidget, apply: Callable[[], None]) -> None:
    """Call *apply* now, and again whenever the application's palette changes (a switch of the
    desktop between light and dark while the window is open). Replaces an earlier *apply*."""
    for old in widget.findChildren(_Follower, options=Qt.FindChildOption.FindDirectChildrenOnly):
        old.setParent(None)
        old.deleteLater()
    _Follower(widget, apply)
    apply()


def paint_tone(widget: QWidget, tone: Tone, *, bold: bool = False) -> None:
    """Colour *widget*'s text in *tone*, now and after every change of palette. The tone is
    also kept as the widget's ``tone`` property, for tests and style sheets."""
    widget.setProperty("tone", str(tone))
    follow(widget, lambda: widget.setStyleSheet(tone_style(tone, bold=bold)))
