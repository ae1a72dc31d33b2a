"""The window says which registry is open: a person's file or a team's server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop.app import Context, open_context
from desktop.gui.notices import short_registry_name
from desktop.secrets.store import KeyringSecretStore
from tests.gui.conftest import open_window
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_three_agents


@pytest.fixture
def opened(
    data_dir: Path, keyring_store: KeyringSecretStore, clock: FakeClock, registry: str | None
) -> Iterator[Context]:
    context = open_context(data_dir, store=keyring_store, clock=clock, database=registry)
    seed_three_agents(context.service)
    yield context
    context.close()


def test_the_status_bar_names_the_registry(
    qtbot: QtBot, opened: Context, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(opened.data_dir.parent))  # the file is in the home folder
    window = open_window(qtbot, opened)
    label = window.findChild(QLabel, "registryLabel")
    assert label is window.registry_label
    assert label.isVisible()
    name = opened.registry_name
    if engine == "sqlite":
        assert label.text() == "~/data/tokendesk.sqlite3"
    else:
        assert label.text() == name
        assert label.text().startswith("PostgreSQL postgres@")
    assert name in label.toolTip()
    assert window.windowTitle() == "Production — TokenDesk"  # the title names the environment
    window.close()


def test_only_a_path_in_the_home_folder_is_shortened() -> None:
    home = Path("/home/alice")
    assert short_registry_name("/home/alice/.local/x.sqlite3", home) == "~/.local/x.sqlite3"
    assert short_registry_name("/home/alicia/x.sqlite3", home) == "/home/alicia/x.sqlite3"
    assert short_registry_name("/srv/x.sqlite3", home) == "/srv/x.sqlite3"
    name = "PostgreSQL alice@db:5432/tokens"
    assert short_registry_name(name, home) == name
