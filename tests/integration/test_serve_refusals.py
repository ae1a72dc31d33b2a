"""``tokendesk serve`` refuses to start where it could not serve as asked: one line on standard
error and a non-zero status, never a traceback, and never a server quietly started anyway."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import suppress
from pathlib import Path

import pytest

from desktop.app import open_context
from tests.helpers import serve

# Generous: a loaded machine may take seconds to start Python. A server that starts when it
# should have refused never exits by itself: the test fails at this deadline.
EXIT_TIMEOUT_S = 30.0


def run_to_exit(argv: Sequence[str]) -> tuple[int, str]:
    """Run *argv* until it exits (killed with its process group past the deadline, then the
    test fails); its status and standard error."""
    environment = {**os.environ}
    environment.pop("TOKENDESK_DATABASE", None)
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,
    )
    try:
        _, err = process.communicate(timeout=EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{argv[-4:]} was still serving after {EXIT_TIMEOUT_S} s")
    finally:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, err.decode(errors="replace")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another server listens on, as Granian listens (``SO_REUSEPORT``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def serve_argv(data_dir: Path, listen: str) -> list[str]:
    """``tokendesk serve --listen LISTEN`` on a registry made in *data_dir*."""
    open_context(data_dir, need_keyring=False).close()
    argv = serve.serve_command(data_dir)
    return [*argv[: argv.index("--listen") + 1], listen, *argv[argv.index("--listen") + 2 :]]


@pytest.mark.sqlite_only  # binding comes before the registry matters
def test_a_port_in_use_is_refused(data_dir: Path, taken_port: int) -> None:
    """Granian binds with SO_REUSEPORT: without a check of its own, a second server would start
    and quietly share the port with the first."""
    status, err = run_to_exit(serve_argv(data_dir, f"127.0.0.1:{taken_port}"))
    assert status == 1, err
    lines = err.splitlines()
    assert lines == [
        f"tokendesk: error: cannot listen on 127.0.0.1:{taken_port}: Address already in use"
    ]


@pytest.mark.sqlite_only
def test_an_address_not_of_this_machine_is_refused(data_dir: Path) -> None:
    """192.0.2.1 (TEST-NET-1) is no interface's: one line, not Granian's traceback."""
    status, err = run_to_exit(serve_argv(data_dir, "192.0.2.1:8181"))
    assert status == 1, err
    assert err.splitlines() == [
        "tokendesk: error: cannot listen on 192.0.2.1:8181: Cannot assign requested address"
    ]
