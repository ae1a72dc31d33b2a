"""Fixtures for the directory dialog's tabs: a seeded directory on a real database and the
dialog that shows it."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.directory_dialog import DirectoryDialog
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret
from tests.gui.directory.helpers import open_directory, seed


@pytest.fixture
def service(context: Context) -> TokenService:
    return seed(context.service)


@pytest.fixture
def ada_token(service: TokenService) -> IssuedSecret:
    return service.create_token(
        "Production", "Ada", label="dashboard", rotation="monthly", grace="1h"
    )


@pytest.fixture
def directory(qtbot: QtBot, service: TokenService) -> DirectoryDialog:
    return open_directory(qtbot, service)
