"""What the private gateways of the tests share (nginx, Caddy and Traefik, each in a module of
its own): their configuration, read from the README's blocks so that what the README shows is
what the tests run; a gateway process with its log in a file; and a client that sends a request
target exactly as written.

The README's blocks speak of TokenDesk at ``127.0.0.1:8181``, the API at ``127.0.0.1:8080`` and
the environment ``Production``; :func:`readme_block` hands a block out with each of those
replaced by the test's own, and refuses one that no longer names them (the test would otherwise
run a configuration other than the one printed).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TOKENDESK_ADDRESS = "127.0.0.1:8181"
API_ADDRESS = "127.0.0.1:8080"
ENVIRONMENT = "Production"
# A test that asks about several environments through one gateway names each request's in this
# header (where the gateway can take the environment from a request: nginx and Caddy).
ENVIRONMENT_HEADER = "X-Test-Environment"
# The API behind each gateway answers with what it was handed, in these response headers.
SEEN_TOKEN_ID = "X-Api-Saw-Token-Id"
SEEN_AGENT = "X-Api-Saw-Agent"
PROTECTED = "the protected resource\n"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 30.0


class GatewayMissing(RuntimeError):
    """The gateway's program is not installed here."""


def readme_block(name: str, replacements: Mapping[str, str]) -> str:
    """The fenced block the README marks ``<!-- gateway-config: NAME -->``, each key of
    *replacements* replaced by its value; every key must occur in the block."""
    text = README.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- gateway-config: {re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", text, re.DOTALL
    )
    if found is None:
        raise AssertionError(f"README.md has no block marked 'gateway-config: {name}'")
    block = found.group(1) + "\n"
    for old, new in replacements.items():
        if old not in block:
            raise AssertionError(f"README.md's {name} block no longer holds {old!r}")
        block = block.replace(old, new)
    return block


def binary(name: str, *candidates: Path) -> str:
    """The gateway's program: on PATH, or at one of *candidates*. Missing, it fails the test in
    CI (the gateways are part of what CI tests: .ci/setup --dev installs them) and skips it
    elsewhere, saying how to install it."""
    found = shutil.which(name) or next(
        (str(path) for path in candidates if os.access(path, os.X_OK)), None
    )
    if found is not None:
        return found
    message = f"{name} is not installed (.ci/setup --dev installs it)"
    if os.environ.get("CI"):
        pytest.fail(message + "; in CI the gateway tests never skip")
    pytest.skip(message)


def free_port() -> int:
    """A loopback port nothing listens on now (the gateway takes it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Answer:
    """What a client got through the gateway."""

    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def reason(self) -> str | None:
        """TokenDesk's reason, when the body is its JSON answer (a refusal passed on)."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        if isinstance(data, dict) and data.get("status") == self.status:
            return str(data.get("reason"))
        return None


@dataclass
class Gateway:
    """A running gateway: the address clients use, its process and its folder."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    folder: Path
    log_path: Path
    environment_header: bool = False  # it takes the environment from ENVIRONMENT_HEADER
    remove_folder: bool = True  # the folder is the gateway's own, removed when it stops
    stopped: bool = field(default=False, init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def ask(
        self,
        method: str,
        target: str,
        token: str | None = None,
        *,
        environment: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Send *method* *target* (the request target exactly as given: no quoting, no
        normalizing) with *token* as a bearer token; *environment* goes in
        :data:`ENVIRONMENT_HEADER` for a gateway that reads it there."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if environment is not None:
            sent[ENVIRONMENT_HEADER] = environment
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in sent.items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            body = response.read()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            connection.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stopped when a ``with`` block on it ends, also on failure."""
        self.stop()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to its process group if it has not gone within a while."""
        if self.stopped:
            return
        self.stopped = True
        try:
            stop_process(self.process)
        finally:
            if self.remove_folder:
                shutil.rmtree(self.folder, ignore_errors=True)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)
    # Anything it started (nginx's workers) goes with its group.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def launch(
    name: str,
    argv: Sequence[str],
    folder: Path,
    port: int,
    *,
    environment_header: bool = False,
    env: Mapping[str, str] | None = None,
) -> Gateway:
    """Start *argv* (in the foreground, its own process group, output to a log file in
    *folder*) and wait until it answers HTTP on *port*; stopped again if it never does."""
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            list(argv),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    gateway = Gateway(name, port, process, folder, log_path, environment_header)
    try:
        wait_until_answering(gateway)
    except BaseException:
        gateway.stop()
        raise
    return gateway


def wait_until_answering(gateway: Gateway, timeout: float = START_TIMEOUT_S) -> None:
    """Until the gateway answers an HTTP request on its port (whatever the answer)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        code = gateway.process.poll()
        if code is not None:
            raise RuntimeError(f"{gateway.name} exited with {code}:\n{gateway.log()}")
        try:
            gateway.ask("GET", "/.gateway-ready")
        except OSError as error:
            last = error
        else:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{gateway.name} never answered ({last}):\n{gateway.log()}")
        time.sleep(0.05)


def poll(check: object, what: str, timeout: float = 10.0) -> None:
    """Call *check* until it returns true, or fail saying *what* was awaited: waiting for
    something is polling with a generous deadline, never a fixed sleep."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)
