"""The QApplication TokenDesk's window runs in: named, with its icon and an icon theme."""

from __future__ import annotations

import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.gui import icons
from desktop.paths import APP_NAME, resources_dir

ICON_NAMES = ("tokendesk.svg", "tokendesk.png", "icon.svg", "icon.png")


def application() -> QApplication:
    """The running QApplication, created (named TokenDesk, with its icon) if need be."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("tokendesk")
    icons.install_theme_fallback()
    icon = window_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app


def window_icon() -> QIcon | None:
    folder = resources_dir()
    for name in ICON_NAMES:
        for candidate in (folder / name, folder / "icons" / name):
            if candidate.is_file():
                return QIcon(str(candidate))
    return None
