"""The runs that are not commands: the window, ``--demo`` and ``--self-test``, reached through
``main`` with the parts they would start replaced, and what a trimmed build says."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from desktop import app
from desktop.cli import main, window
from desktop.secrets.memory import InMemorySecretStore


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Stand-ins for the window's run and desktop.selftest: what was started, with what."""
    calls: list[tuple[str, object]] = []

    def run_window(data_dir: Path, demo: bool, database: str | None = None) -> int:
        calls.append(("window", (data_dir, demo) if database is None else (data_dir, database)))
        return 0

    def run(data_dir: Path) -> int:
        calls.append(("self-test", data_dir))
        return 1

    parts = {"desktop.gui.launch": SimpleNamespace(), "desktop.selftest": SimpleNamespace(run=run)}
    monkeypatch.setattr(window, "optional_module", lambda name, what: parts[name])
    monkeypatch.setattr(app, "run_window", run_window)
    return calls


def test_no_command_opens_the_window(data_dir: Path, started: list[tuple[str, object]]) -> None:
    assert main(["--data-dir", str(data_dir)]) == 0
    assert started == [("window", (data_dir, False))]


def test_the_window_opens_on_the_registry_the_option_or_the_variable_names(
    data_dir: Path, started: list[tuple[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://alice@db:5432/tokens"
    assert main(["--data-dir", str(data_dir), "--database", url]) == 0
    monkeypatch.setenv("TOKENDESK_DATABASE", url + "2")
    assert main(["--data-dir", str(data_dir)]) == 0
    assert started == [("window", (data_dir, url)), ("window", (data_dir, url + "2"))]


def test_self_test_returns_its_status(data_dir: Path, started: list[tuple[str, object]]) -> None:
    assert main(["--self-test", "--data-dir", str(data_dir)]) == 1
    assert started == [("self-test", data_dir)]


def test_demo_checks_the_store_first(
    data_dir: Path,
    memory_store: InMemorySecretStore,
    started: list[tuple[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--demo", "--data-dir", str(data_dir)], store=memory_store) == 0
    assert started == [("window", (data_dir, True))]

    memory_store.available = False
    capsys.readouterr()
    assert main(["--demo", "--data-dir", str(data_dir)], store=memory_store) == 3
    err = capsys.readouterr().err
    assert err.startswith("tokendesk: error: ") and "unavailable" in err
    assert len(started) == 1  # the window was not opened


def test_demo_and_self_test_take_no_command(
    data_dir: Path, started: list[tuple[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data-dir", str(data_dir), "--self-test", "env", "list"]) == 2
    assert "take no command" in capsys.readouterr().err
    assert main(["--demo", "--self-test"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert started == []


def test_a_missing_part_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert window.optional_module("desktop.no_such_part", "the gadget") is None
    assert capsys.readouterr().err == (
        "tokendesk: error: the gadget is not available in this installation "
        "(desktop.no_such_part is missing)\n"
    )


@pytest.mark.parametrize(
    "failure",
    [
        ImportError("libEGL.so.1: cannot open shared object file"),
        ModuleNotFoundError("No module named 'shiboken6'", name="shiboken6"),
    ],
)
def test_a_part_that_cannot_load_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], failure: ImportError
) -> None:
    def import_module(name: str) -> ModuleType:
        raise failure

    monkeypatch.setattr(importlib, "import_module", import_module)
    assert window.optional_module("desktop.gui.launch", "the desktop window") is None
    assert (
        capsys.readouterr().err == f"tokendesk: error: the desktop window cannot start: {failure}\n"
    )


def test_the_window_without_its_toolkit_fails_with_status_1(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(name: str) -> ModuleType:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    monkeypatch.setattr(importlib, "import_module", missing)
    assert main(["--data-dir", str(data_dir)]) == 1
    assert "not available in this installation" in capsys.readouterr().err
