"""A real ``tokendesk serve`` for a test: a subprocess on a free loopback port, ready once its
``/healthz`` answers, stopped as a service manager stops it (SIGTERM, then SIGKILL).

    with serving(data_dir) as server:             # or serving(data_dir, database=url)
        server.auth("Production", secret, "GET", "/Loans")   # an httpx.Response
        server.wait_caught_up(cursor)              # the index reflects that change-log entry
    server.exit_code                               # 0 after a graceful stop

The server is started with ``--listen 127.0.0.1:0`` and its address read from the line it logs
(``listening on http://127.0.0.1:40123``), so parallel runs never race for a port. Its standard
error goes to a file (:attr:`ServeProcess.log_path`), never a pipe that could fill and block it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

from desktop.app import open_context
from desktop.storage.database import DB_FILENAME

# Generous: a loaded 2-core machine may take seconds to start Python and open the registry.
START_TIMEOUT_S = 30.0
WAIT_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0
_LISTENING = re.compile(r"listening on (http://\S+)")


class ServeFailed(RuntimeError):
    """The server exited, or never said where it listens, or never became ready."""


class ServeProcess:
    """One running ``tokendesk serve`` process (and the workers it started)."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self.base_url = ""
        self.exit_code: int | None = None
        self._final_log: str | None = None

    # ----------------------------------------------------------------- asking it

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """``GET path`` on a new connection (so each request may reach any worker)."""
        return self.request("GET", path, headers)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        with httpx.Client(timeout=WAIT_TIMEOUT_S) as client:
            return client.request(method, self.base_url + path, headers=headers)

    def auth(
        self,
        environment: str,
        token: str | None,
        method: str,
        path: str,
        *,
        forwarded: bool = False,
    ) -> httpx.Response:
        """Ask ``/v1/auth/{environment}`` as nginx asks it (``X-Original-*``), or as Traefik and
        Caddy ask it with *forwarded* (``X-Forwarded-*``); *environment* is URL-encoded here."""
        from urllib.parse import quote

        prefix = "X-Forwarded-" if forwarded else "X-Original-"
        headers = {f"{prefix}Method": method, prefix + ("Uri" if forwarded else "URI"): path}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.get("/v1/auth/" + quote(environment, safe=""), headers)

    def health(self) -> tuple[int, dict[str, Any]]:
        """``/healthz``: its status and JSON body."""
        response = self.get("/healthz")
        return response.status_code, response.json()

    def metrics(self) -> str:
        return self.get("/metrics").text

    def log(self) -> str:
        """What the server wrote to standard error so far."""
        if self._final_log is not None:
            return self._final_log
        return self.log_path.read_text(errors="replace")

    # ----------------------------------------------------------------- waiting

    def wait_until_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until it has said where it listens and ``/healthz`` answers 200."""
        deadline = time.monotonic() + timeout
        while not self.base_url:
            found = _LISTENING.search(self.log())
            if found is not None:
                self.base_url = found.group(1)
                break
            self._check_alive()
            if time.monotonic() > deadline:
                raise ServeFailed(f"never said where it listens:\n{self.log()}")
            time.sleep(0.05)
        self.wait_for(lambda status, _: status == 200, "a healthy /healthz", deadline)

    def wait_caught_up(self, cursor: int, timeout: float = WAIT_TIMEOUT_S) -> None:
        """Until every worker's index reflects the change log up to *cursor* (what
        ``TokenService.change_cursor()`` said after a write): ``/healthz``'s ``changes``."""
        self.wait_for(
            lambda _, body: int(body.get("changes", -1)) >= cursor,
            f"changes >= {cursor}",
            time.monotonic() + timeout,
        )

    def wait_for_health(self, status: int, timeout: float = 60.0) -> dict[str, Any]:
        """Until ``/healthz`` answers *status* (503 while the registry is unreachable past the
        staleness bound, 200 once it healed); its body."""
        return self.wait_for(
            lambda answered, _: answered == status,
            f"/healthz {status}",
            time.monotonic() + timeout,
        )

    def wait_for(self, done: Any, what: str, deadline: float) -> dict[str, Any]:
        """Poll ``/healthz`` until ``done(status, body)``; its last body."""
        last: object = None
        while True:
            self._check_alive()
            try:
                status, body = self.health()
            except (httpx.HTTPError, ValueError) as error:
                last = error
            else:
                last = (status, body)
                if done(status, body):
                    return body
            if time.monotonic() > deadline:
                raise ServeFailed(f"waited for {what}; last answer {last!r}:\n{self.log()}")
            time.sleep(0.05)

    def _check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ServeFailed(f"tokendesk serve exited with {code}:\n{self.log()}")

    # ----------------------------------------------------------------- stopping

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stopped, and its log file removed, when a ``with`` block on it ends (also on
        failure)."""
        self.stop()
        self.discard_log()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM (a graceful stop: requests in flight finish, usage is written), then SIGKILL
        to the whole process group if it has not exited within *timeout*; its exit code."""
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        # Workers that outlived their parent (it was killed) go with the group.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.exit_code = self.process.returncode
        return self.exit_code

    def discard_log(self) -> None:
        """Keep what it logged in memory (:meth:`log` still answers) and remove the file."""
        self._final_log = self.log()
        with suppress(OSError):
            self.log_path.unlink()


def serve_command(
    data_dir: Path,
    *,
    database: str | None = None,
    workers: int = 1,
    max_staleness: float | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The argv of ``tokendesk serve`` on a free loopback port, from this interpreter."""
    argv = [sys.executable, "-m", "desktop", "--data-dir", str(data_dir)]
    if database is not None:
        argv += ["--database", database]
    argv += ["serve", "--listen", "127.0.0.1:0", "--workers", str(workers)]
    if max_staleness is not None:
        argv += ["--max-staleness", str(max_staleness)]
    return [*argv, *extra]


def start(
    data_dir: Path,
    *,
    database: str | None = None,
    workers: int = 1,
    max_staleness: float | None = None,
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> ServeProcess:
    """Start ``tokendesk serve`` for *data_dir* (its SQLite file) or *database* (a PostgreSQL
    URL) and wait until it is ready. *command* replaces ``python -m desktop`` (a frozen
    bundle's ``tokendesk``). The caller stops it, or a ``with`` block on it does."""
    if database is None and not (data_dir / DB_FILENAME).exists():
        # serve refuses a data dir without a registry: a test's fresh one gets an empty one.
        open_context(data_dir, need_keyring=False).close()
    argv = serve_command(
        data_dir, database=database, workers=workers, max_staleness=max_staleness, extra=extra
    )
    if command is not None:
        argv = [*command, *argv[3:]]
    environment = {**os.environ, **(env or {})}
    # This run's choice of registry is the command line's, never one the test run inherited.
    environment.pop("TOKENDESK_DATABASE", None)
    handle, name = tempfile.mkstemp(prefix="tokendesk-serve-", suffix=".log")
    log_path = Path(name)
    with os.fdopen(handle, "wb") as log_file:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,  # its own process group: a kill takes its workers too
        )
    server = ServeProcess(process, log_path)
    try:
        server.wait_until_ready()
    except BaseException:
        server.stop()
        server.discard_log()
        raise
    return server


# ``with serving(…) as server:`` reads as what it is; a ServeProcess stops itself at the end.
serving = start


def body(response: httpx.Response) -> tuple[int, str]:
    """An answer's status and reason, as ``tokendesk verify --json`` gives them."""
    data = json.loads(response.text)
    assert data["status"] == response.status_code
    return int(data["status"]), str(data["reason"])
