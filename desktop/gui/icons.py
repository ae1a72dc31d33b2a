"""Icons from the desktop's theme, falling back to the style's standard pixmaps, and the
Status cell's badges, drawn here."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPointF, QRect, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QApplication

# name → (freedesktop theme icons, best first; the style's standard pixmap as a fallback).
# The fallbacks are named, not looked up, so QStyle is touched only when a theme lacks an icon.
_ICONS: dict[str, tuple[tuple[str, ...], str]] = {
    "new": (("document-new",), "SP_FileIcon"),
    "activate": (("media-playback-start",), "SP_MediaPlay"),
    "deactivate": (("media-playback-pause",), "SP_MediaPause"),
    "refresh": (("view-refresh",), "SP_BrowserReload"),
    "rotation": (("appointment-new", "x-office-calendar"), "SP_FileDialogDetailedView"),
    "copy": (("edit-copy",), "SP_DialogSaveButton"),
    "reveal": (("view-visible", "view-reveal-symbolic"), "SP_FileDialogContentsView"),
    "label": (("document-edit", "accessories-text-editor"), "SP_FileDialogListView"),
    "delete": (("edit-delete",), "SP_TrashIcon"),
    "directory": (("system-users",), "SP_DirHomeIcon"),
    "audit": (("document-open-recent",), "SP_FileDialogInfoView"),
    "try": (("network-transmit",), "SP_ArrowForward"),
    "history": (("document-open-recent",), "SP_FileDialogInfoView"),
    "quit": (("application-exit",), "SP_DialogCloseButton"),
    "about": (("help-about",), "SP_MessageBoxInformation"),
    "warning": (("dialog-warning",), "SP_MessageBoxWarning"),
    "grace": (("appointment-soon", "alarm-symbolic", "chronometer"), "SP_BrowserReload"),
    "error": (("dialog-error",), "SP_MessageBoxCritical"),
    "info": (("dialog-information",), "SP_MessageBoxInformation"),
    "close": (("window-close",), "SP_TitleBarCloseButton"),
    "find": (("edit-find",), "SP_FileDialogContentsView"),
}

# Themes that carry full-colour action icons, in order of preference.
_FALLBACK_THEMES = ("breeze", "Adwaita", "Tango", "oxygen")


def icon(name: str) -> QIcon:
    themed, fallback = _ICONS[name]
    for theme_name in themed:
        found = QIcon.fromTheme(theme_name)
        if not found.isNull():
            return symbolic(found) if theme_name.endswith("-symbolic") else found
    from PySide6.QtWidgets import QStyle  # only here: its enums take milliseconds to create

    style = QApplication.style()
    if style is None:
        return QIcon()
    return style.standardIcon(getattr(QStyle.StandardPixmap, fallback))


# The Status badge: a filled green dot for Active, a grey ring for Inactive (shape and colour
# differ). Both colours keep 3:1 against light and dark bases alike, so no palette is asked.
BADGE_SIZE = 16  # logical pixels: the item views' small icon size
_BADGE_ACTIVE = QColor(0x1F, 0x88, 0x3D)
_BADGE_INACTIVE = QColor(0x80, 0x80, 0x80)
# Device pixel ratios drawn up front: each screen's is added (see status_badge), these cover a
# window moved to a screen of another scale; QIcon takes the nearest.
_BADGE_SCALES = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)


def status_badge(active: bool) -> QIcon:
    """The Status cell's badge, drawn at every device pixel ratio so it stays crisp on HiDPI.
    Build it once and keep it: this draws a pixmap per scale."""
    scales = set(_BADGE_SCALES)
    scales.update(screen.devicePixelRatio() for screen in QGuiApplication.screens())
    # On a selected row (the highlight colour behind it) the badge is drawn in the palette's
    # highlighted-text colour, where a grey ring would all but vanish.
    on_highlight = QGuiApplication.palette().color(QPalette.ColorRole.HighlightedText)
    badge = QIcon()
    for scale in sorted(scales):
        badge.addPixmap(_badge_pixmap(active, scale))
        badge.addPixmap(_badge_pixmap(active, scale, on_highlight), QIcon.Mode.Selected)
    return badge


def _badge_pixmap(active: bool, scale: float, outline: QColor | None = None) -> QPixmap:
    side = round(BADGE_SIZE * scale)
    pixmap = QPixmap(side, side)
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    centre = QPointF(BADGE_SIZE / 2, BADGE_SIZE / 2)
    if active:
        # *outline*: a ring around the dot, which keeps its colour (the state's).
        painter.setPen(Qt.PenStyle.NoPen if outline is None else QPen(outline, 1.5))
        painter.setBrush(QBrush(_BADGE_ACTIVE))
        painter.drawEllipse(centre, 5.0, 5.0)
    else:
        painter.setPen(QPen(_BADGE_INACTIVE if outline is None else outline, 2.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(centre, 4.0, 4.0)
    painter.end()
    return pixmap


def install_theme_fallback() -> str | None:
    """Without a desktop that names an icon theme (a bare window manager, offscreen), use an
    installed freedesktop theme rather than the style's few pixmaps. Returns the theme chosen."""
    if QIcon.themeName() not in ("", "hicolor"):
        return None
    data_dirs = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    folders = [Path(d) / "icons" for d in data_dirs.split(os.pathsep) if d]
    folders.insert(0, Path.home() / ".local" / "share" / "icons")
    existing = [str(f) for f in folders if f.is_dir()]
    if not existing:
        return None
    QIcon.setThemeSearchPaths(
        [*QIcon.themeSearchPaths(), *(f for f in existing if f not in QIcon.themeSearchPaths())]
    )
    for theme in _FALLBACK_THEMES:
        if any((Path(folder) / theme / "index.theme").is_file() for folder in existing):
            QIcon.setThemeName(theme)
            return theme
    return None


def symbolic(source: QIcon) -> QIcon:
    """*source*, a one-colour ("symbolic") icon, recoloured in the palette's text colour each
    time it is drawn (GNOME's Adwaita ships its action icons only in this form, black)."""
    return QIcon(_SymbolicEngine(source))


class _SymbolicEngine(QIconEngine):
    """A one-colour ("symbolic") theme icon, drawn in the palette's text colour at paint time,
    so it reads on a dark toolbar as on a light one and follows a switch between them."""

    def __init__(self, source: QIcon) -> None:
        super().__init__()
        self._source = source

    def clone(self) -> QIconEngine:
        return _SymbolicEngine(self._source)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        pixmap = self._source.pixmap(size, scale, QIcon.Mode.Normal, state)
        if pixmap.isNull():
            return pixmap
        palette = QGuiApplication.palette()
        group = (
            QPalette.ColorGroup.Disabled
            if mode == QIcon.Mode.Disabled
            else QPalette.ColorGroup.Active
        )
        role = (
            QPalette.ColorRole.HighlightedText
            if mode == QIcon.Mode.Selected
            else QPalette.ColorRole.ButtonText
        )
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.fillRect(pixmap.rect(), palette.color(group, role))
        painter.end()
        return pixmap

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        scale = painter.device().devicePixelRatioF() if painter.device() else 1.0
        pixmap = self.scaledPixmap(rect.size(), mode, state, scale)
        painter.drawPixmap(rect, pixmap)

    def actualSize(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QSize:
        return self._source.actualSize(size, mode, state)
