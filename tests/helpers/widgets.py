"""Reaching a dialog's widgets by object name, as a user reaches them by sight."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot


def find(dialog: QWidget, kind: type, name: str) -> Any:
    """The child of that type and object name; the test fails when there is none. Typed Any:
    the tests chain Qt's lookups on it (item(), currentItem(), widget()), which PySide6 types as
    Optional where a missing one should simply fail the test."""
    found = dialog.findChild(kind, name)
    assert found is not None, name
    return found


def click(qtbot: QtBot, dialog: QWidget, name: str) -> None:
    """Click the named push button with the mouse; it must be enabled."""
    button = find(dialog, QPushButton, name)
    assert button.isEnabled(), name
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def shown(dialog: QWidget, name: str) -> bool:
    """Whether the named label is not hidden (its window need not be on screen)."""
    return not find(dialog, QLabel, name).isHidden()
