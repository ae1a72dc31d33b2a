"""Can the window toolkit start a display platform here? The self-test's Qt check."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QCoreApplication, QtMsgType, qInstallMessageHandler, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

# Qt's messages that repeat what the first one already said.
_QT_NOISE = ("even though it was found", "Available platform plugins are")


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _requested_platforms() -> tuple[str, str | None]:
    """The Qt platform(s) to try, and why offscreen was chosen when there is no display."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen, None
    if not sys.platform.startswith("linux"):
        return "", None  # Qt's own default (windows, cocoa) needs no display variable
    wayland = bool(os.environ.get("WAYLAND_DISPLAY"))
    x11 = bool(os.environ.get("DISPLAY"))
    if not (wayland or x11):
        return "offscreen", "no display: DISPLAY and WAYLAND_DISPLAY are unset"
    names = []
    if wayland and os.environ.get("XDG_SESSION_TYPE") == "wayland":
        names.append("wayland")
    if x11:
        names.append("xcb")  # in a Wayland session, XWayland is the fallback
    elif wayland and not names:
        names.append("wayland")  # the only display there is
    return ";".join(names), None


def check_toolkit(libraries: str) -> tuple[bool, str]:
    """Whether a display platform starts (offscreen when there is none), and what was found or
    what to do; *libraries* are the system packages to name when the display cannot start."""
    qt_version = qVersion()
    existing = QCoreApplication.instance()
    if existing is not None:
        platform_name = existing.platformName() if isinstance(existing, QGuiApplication) else "none"
        return True, f"Qt {qt_version}, platform '{platform_name}' (already running)"

    requested, why_offscreen = _requested_platforms()
    wanted = [p for p in requested.split(";") if p]
    argv = ["tokendesk"]
    if wanted and "offscreen" not in wanted:
        # Ask Qt to fall back to offscreen, so a broken display is reported instead of aborting.
        argv += ["-platform", ";".join([*wanted, "offscreen"])]
    elif wanted:
        argv += ["-platform", ";".join(wanted)]

    messages: list[str] = []

    def collect(kind: QtMsgType, _context: object, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg and not any(n in message for n in _QT_NOISE):
            messages.append(_one_line(message))

    previous = qInstallMessageHandler(collect)
    try:
        app = QApplication(argv)
    finally:
        qInstallMessageHandler(previous)
    try:
        platform_name = app.platformName()
        if platform_name == "offscreen" and wanted and "offscreen" not in wanted:
            said = "; ".join(dict.fromkeys(messages)) or "no reason given"
            hint = (
                f"check that DISPLAY / WAYLAND_DISPLAY point at your running desktop and that "
                f"the libraries the window needs are installed (on Debian or Ubuntu: apt install "
                f"{libraries})"
            )
            return (
                False,
                f"Qt {qt_version} could not start the '{requested}' platform ({said}); {hint}",
            )
        detail = f"Qt {qt_version}, platform '{platform_name}'"
        if why_offscreen:
            detail += f" ({why_offscreen}; the window itself needs a desktop session)"
        return (True, detail)
    finally:
        # Let a later QApplication in the same process start afresh.
        app.shutdown()
