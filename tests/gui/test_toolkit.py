"""The self-test's window-toolkit check: which display platform it asks Qt for, and its answer
when a QApplication already runs (as in every window test)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.gui import toolkit

DISPLAY_VARIABLES = ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")


@pytest.fixture
def linux(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A Linux session with no display variables set; each test sets the ones it needs."""
    monkeypatch.setattr(sys, "platform", "linux")
    for name in DISPLAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_chosen_platform_is_taken_as_is(linux: pytest.MonkeyPatch) -> None:
    linux.setenv("QT_QPA_PLATFORM", " wayland;xcb ")
    linux.setenv("DISPLAY", ":0")
    assert toolkit._requested_platforms() == ("wayland;xcb", None)


def test_no_display_means_offscreen_with_the_reason(linux: pytest.MonkeyPatch) -> None:
    assert toolkit._requested_platforms() == (
        "offscreen",
        "no display: DISPLAY and WAYLAND_DISPLAY are unset",
    )


def test_x11_and_wayland_sessions(linux: pytest.MonkeyPatch) -> None:
    linux.setenv("DISPLAY", ":0")
    assert toolkit._requested_platforms() == ("xcb", None)
    linux.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert toolkit._requested_platforms() == ("xcb", None)  # XWayland, not a Wayland session
    linux.setenv("XDG_SESSION_TYPE", "wayland")
    assert toolkit._requested_platforms() == ("wayland;xcb", None)


def test_wayland_without_x11_outside_a_wayland_session(linux: pytest.MonkeyPatch) -> None:
    linux.setenv("WAYLAND_DISPLAY", "wayland-0")
    linux.setenv("XDG_SESSION_TYPE", "tty")
    assert toolkit._requested_platforms() == ("wayland", None)  # the only display there is


def test_a_wayland_session_without_x11_asks_for_wayland_once(linux: pytest.MonkeyPatch) -> None:
    linux.setenv("WAYLAND_DISPLAY", "wayland-0")
    linux.setenv("XDG_SESSION_TYPE", "wayland")
    assert toolkit._requested_platforms() == ("wayland", None)


def test_other_systems_keep_qt_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert toolkit._requested_platforms() == ("", None)


def test_a_running_application_is_reported_not_replaced(qtbot: QtBot) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ok, detail = toolkit.check_toolkit("libxcb-cursor0")
    assert ok
    assert detail == f"Qt {qVersion()}, platform '{app.platformName()}' (already running)"
    assert QApplication.instance() is app


def test_qt_messages_fold_onto_one_line() -> None:
    assert toolkit._one_line("could not\n  load   the plugin\t'xcb'") == (
        "could not load the plugin 'xcb'"
    )
