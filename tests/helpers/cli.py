"""The command line run in this process, with captured output, and what its tests compare: the
database's rows before and after, and the small directory most of them start from. The unit
tests hand it the in-memory store; the integration tests leave it to the system keyring."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desktop.app import open_context
from desktop.cli import main
from desktop.paths import database_url
from desktop.secrets.store import SecretStore
from desktop.storage.database import DB_FILENAME


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Cli:
    """``tokendesk --data-dir DIR …`` in this process, with captured output, on *store* (the
    system keyring when None, as a real run picks it)."""

    def __init__(
        self,
        data_dir: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        store: SecretStore | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.store = store
        self._capsys = capsys
        self._monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str | bytes | None = None) -> Result:
        self._capsys.readouterr()
        if stdin is not None:
            data = stdin.encode() if isinstance(stdin, str) else stdin
            self._monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        code = main(["--data-dir", str(self.data_dir), *args], store=self.store)
        out, err = self._capsys.readouterr()
        return Result(code, out, err)

    def ok(self, *args: str, stdin: str | bytes | None = None) -> Result:
        """Exit 0 and nothing on stderr."""
        result = self(*args, stdin=stdin)
        assert result.code == 0, result.err
        assert result.err == ""
        return result

    def refused(self, *args: str, status: int = 2) -> Result:
        """Exit *status* (2, a refusal, unless told), one line on stderr, nothing on stdout,
        nothing changed."""
        before = snapshot(self.data_dir)
        result = self(*args)
        assert result.code == status, (result.out, result.err)
        assert result.out == ""
        lines = result.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tokendesk: error: "), result.err
        assert snapshot(self.data_dir) == before
        return result

    def verify(
        self,
        secret: str | bytes,
        method: str = "GET",
        path: str = "/Loans(42)",
        env: str = "Production",
    ) -> Result:
        """``verify`` with the secret on standard input, as a gateway calls it."""
        return self("verify", "--env", env, method, path, stdin=secret)


def snapshot(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table and the schema version, or {} before there is a database:
    'nothing changed' means this is equal before and after. The registry is the test's: the
    SQLite file in *data_dir*, or the PostgreSQL database ``$TOKENDESK_DATABASE`` names."""
    url = database_url()
    if url is not None:
        return _postgres_snapshot(url)
    path = data_dir / DB_FILENAME
    if not path.exists():
        return {}
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        state = {
            table: connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()  # noqa: S608
            for table in tables
        }
        state["user_version"] = connection.execute("PRAGMA user_version").fetchall()
        return state
    finally:
        connection.close()


def _postgres_snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """:func:`snapshot` of a registry on PostgreSQL (whose version is a table's rows)."""
    import psycopg

    with psycopg.connect(url) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        ]
        return {
            table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)  # noqa: S608
            for table in tables
        }


@dataclass
class Seed:
    token_id: int
    secret: str


def seed(data_dir: Path, store: SecretStore | None) -> Seed:
    """Production (API on), Sandbox (API off), role Reader, eligible Bot, ineligible Newbie,
    and one token of Bot's in Production labelled "nightly import"."""
    context = open_context(data_dir, store=store, database=database_url())
    try:
        service = context.service
        service.add_environment("Production", api_enabled=True)
        service.add_environment("Sandbox", api_enabled=False)
        service.add_role("Reader", ["GET /Loans", "GET /Customers"])
        service.add_agent("Bot", "Reader", has_logged_in=True, signed_agreement=True)
        service.add_agent("Newbie", "Reader")
        issued = service.create_token("Production", "Bot", label="nightly import")
    finally:
        context.close()
    return Seed(issued.token.id, issued.secret)
