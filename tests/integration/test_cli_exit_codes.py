"""Exit statuses a script can act on, and one line on standard error for each failure, from
``tokendesk`` run as a real process: 0 done, 1 an operation failed, 2 bad input or a refusal,
3 the keyring cannot be used, 4 the database cannot be used (here: an empty file, and a disk
that fills up during ``rotate-due``)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.app import open_context
from desktop.paths import database_url
from desktop.storage.database import DB_FILENAME
from tests.helpers.cli import Seed, seed, snapshot

# The child that runs ``tokendesk`` on a file limited to its current size: SQLite then answers
# "database or disk is full" (SQLITE_FULL) as on a disk with no space left.
FULL_DISK = (
    "import sys\n"
    "from desktop.storage import database\n"
    "database.PRAGMAS['max_page_count'] = int(sys.argv.pop(1))\n"
    "from desktop.cli import main\n"
    "sys.exit(main())\n"
)


def tokendesk(
    data_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tokendesk: error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


@pytest.fixture
def seeded(data_dir: Path) -> Seed:
    return seed(data_dir, None)


def test_0_done_and_1_failed(data_dir: Path, seeded: Seed) -> None:
    assert tokendesk(data_dir, "env", "list").returncode == 0
    verify = ["verify", "--env", "Production"]
    assert tokendesk(data_dir, *verify, "GET", "/Loans", stdin=seeded.secret).returncode == 0
    denied = tokendesk(data_dir, *verify, "DELETE", "/Loans", stdin=seeded.secret)
    assert (denied.returncode, denied.stdout[:4]) == (1, "403 ")


@pytest.mark.parametrize(
    "argv",
    [["env", "enable", "Nowhere"], ["token", "show", "twelve"], ["token", "delete", "ID"]],
    ids=["not-found", "usage", "rules"],
)
def test_2_bad_input_or_refused(data_dir: Path, seeded: Seed, argv: list[str]) -> None:
    before = snapshot(data_dir)
    result = tokendesk(data_dir, *[str(seeded.token_id) if a == "ID" else a for a in argv])
    assert result.returncode == 2
    one_error_line(result)
    assert snapshot(data_dir) == before


def test_3_the_keyring_cannot_be_used(data_dir: Path, seeded: Seed, tmp_path: Path) -> None:
    no_keyring = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
    before = snapshot(data_dir)
    result = tokendesk(data_dir, "token", "refresh", str(seeded.token_id), env=no_keyring)
    assert result.returncode == 3
    assert "keyring" in one_error_line(result)
    assert snapshot(data_dir) == before


@pytest.mark.sqlite_only  # the SQLite file's own modes
def test_wider_modes_are_narrowed_with_one_warning_line(data_dir: Path, seeded: Seed) -> None:
    path = data_dir / DB_FILENAME
    data_dir.chmod(0o755)
    path.chmod(0o644)
    result = tokendesk(data_dir, "env", "list")
    assert result.returncode == 0
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "made private" in result.stderr and str(path) in result.stderr
    assert (data_dir.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    assert tokendesk(data_dir, "env", "list").stderr == ""  # said once, not on every run


@pytest.mark.sqlite_only  # a damaged SQLite file
def test_4_an_empty_database_file_is_refused_not_replaced(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    path.write_bytes(b"")
    result = tokendesk(data_dir, "env", "list")
    assert result.returncode == 4
    line = one_error_line(result)
    assert f"the database {path} is damaged" in line and "restore it from a backup" in line
    assert path.read_bytes() == b""


@pytest.mark.sqlite_only  # SQLite's page limit stands in for a full disk
def test_4_a_disk_that_fills_up_during_rotate_due(data_dir: Path, seeded: Seed) -> None:
    """Each rotation writes rows; on a full disk the first that needs a page fails, and the
    run stops with one line: no traceback, no "cannot rollback"."""
    context = open_context(data_dir, database=database_url())
    try:
        for number in range(40):
            context.service.create_token("Production", "Bot", label=f"{number}", rotation="daily")
    finally:
        context.close()
    connection = sqlite3.connect(data_dir / DB_FILENAME)
    connection.execute("UPDATE token SET next_rotation_at = '2000-01-01 00:00:00'")
    connection.commit()
    connection.execute("VACUUM")  # every page as full as it gets
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.close()

    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(pages), "--data-dir", str(data_dir), "rotate-due"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr and "rollback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"tokendesk: error: the disk holding {data_dir} is full: free some space, then try again"
    )
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert tokendesk(data_dir, "token", "list").returncode == 0  # and it still opens
