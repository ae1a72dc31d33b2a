"""The directory dialog that shows the seeded directory (the fixtures ``service`` and
``ada_token`` come from tests/gui/conftest.py)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from tests.gui.directory.helpers import open_directory


@pytest.fixture
def directory(qtbot: QtBot, service: TokenService) -> DirectoryDialog:
    return open_directory(qtbot, service)
