"""``main``: the top-level options, every outcome as an exit status and one line, the log file
each run writes, and logging left as it was found."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from desktop import __version__
from desktop.cli import env, main
from desktop.domain import tokens
from desktop.domain.errors import (
    Conflict,
    DatabaseError,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    RuleViolation,
    SchemaTooNew,
    SecretMismatch,
    SecretStoreUnavailable,
)
from desktop.services.tokens import TokenService
from desktop.storage.database import DB_FILENAME
from tests.unit.cli.conftest import Cli, Seed

NOT_UTF8 = b"Z\xfcrich".decode("utf-8", "surrogateescape")


def log_text(folder: Path) -> str:
    return (folder / "tokendesk.log").read_text(encoding="utf-8")


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: tokendesk ")
    for noun in ("env", "role", "agent", "token", "verify", "rotate-due", "audit"):
        assert f"\n    {noun} " in text
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tokendesk {__version__}\n"


def test_usage_errors_touch_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "token", "show", "twelve"]) == 2
    assert main(["--data-dir", str(tmp_path), "env", "add", NOT_UTF8]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("tokendesk: error: ") for line in err)
    assert "UTF-8" in err[1]
    assert list(tmp_path.iterdir()) == []  # no database, no log


def test_each_run_is_logged_in_the_data_dir_without_secrets(cli: Cli, seeded: Seed) -> None:
    cli.ok("env", "list")
    cli.refused("env", "add", "Production")
    created = cli("token", "create", "--env", "Production", "--agent", "Bot", "--json")
    text = log_text(cli.data_dir)
    assert f"INFO desktop.cli.program: tokendesk {__version__}: env list\n" in text
    assert "refused: an environment named 'Production' already exists" in text
    assert "token create" in text
    for secret in (seeded.secret, created.json()["secret"]):
        assert secret not in text
        assert secret[len(tokens.PREFIX) :][:16] not in text


def test_the_log_dir_variable_wins(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENDESK_LOG_DIR", str(tmp_path / "logs"))
    cli.ok("env", "list")
    assert "env list" in log_text(tmp_path / "logs")
    assert not (cli.data_dir / "tokendesk.log").exists()


def test_logging_is_left_as_it_was(cli: Cli) -> None:
    root, ours = logging.getLogger(), logging.getLogger("desktop")
    before = (list(root.handlers), root.level, ours.level)
    cli.ok("env", "list")
    cli.refused("env", "enable", "Nowhere")
    assert (list(root.handlers), root.level, ours.level) == before


def test_a_damaged_database_fails_with_status_4(cli: Cli) -> None:
    path = cli.data_dir / DB_FILENAME
    path.write_bytes(b"this is not a database, " * 100)
    result = cli("env", "list")
    assert (result.code, result.out) == (4, "")
    assert result.err.startswith(f"tokendesk: error: the database {path} is damaged ")
    assert "restore it from a backup" in result.err and len(result.err.splitlines()) == 1


def test_a_data_dir_that_is_a_file_fails_with_status_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["--data-dir", str(blocker), "env", "list"]) == 4
    err = capsys.readouterr().err
    assert err == f"tokendesk: error: {blocker} is not a folder\n"


def fail_with(error: BaseException) -> object:
    def handler(service: TokenService, args: argparse.Namespace) -> int:
        raise error

    return handler


@pytest.mark.parametrize(("error", "status"), [(KeyboardInterrupt(), 130), (BrokenPipeError(), 1)])
def test_interrupted_and_broken_pipe(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, error: BaseException, status: int
) -> None:
    monkeypatch.setattr(env, "list_", fail_with(error))
    result = cli("env", "list")
    assert (result.code, result.err) == (status, "")


@pytest.mark.expect_log("unexpected error", level="CRITICAL", logger="desktop.cli")
def test_an_unexpected_error_propagates_and_is_logged(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tokens.generate()
    monkeypatch.setattr(env, "list_", fail_with(RuntimeError(f"bug near {secret}")))
    with pytest.raises(RuntimeError):
        cli("env", "list")
    text = log_text(cli.data_dir)
    assert "CRITICAL desktop.cli.program: unexpected error" in text
    assert "RuntimeError: bug near tdk_[masked]" in text
    assert secret not in text


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidInput("invalid interval 'x'"), 2),
        (NotFound("unknown token 3"), 2),
        (RuleViolation("agent Bot may not be given tokens"), 2),
        (Conflict("token 3 is being changed elsewhere; try again"), 2),
        (SecretStoreUnavailable("the keyring is locked"), 3),
        (SecretMismatch("the keyring's secret of token 3 does not match"), 1),
        (DatabaseError("the database x is damaged"), 4),
        (DatabaseUnavailable("the disk holding x is full"), 4),
        (SchemaTooNew("the database x has schema version 9"), 4),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_outcome_has_its_exit_status_and_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    monkeypatch.setattr(env, "list_", fail_with(error))
    result = cli("env", "list")
    assert (result.code, result.out) == (status, "")
    assert result.err.startswith("tokendesk: error: ") and str(error) in result.err
    assert len(result.err.splitlines()) == 1


def test_help_and_the_readme_state_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    for status, words in [
        (0, "done"),
        (1, "an operation failed"),
        (2, "bad input"),
        (3, "the keyring is unavailable"),
        (4, "the database cannot be used"),
    ]:
        assert f"\n  {status}  {words}" in text
        assert f"\n| {status} | {words}" in readme


def test_the_store_is_reached_only_by_commands_that_handle_a_secret(cli: Cli, seeded: Seed) -> None:
    cli.store.available = False
    cli.ok("env", "list")
    cli.ok("audit", "--limit", "1")
    cli.ok("token", "show", str(seeded.token_id))
    assert "unavailable" in cli.refused("token", "refresh", str(seeded.token_id), status=3).err
