"""The window says, as the command line does on standard error, that it made its data private."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import open_context
from desktop.secrets.store import KeyringSecretStore
from desktop.storage.database import DB_FILENAME
from tests.gui.conftest import open_window
from tests.helpers.clock import FakeClock


@pytest.mark.sqlite_only  # the SQLite file's own modes
def test_a_data_dir_others_could_read_is_made_private_and_the_window_says_so(
    qtbot: QtBot, data_dir: Path, keyring_store: KeyringSecretStore, clock: FakeClock
) -> None:
    open_context(data_dir, store=keyring_store, clock=clock).close()
    data_dir.chmod(0o755)
    (data_dir / DB_FILENAME).chmod(0o644)
    context = open_context(data_dir, store=keyring_store, clock=clock)
    try:
        window = open_window(qtbot, context)
        message = window.statusBar().currentMessage()
        assert message.startswith(f"Others could read {data_dir}, {data_dir / DB_FILENAME}: ")
        assert "made private" in message
        window.close()
    finally:
        context.close()
    assert data_dir.stat().st_mode & 0o777 == 0o700
