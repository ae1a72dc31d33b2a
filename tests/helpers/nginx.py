"""A private nginx in front of a protected static file, asking ``tokendesk serve`` first: the
README's ``auth_request`` block (see :func:`tests.helpers.gateway.readme_block`) on a free
loopback port, everything it writes (pid, logs, temporary files) in the test's folder, in the
foreground (``daemon off``), so stopping it is signalling one process group.

The API behind it is the same nginx on a unix socket in that folder: ``root`` and ``try_files``
serve one file for every path (never ``return``, which would run before ``auth_request`` and
let every request through), and its response headers repeat the ``X-TokenDesk-*`` headers it
was handed, which is how a test sees what reached the API.

    with running("127.0.0.1:40123") as gateway:   # where tokendesk serve listens
        gateway.ask("GET", "/Loans(42)", token)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.helpers import gateway as common
from tests.helpers.gateway import Gateway

BINARY_CANDIDATES = (Path("/usr/sbin/nginx"),)

_HARNESS = """\
{user}worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;
    default_type text/plain;

    # The API: one static file for every method and path, and what it was handed, repeated.
    server {{
        listen unix:{folder}/api.sock;
        root {folder}/www;
        location / {{
            try_files /protected.txt =404;
            error_page 405 =200 /protected.txt;  # a POST or a DELETE gets the file too
            add_header {seen_id} $http_x_tokendesk_token_id always;
            add_header {seen_agent} $http_x_tokendesk_agent always;
        }}
    }}

{gateway}
}}
"""


def config(
    auth_address: str,
    folder: Path,
    port: int,
    *,
    environment: str | None = common.ENVIRONMENT,
    workers: int = 1,
    block: str | None = None,
) -> str:
    """nginx.conf for a gateway on *port* asking TokenDesk at *auth_address* (``host:port``)
    about *environment* (URL-encoded here), or, with None, about the environment each request
    names in :data:`~tests.helpers.gateway.ENVIRONMENT_HEADER` (already URL-encoded). *block*
    replaces the README's (a benchmark's baseline): its ``{port}`` and ``{api}`` are filled."""
    from urllib.parse import quote

    named = (
        f"$http_{common.ENVIRONMENT_HEADER.lower().replace('-', '_')}"
        if environment is None
        else quote(environment, safe="")
    )
    api = f"http://unix:{folder}/api.sock:"
    if block is not None:
        return _harness(folder, workers, block.format(port=port, api=api))
    block = common.readme_block(
        "nginx",
        {
            f"server {common.TOKENDESK_ADDRESS};": f"server {auth_address};",
            "listen 80;": f"listen 127.0.0.1:{port};",
            "server_name api.example.com;": "server_name _;",
            f"set $tokendesk_environment {common.ENVIRONMENT};": (
                f"set $tokendesk_environment {named};"
            ),
            f"proxy_pass http://{common.API_ADDRESS};": f"proxy_pass {api};",
        },
    )
    return _harness(folder, workers, block)


def _harness(folder: Path, workers: int, block: str) -> str:
    indented = "".join(f"    {line}" if line.strip() else line for line in block.splitlines(True))
    return _HARNESS.format(
        # As root, nginx would run its workers as nobody, who may not enter the test's folder.
        user="user root;\n" if os.geteuid() == 0 else "",
        folder=folder,
        workers=workers,
        seen_id=common.SEEN_TOKEN_ID,
        seen_agent=common.SEEN_AGENT,
        gateway=indented,
    )


def start(
    auth_address: str,
    *,
    environment: str | None = common.ENVIRONMENT,
    workers: int = 1,
    block: str | None = None,
) -> Gateway:
    """A private nginx in a folder of its own under /tmp (short: a unix socket's path may not
    be longer than about 100 bytes), ready once it answers; the caller stops it
    (:meth:`Gateway.stop`, which removes the folder too; :func:`running` does)."""
    nginx = common.binary("nginx", *BINARY_CANDIDATES)
    folder = Path(tempfile.mkdtemp(prefix="tdnginx-", dir="/tmp"))
    (folder / "tmp").mkdir()
    (folder / "www").mkdir(exist_ok=True)
    (folder / "www" / "protected.txt").write_text(common.PROTECTED)
    port = common.free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        config(
            auth_address,
            folder,
            port,
            environment=environment,
            workers=workers,
            block=block,
        )
    )
    return common.launch(
        "nginx",
        [
            nginx,
            "-p",
            str(folder),
            "-c",
            str(conf),
            "-e",
            str(folder / "error.log"),
            "-g",
            "daemon off;",
        ],
        folder,
        port,
        environment_header=environment is None,
    )


def running(auth_address: str, *, environment: str | None = common.ENVIRONMENT) -> Gateway:
    """:func:`start`, for a ``with`` block that stops it when it ends, also on failure."""
    return start(auth_address, environment=environment)


def running_block(block: str, *, workers: int = 1) -> Gateway:
    """A private nginx running *block* (a ``server`` of one's own, its ``{port}`` and ``{api}``
    filled) in place of the README's, for a ``with`` block that stops it: a benchmark's
    baseline."""
    return start("", block=block, workers=workers)
