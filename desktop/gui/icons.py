"""Icons from the desktop's theme, falling back to the style's standard pixmaps."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QIcon
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
            return found
    from PySide6.QtWidgets import QStyle  # only here: its enums take milliseconds to create

    style = QApplication.style()
    if style is None:
        return QIcon()
    return style.standardIcon(getattr(QStyle.StandardPixmap, fallback))


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
