"""The command line in this process on a temporary SQLite file and an in-memory secret store
(``main(argv, store=…)``): no keyring, no D-Bus. The integration suite runs the same program
against the real keyring and as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.secrets.memory import InMemorySecretStore
from tests.helpers import cli as shared
from tests.helpers.cli import Seed as Seed
from tests.helpers.cli import seed


class Cli(shared.Cli):
    """``tokendesk --data-dir DIR …`` on the in-memory store, with captured output."""

    store: InMemorySecretStore

    def __init__(
        self,
        data_dir: Path,
        store: InMemorySecretStore,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        super().__init__(data_dir, capsys, monkeypatch, store)


@pytest.fixture
def cli(
    data_dir: Path,
    memory_store: InMemorySecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.delenv("TOKENDESK_LOG_DIR", raising=False)
    monkeypatch.delenv("TOKENDESK_LOG_LEVEL", raising=False)
    return Cli(data_dir, memory_store, capsys, monkeypatch)


@pytest.fixture
def seeded(cli: Cli) -> Seed:
    """Production (API on), Sandbox (API off), role Reader, eligible Bot, ineligible Newbie,
    and one token of Bot's in Production labelled "nightly import"."""
    return seed(cli.data_dir, cli.store)
