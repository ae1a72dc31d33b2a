"""The HTTP server: Granian, its worker processes, and what they share.

Granian was chosen for this (see the project's dependencies): its HTTP parsing is Rust's
``hyper`` (never ours), it refuses a request whose headers outgrow :data:`MAX_HEADER_BYTES` with
431 before Python sees a byte of it, it answered half again as many requests per second as
uvicorn with httptools and uvloop for the same bare application here, and it runs, watches and
stops its worker processes itself: SIGTERM or SIGINT stops accepting, lets the requests in
flight finish, runs the ASGI lifespan's shutdown (which writes the last uses counted) and
exits 0.

Workers are spawned processes (not forked): each opens the registry itself, since neither a
SQLite connection nor a PostgreSQL one may cross a fork.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import socket
import tempfile
from functools import partial

from desktop.server.config import Settings
from desktop.server.metrics import MULTIPROCESS_VARIABLE

log = logging.getLogger(__name__)

# The most the request line and headers may take. A gateway forwards the client's headers
# (cookies among them), so this is generous; a 1 MB header is refused at once.
MAX_HEADER_BYTES = 64 * 1024
# How long a client may take to send its headers (slow-loris connections are closed).
HEADER_READ_TIMEOUT_MS = 10_000
# How long a stop waits for a worker before it is killed.
WORKER_KILL_TIMEOUT_S = 30


def free_port(host: str, port: int = 0) -> int:
    """*port* at *host* if nothing listens there now, else :class:`OSError` naming the address
    (one line for the command line); port 0 picks a free one, here, once, so every worker
    listens on the same one and the log can name it.

    Granian binds with ``SO_REUSEPORT``, so a second server on a port in use would start and
    quietly share it with the first (whose settings may differ): this probe binds without it,
    and fails as a person expects. ``SO_REUSEADDR`` lets a restart reuse a port whose old
    connections linger in TIME_WAIT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            shown = f"[{host}]" if family == socket.AF_INET6 else host
            raise OSError(
                error.errno, f"cannot listen on {shown}:{port}: {error.strerror or error}"
            ) from None
        return int(probe.getsockname()[1])


def _granian_logging(level: int) -> dict[str, object]:
    """Granian's own messages through our handlers (the root logger's), its access log off:
    ours names the token id and never the header that carries the token."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "handlers": {},
        "loggers": {
            "_granian": {"handlers": [], "propagate": True},
            "granian.access": {"handlers": [], "level": logging.CRITICAL + 1, "propagate": False},
        },
    }


def serve(settings: Settings) -> int:
    """Listen and answer until SIGTERM or SIGINT; the exit status."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from desktop.server import worker

    # Spawned, never forked (Linux's default): a worker opens the registry itself, and neither
    # an SQLite connection nor the metrics' mode may be inherited from this process.
    multiprocessing.set_start_method("spawn", force=True)
    port = free_port(settings.host, settings.port)
    settings = _with_port(settings, port)
    metrics_dir = tempfile.mkdtemp(prefix="tokendesk-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = metrics_dir  # read by each worker as it starts
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    try:
        server = Server(
            "tokendesk serve",
            address=settings.host,
            port=port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            http1_settings=HTTP1Settings(
                header_read_timeout=HEADER_READ_TIMEOUT_MS, max_buffer_size=MAX_HEADER_BYTES
            ),
            websockets=False,
            log_access=False,
            log_level=LogLevels.warning if settings.log_level >= logging.INFO else LogLevels.debug,
            log_dictconfig=_granian_logging(settings.log_level),
            workers_kill_timeout=WORKER_KILL_TIMEOUT_S,
            # A worker that dies is started again (Granian stops after a crash loop).
            respawn_failed_workers=True,
        )
        log.info(
            "listening on http://%s:%d (%d worker%s)",
            host,
            port,
            settings.workers,
            "" if settings.workers == 1 else "s",
        )
        server.serve(target_loader=partial(worker.load, settings), wrap_loader=False)
    finally:
        os.environ.pop(MULTIPROCESS_VARIABLE, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    log.info("stopped")
    return 0


def _with_port(settings: Settings, port: int) -> Settings:
    from dataclasses import replace

    return replace(settings, port=port)
