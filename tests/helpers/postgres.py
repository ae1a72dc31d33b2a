"""A private PostgreSQL 15 server for the test run, and a fresh database for each test.

The server lives in a temporary folder: ``initdb`` (superuser ``postgres``), then ``pg_ctl``
listening on a unix socket in that folder, trusted, which the tests use (parallel runs on one
machine never meet there), and on a free loopback port that asks for a password, which the
tests of refused logins use. PostgreSQL refuses to run as root: as root the folder is given
to the ``postgres`` system user and the tools run through ``runuser``. Durability is off
(``fsync``), which a throwaway server can afford.

Each test gets a database copied from a template that is already at the current schema
(``CREATE DATABASE … TEMPLATE``), so no test pays for making the schema, and none sees another's
rows; it is dropped when the test ends.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(os.environ.get("TOKENDESK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "postgres"
TEMPLATE = "tokendesk_template"
# Set to run without a server: the PostgreSQL half of the engine-parametrized tests is skipped.
OPT_OUT = "TOKENDESK_TEST_NO_POSTGRES"


class PostgresMissing(RuntimeError):
    """The server cannot be started here (not installed, or it failed): the reason."""


def _runs_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _runuser() -> str | None:
    """util-linux's runuser, found where Debian keeps it even when PATH is empty (as the unit
    tests run in CI)."""
    return shutil.which("runuser") or next(
        (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if os.access(path, os.X_OK)),
        None,
    )


def available() -> str | None:
    """None when a private server can be started here, else why not."""
    if not (BIN / "initdb").is_file() or not (BIN / "pg_ctl").is_file():
        return f"PostgreSQL 15 is not installed ({BIN}/initdb missing: apt-get install postgresql)"
    if _runs_as_root():
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs the postgres system user (apt-get install postgresql)"
        if _runuser() is None:
            return "running as root needs runuser (util-linux)"
    return None


@dataclass
class PostgresServer:
    """One running private server; :meth:`stop` ends it and removes its folder."""

    folder: Path
    port: int  # the loopback port (password logins); it names the socket file too
    _names: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def url(self, dbname: str) -> str:
        """The URL of *dbname* on this server, as a person would pass it to ``--database``."""
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def loopback_url(self, user: str, password: str, dbname: str = "postgres") -> str:
        """*dbname* over the loopback port, where the server checks passwords."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, *statements: str) -> None:
        """Run statements as the superuser on the maintenance database, outside any
        transaction (CREATE and DROP DATABASE refuse one)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def new_database(self, template: str = TEMPLATE) -> str:
        """A fresh database copied from *template*; its name."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def empty_database(self) -> str:
        """A database without any TokenDesk schema (as a team's admin creates one); its name."""
        return self.new_database("template0")

    def drop(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self) -> None:
        """Stop the server (ending every connection, as an upgrade or a failover does) and
        start it again with the same options; returns once it accepts connections."""
        data = str(self.folder / "data")
        _run(["pg_ctl", "-D", data, "-m", "fast", "-l", str(self.folder / "log"), "-w", "restart"])

    def halt(self) -> None:
        """Stop the server and leave it stopped (an outage: connections end, new ones are
        refused) until :meth:`resume`; its folder and databases stay."""
        _run(["pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        """Start a server :meth:`halt` stopped, as it was; returns once it accepts connections."""
        data = str(self.folder / "data")
        options = _options(self.folder, self.port)
        _run(["pg_ctl", "-D", data, "-o", options, "-l", str(self.folder / "log"), "-w", "start"])

    def stop(self) -> None:
        try:
            _run(["pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _run(argv: list[str]) -> None:
    """A PostgreSQL tool from :data:`BIN`, as the postgres user when we are root."""
    command = [str(BIN / argv[0]), *argv[1:]]
    if _runs_as_root():
        command = [str(_runuser()), "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise PostgresMissing(
            f"{argv[0]} failed ({result.returncode}): {(result.stderr or result.stdout).strip()}"
        )


def _options(folder: Path, port: int) -> str:
    """The server's options: its socket in *folder*, *port* on the loopback, durability off."""
    return (
        f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )


def _free_port() -> int:
    """A loopback port nothing listens on now (the server takes it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start() -> PostgresServer:
    """Start a private server with a template database at the current schema."""
    reason = available()
    if reason is not None:
        raise PostgresMissing(reason)
    # Short, under /tmp: a unix socket's path may not be longer than about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="tdpg-", dir="/tmp"))
    if _runs_as_root():
        entry = pwd.getpwnam("postgres")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(folder, _free_port())
    try:
        data = folder / "data"
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256"]
        _run(["initdb", *auth, "-U", SUPERUSER, "-E", "UTF8", "--no-sync", str(data)])
        options = _options(folder, server.port)
        _run(["pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"])
        server.admin(f'CREATE DATABASE "{TEMPLATE}"')
        from desktop.storage.postgres import open_postgres

        open_postgres(server.url(TEMPLATE)).close()
    except BaseException:
        server.stop()
        raise
    return server


ENGINES = ("sqlite", "postgresql")


def parametrize_engines(metafunc: pytest.Metafunc) -> None:
    """Run each test that opens a registry (through the ``engine`` fixture: ``memory_context``,
    ``registry``) once on each engine; a test marked ``sqlite_only`` (it reads what only SQLite
    has: a file, a PRAGMA, a query plan) on SQLite alone, one marked ``postgresql_only`` (it
    needs LISTEN/NOTIFY or a server to restart) on PostgreSQL alone. For a folder's conftest's
    ``pytest_generate_tests``."""
    if "engine" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        metafunc.parametrize("engine", ["sqlite"])
    elif metafunc.definition.get_closest_marker("postgresql_only") is not None:
        metafunc.parametrize("engine", ["postgresql"])
    else:
        metafunc.parametrize("engine", ENGINES)
