"""``tokendesk --self-test`` against the real keyring, a real data dir and real Qt.

One case runs the checks in-process; the others run ``python -m desktop --self-test`` as a
subprocess, so the environment (no D-Bus session, no display) can be taken away for real.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.secrets.store import CANARY_KEY, KeyringSecretStore
from desktop.selftest import run
from desktop.storage.database import DB_FILENAME, SCHEMA_VERSION

# The self-test checks the SQLite file in the data dir, as the packaged app runs it.
pytestmark = pytest.mark.sqlite_only

CHECKS = ("window toolkit", "data folder", "database", "keyring")


def check_lines(output: str) -> dict[str, str]:
    """{check name: its whole line} for every OK/FAIL line."""
    lines = {}
    for line in output.splitlines():
        status, _, rest = line.partition("  ")
        if status in ("OK", "FAIL"):
            name = rest.strip().partition(":")[0]
            lines[name] = line
    return lines


def self_test(data_dir: Path, **env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--self-test", "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_check_passes_and_the_canary_is_gone(
    keyring_store: KeyringSecretStore, data_dir: Path
) -> None:
    out = io.StringIO()

    code = run(data_dir, out=out)

    lines = check_lines(out.getvalue())
    assert code == 0, out.getvalue()
    assert set(lines) == set(CHECKS)
    assert all(line.startswith("OK") for line in lines.values()), out.getvalue()
    assert "platform 'offscreen'" in lines["window toolkit"]
    assert f"schema version {SCHEMA_VERSION} of {SCHEMA_VERSION}" in lines["database"]
    assert keyring_store.backend_name in lines["keyring"]
    assert "All 4 checks passed" in out.getvalue()
    assert (data_dir / DB_FILENAME).is_file()
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".selftest-")] == []
    assert keyring_store.get(CANARY_KEY) is None


def test_the_command_passes_with_the_keyring(
    keyring_store: KeyringSecretStore, data_dir: Path
) -> None:
    result = self_test(data_dir)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = check_lines(result.stdout)
    assert [line.split()[0] for line in lines.values()] == ["OK"] * 4, result.stdout
    assert keyring_store.get(CANARY_KEY) is None


def test_without_a_session_bus_the_keyring_check_fails_and_says_what_to_do(
    tmp_path: Path, data_dir: Path
) -> None:
    empty_runtime_dir = tmp_path / "run"
    empty_runtime_dir.mkdir(mode=0o700)

    result = self_test(
        data_dir, DBUS_SESSION_BUS_ADDRESS=None, XDG_RUNTIME_DIR=str(empty_runtime_dir)
    )

    assert result.returncode == 1, result.stdout
    lines = check_lines(result.stdout)
    assert lines["keyring"].startswith("FAIL"), result.stdout
    assert "DBUS_SESSION_BUS_ADDRESS" in lines["keyring"]
    assert "start and unlock your desktop's keyring" in lines["keyring"]
    for name in ("window toolkit", "data folder", "database"):
        assert lines[name].startswith("OK"), result.stdout
    assert "1 of 4 checks failed" in result.stdout


def test_a_data_dir_that_cannot_be_written_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    out = io.StringIO()

    code = run(blocker / "data", out=out)

    lines = check_lines(out.getvalue())
    assert code == 1
    assert lines["data folder"].startswith("FAIL")
    assert str(blocker / "data") in lines["data folder"]
    assert "--data-dir" in lines["data folder"]
    assert lines["database"].startswith("FAIL")
    assert "not checked" in lines["database"]
    assert blocker.read_text() == "not a folder\n"


def test_without_a_display_it_checks_offscreen_and_says_so(
    keyring_store: KeyringSecretStore, data_dir: Path
) -> None:
    result = self_test(data_dir, QT_QPA_PLATFORM=None, DISPLAY=None, WAYLAND_DISPLAY=None)

    assert result.returncode == 0, result.stdout + result.stderr
    toolkit = check_lines(result.stdout)["window toolkit"]
    assert toolkit.startswith("OK")
    assert "platform 'offscreen'" in toolkit
    assert "no display" in toolkit


def _unused_display() -> str:
    for number in range(7301, 7400):
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            return f":{number}"
    pytest.skip("no free X display number")


def test_a_display_that_cannot_be_reached_fails_instead_of_aborting(
    keyring_store: KeyringSecretStore, data_dir: Path
) -> None:
    result = self_test(
        data_dir, QT_QPA_PLATFORM=None, DISPLAY=_unused_display(), WAYLAND_DISPLAY=None
    )

    assert result.returncode == 1, result.stdout + result.stderr
    lines = check_lines(result.stdout)
    assert lines["window toolkit"].startswith("FAIL")
    assert "'xcb'" in lines["window toolkit"]
    assert "could not connect to display" in lines["window toolkit"]
    assert "DISPLAY" in lines["window toolkit"]
    for name in ("data folder", "database", "keyring"):
        assert lines[name].startswith("OK"), result.stdout


def test_an_empty_database_file_fails_and_is_left_as_it_is(tmp_path: Path) -> None:
    (tmp_path / DB_FILENAME).write_bytes(b"")
    out = io.StringIO()

    code = run(tmp_path, out=out)

    database = check_lines(out.getvalue())["database"]
    assert code == 1
    assert database.startswith("FAIL") and "restore it from a backup" in database
    assert str(tmp_path / DB_FILENAME) in database
    assert (tmp_path / DB_FILENAME).read_bytes() == b""
