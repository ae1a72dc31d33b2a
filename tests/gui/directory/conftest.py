"""The directory dialog that shows the seeded directory (the fixtures ``service`` and
``ada_token`` come from tests/gui/conftest.py)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop.gui import messages
from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from tests.gui.directory.helpers import SaveAnswers, open_directory


@pytest.fixture
def directory(qtbot: QtBot, service: TokenService) -> DirectoryDialog:
    return open_directory(qtbot, service)


@pytest.fixture(autouse=True)
def save_answers(monkeypatch: pytest.MonkeyPatch) -> SaveAnswers:
    """Unsaved changes are discarded unless a test answers otherwise; no box is shown."""
    answers = SaveAnswers()
    monkeypatch.setattr(messages, "ask_save", answers)
    return answers
