"""Starting the window: the QApplication, the demo data dir, the main window and its event loop."""

from __future__ import annotations

import getpass
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.domain.errors import TokenDeskError
from desktop.gui import icons, messages
from desktop.paths import APP_NAME, resources_dir

if TYPE_CHECKING:
    from desktop.app import Context

log = logging.getLogger(__name__)

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


def _seed_demo(data_dir: Path) -> str | None:
    """Fill a fresh data dir with the demo data; the reason when the keyring is unusable."""
    from desktop.app import open_context
    from desktop.demo import seed

    context = open_context(data_dir, actor=getpass.getuser())
    try:
        if context.keyring_problem is not None:
            return context.keyring_problem
        seed(context.service)
        return None
    finally:
        context.close()


def _remove_demo(context: Context, data_dir: Path) -> None:
    """Take the demo's secrets out of the keyring again, then its data dir."""
    service = context.service
    if service.store is None:  # the window may close before it reached the keyring
        from desktop.secrets.store import open_secret_store

        try:
            service.set_store(open_secret_store())
        except TokenDeskError as error:
            log.warning("the demo's secrets stay in the keyring: %s", error)
    if service.store is not None:
        for token in service.tokens():
            try:
                service.delete(token.id)
            except TokenDeskError as error:
                log.warning("demo token %s left behind: %s", token.id, error)
    context.close()
    shutil.rmtree(data_dir, ignore_errors=True)


def run_window(data_dir: Path, demo: bool) -> int:
    """Open the main window on *data_dir* (or on fresh demo data) and run until it closes."""
    from desktop.app import build_main_window

    app = application()
    if demo:
        data_dir = Path(tempfile.mkdtemp(prefix="tokendesk-demo-"))
        try:
            problem = _seed_demo(data_dir)
        except TokenDeskError as error:
            problem = str(error)
        if problem is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
            messages.error(
                None,
                "TokenDesk demo",
                "The demo needs the system keyring, which is unavailable.",
                problem,
            )
            return 1
    settings = None if demo else QSettings(APP_NAME, APP_NAME)
    remembered = settings.value("window/environment") if settings is not None else None
    try:
        window = build_main_window(
            data_dir, environment=remembered if isinstance(remembered, str) else None
        )
    except TokenDeskError as error:
        messages.error(None, "TokenDesk", "TokenDesk cannot open its data.", str(error))
        if demo:
            shutil.rmtree(data_dir, ignore_errors=True)
        return 1
    if settings is None:
        window.setWindowTitle(f"TokenDesk — demo data ({data_dir})")
    else:
        window.use_settings(settings)
    window.show()
    from desktop.gui.error_dialog import ExceptionHook

    hook = ExceptionHook.install()  # an exception in a slot is logged and shown, not lost
    code = app.exec()
    hook.uninstall()
    window.shutdown()
    if demo:
        _remove_demo(window.context, data_dir)
    else:
        window.context.close()
    return int(code)
