"""Icons from the desktop's theme, falling back to the style's standard pixmaps."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

SP = QStyle.StandardPixmap

# name → (freedesktop theme icons, best first; the style's fallback)
_ICONS: dict[str, tuple[tuple[str, ...], QStyle.StandardPixmap]] = {
    "new": (("document-new",), SP.SP_FileIcon),
    "activate": (("media-playback-start",), SP.SP_MediaPlay),
    "deactivate": (("media-playback-pause",), SP.SP_MediaPause),
    "refresh": (("view-refresh",), SP.SP_BrowserReload),
    "rotation": (("appointment-new", "x-office-calendar"), SP.SP_FileDialogDetailedView),
    "copy": (("edit-copy",), SP.SP_DialogSaveButton),
    "reveal": (("view-visible", "view-reveal-symbolic"), SP.SP_FileDialogContentsView),
    "label": (("document-edit", "accessories-text-editor"), SP.SP_FileDialogListView),
    "delete": (("edit-delete",), SP.SP_TrashIcon),
    "directory": (("system-users",), SP.SP_DirHomeIcon),
    "audit": (("document-open-recent",), SP.SP_FileDialogInfoView),
    "try": (("network-transmit",), SP.SP_ArrowForward),
    "history": (("document-open-recent",), SP.SP_FileDialogInfoView),
    "quit": (("application-exit",), SP.SP_DialogCloseButton),
    "about": (("help-about",), SP.SP_MessageBoxInformation),
    "warning": (("dialog-warning",), SP.SP_MessageBoxWarning),
    "error": (("dialog-error",), SP.SP_MessageBoxCritical),
    "info": (("dialog-information",), SP.SP_MessageBoxInformation),
    "close": (("window-close",), SP.SP_TitleBarCloseButton),
    "find": (("edit-find",), SP.SP_FileDialogContentsView),
}

# Themes that carry full-colour action icons, in order of preference.
_FALLBACK_THEMES = ("breeze", "Adwaita", "Tango", "oxygen")


def icon(name: str) -> QIcon:
    themed, fallback = _ICONS[name]
    for theme_name in themed:
        found = QIcon.fromTheme(theme_name)
        if not found.isNull():
            return found
    style = QApplication.style()
    return style.standardIcon(fallback) if style is not None else QIcon()


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
