"""``--database URL`` and ``$TOKENDESK_DATABASE``: every command on a PostgreSQL registry, and a
registry that cannot be used is one line and status 4, never a traceback or a password."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.cli.common import EXIT_DATABASE, EXIT_USAGE
from desktop.storage.database import DB_FILENAME
from tests.helpers.postgres import PostgresServer
from tests.unit.cli.conftest import Cli


@pytest.fixture
def url(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.new_database()
    yield postgres_server.url(name)
    postgres_server.drop(name)


def test_commands_work_on_the_registry_the_option_or_the_variable_names(
    cli: Cli, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.ok("--database", url, "env", "add", "Production", "--api-enabled")
    monkeypatch.setenv("TOKENDESK_DATABASE", url)
    assert [env["name"] for env in cli.ok("env", "list", "--json").json()] == ["Production"]
    assert not (cli.data_dir / DB_FILENAME).exists()  # the SQLite file was never made
    monkeypatch.delenv("TOKENDESK_DATABASE")
    assert cli.ok("env", "list", "--json").json() == []  # without it: the data dir's file
    assert (cli.data_dir / DB_FILENAME).exists()


def one_error_line(cli: Cli, *args: str, status: int) -> str:
    result = cli(*args)
    assert result.code == status, result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tokendesk: error: "), result.err
    assert "hunter2" not in result.err and "Traceback" not in result.err
    return lines[0]


def test_a_server_that_is_not_running_is_one_line_and_status_4(cli: Cli, tmp_path: Path) -> None:
    url = f"postgresql://alice:hunter2@/tokens?host={tmp_path}&port=5999"
    line = one_error_line(cli, "--database", url, "env", "list", status=EXIT_DATABASE)
    assert line.startswith(f"tokendesk: error: cannot reach PostgreSQL alice@{tmp_path}:5999/")


def test_a_missing_database_is_one_line_and_status_4(
    cli: Cli, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENDESK_DATABASE", postgres_server.url("nowhere"))
    monkeypatch.setenv("PGPASSWORD", "hunter2")
    line = one_error_line(cli, "token", "list", status=EXIT_DATABASE)
    assert "/nowhere does not exist: create it" in line


def test_a_wrong_password_is_one_line_and_status_4(
    cli: Cli, postgres_server: PostgresServer
) -> None:
    url = postgres_server.loopback_url("postgres", "hunter2")
    line = one_error_line(cli, "--database", url, "env", "list", status=EXIT_DATABASE)
    assert "refused the login" in line


@pytest.mark.parametrize("where", ["option", "variable"])
def test_anything_but_a_postgresql_url_is_refused(
    cli: Cli, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args: tuple[str, ...] = ("env", "list")
    if where == "option":
        args = ("--database", "/tmp/tokens.sqlite3", *args)
    else:
        monkeypatch.setenv("TOKENDESK_DATABASE", "mysql://db/tokens")
    line = one_error_line(cli, *args, status=EXIT_USAGE)
    source = "--database" if where == "option" else "$TOKENDESK_DATABASE"
    assert line.startswith(f"tokendesk: error: {source} takes a PostgreSQL URL")
