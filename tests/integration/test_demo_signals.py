"""``tokendesk --demo`` stopped by a signal cleans up as when its window is closed: its secrets
leave the keyring and its temporary data dir is removed. A real process on the offscreen
platform and the private keyring, stopped the ways a terminal, a session manager or a service
manager stops one."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.secrets.store import KeyringSecretStore
from desktop.services.journal import secret_key
from desktop.storage.database import DB_FILENAME

READY = "demo window open on "
WAIT_SECONDS = 60  # a guard for a loaded machine, not a measurement


def wait_for_line(log: Path, text: str, process: subprocess.Popen[str]) -> str:
    """The first line of *log* holding *text*, once the process has written it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo ended early ({process.returncode}): {process.communicate()}")
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                if text in line:
                    return line
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"the demo never said {text!r}")


def keys_of(database: Path) -> list[str]:
    """Every keyring entry the demo's tokens may have: each generation of each token."""
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute("SELECT uuid, generation FROM token").fetchall()
    finally:
        connection.close()
    return [secret_key(uuid, g) for uuid, generation in rows for g in range(generation + 1)]


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stopped_demo_removes_its_secrets_and_its_data_dir(
    stop: str, tmp_path: Path, keyring_store: KeyringSecretStore
) -> None:
    number = getattr(signal, stop, None)
    if number is None:
        pytest.skip(f"{stop} does not exist here")
    temporary, logs = tmp_path / "tmp", tmp_path / "logs"
    temporary.mkdir()
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        TMPDIR=str(temporary),
        TOKENDESK_LOG_DIR=str(logs),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = wait_for_line(logs / "tokendesk.log", READY, process)
        data_dir = Path(line.split(READY, 1)[1])
        assert data_dir.parent == temporary
        keys = keys_of(data_dir / DB_FILENAME)
        assert keys and any(keyring_store.get(key) is not None for key in keys)

        process.send_signal(number)
        _, err = process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 128 + number, err
    assert [keyring_store.get(key) for key in keys] == [None] * len(keys)
    assert list(temporary.iterdir()) == []
    assert "Traceback" not in err
