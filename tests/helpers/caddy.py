"""A private Caddy in front of a protected static file, asking ``tokendesk serve`` first: the
README's ``forward_auth`` block (see :func:`tests.helpers.gateway.readme_block`) on a free
loopback port, plain HTTP (no automatic HTTPS), its admin endpoint off (so it saves no
configuration) and its data and config folders in a folder of its own, in the foreground.

The API behind it is the same Caddy on a second free port: a file server that serves one file
for every path, its response headers repeating the ``X-TokenDesk-*`` headers it was handed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

from tests.helpers import gateway as common
from tests.helpers.gateway import Gateway

BINARY_CANDIDATES = (Path("/usr/bin/caddy"),)

_HARNESS = """\
{{
	admin off
	auto_https off
	storage file_system {folder}/data
	log {{
		output stderr
		level ERROR
	}}
}}

# The API: one static file for every method and path, and what it was handed, repeated.
http://127.0.0.1:{api_port} {{
	root * {folder}/www
	rewrite * /protected.txt
	method * GET
	header {seen_id} "{{http.request.header.X-TokenDesk-Token-Id}}"
	header {seen_agent} "{{http.request.header.X-TokenDesk-Agent}}"
	file_server
}}

{gateway}"""


def config(
    auth_address: str,
    folder: Path,
    port: int,
    api_port: int,
    *,
    environment: str | None = common.ENVIRONMENT,
) -> str:
    """The Caddyfile of a gateway on *port* asking TokenDesk at *auth_address* about
    *environment*, or with None about the one each request names in
    :data:`~tests.helpers.gateway.ENVIRONMENT_HEADER` (a placeholder in ``uri``)."""
    named = (
        f"{{http.request.header.{common.ENVIRONMENT_HEADER}}}"
        if environment is None
        else quote(environment, safe="")
    )
    block = common.readme_block(
        "caddy",
        {
            "api.example.com {": f"http://127.0.0.1:{port} {{",
            f"forward_auth {common.TOKENDESK_ADDRESS} {{": f"forward_auth {auth_address} {{",
            f"uri /v1/auth/{common.ENVIRONMENT}": f"uri /v1/auth/{named}",
            f"reverse_proxy {common.API_ADDRESS}": f"reverse_proxy 127.0.0.1:{api_port}",
        },
    )
    return _HARNESS.format(
        folder=folder,
        api_port=api_port,
        seen_id=common.SEEN_TOKEN_ID,
        seen_agent=common.SEEN_AGENT,
        gateway=block,
    )


def start(auth_address: str, *, environment: str | None = common.ENVIRONMENT) -> Gateway:
    """A private Caddy in a folder of its own, ready once it answers; the caller stops it
    (:meth:`Gateway.stop`, which removes the folder too; :func:`running` does)."""
    caddy = common.binary("caddy", *BINARY_CANDIDATES)
    folder = Path(tempfile.mkdtemp(prefix="tdcaddy-", dir="/tmp"))
    (folder / "www").mkdir()
    (folder / "www" / "protected.txt").write_text(common.PROTECTED)
    port, api_port = common.free_port(), common.free_port()
    caddyfile = folder / "Caddyfile"
    caddyfile.write_text(config(auth_address, folder, port, api_port, environment=environment))
    return common.launch(
        "caddy",
        [caddy, "run", "--adapter", "caddyfile", "--config", str(caddyfile)],
        folder,
        port,
        environment_header=environment is None,
        # Where Caddy keeps its own state: in the folder, never the user's home.
        env={"XDG_DATA_HOME": str(folder / "data"), "XDG_CONFIG_HOME": str(folder / "config")},
    )


def running(auth_address: str, *, environment: str | None = common.ENVIRONMENT) -> Gateway:
    """:func:`start`, for a ``with`` block that stops it when it ends, also on failure."""
    return start(auth_address, environment=environment)
