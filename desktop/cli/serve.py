"""``tokendesk serve``: the forward-auth server gateways ask whether a request may pass (nginx
``auth_request``, Traefik ``forwardAuth``, Caddy ``forward_auth``). Like ``verify`` it never
touches the keyring: decisions need only the fingerprints in the registry."""

from __future__ import annotations

import argparse
import logging

from desktop import logs, paths
from desktop.cli.common import Subparsers, command
from desktop.domain.errors import InvalidInput
from desktop.server import config
from desktop.services.tokens import TokenService

EPILOG = """\
Any method on /v1/auth/ENVIRONMENT decides for the token in "Authorization: Bearer", the
method in X-Original-Method (else X-Forwarded-Method) and the path in X-Original-URI (else
X-Forwarded-Uri): 200 with X-TokenDesk-Token-Id and X-TokenDesk-Agent, 401 or 403, as
`tokendesk verify` answers. One of those headers given twice, or X-Original-* naming another
request than X-Forwarded-*, is refused (400; 401 for two Authorization headers).
GET /healthz answers 200 while the registry is readable and the answers current, GET /metrics
in Prometheus' format. The registry must exist: serve never makes an empty one. Changes
anywhere reach it within a second; past --max-staleness without the registry it answers 503
until the registry is back. SIGTERM stops it gracefully. It logs to standard error.

example:
  tokendesk --database postgresql://tokendesk@db/tokens serve --listen 127.0.0.1:8181
"""


def register(commands: Subparsers) -> None:
    p = command(
        commands,
        "serve",
        serve,
        "answer a gateway's forward-auth requests over HTTP: 200, 401 or 403",
        json_output=False,
        epilog=EPILOG,
    )
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=f"{config.DEFAULT_HOST}:{config.DEFAULT_PORT}",
        help="where to listen (default: %(default)s; port 0 picks a free one, which the log names)",
    )
    p.add_argument(
        "--workers",
        metavar="N",
        type=int,
        default=1,
        help="worker processes, each with its own copy of the decisions (default: 1)",
    )
    p.add_argument(
        "--max-staleness",
        metavar="SECONDS",
        type=float,
        default=config.DEFAULT_MAX_STALENESS_S,
        help="how long to keep answering while the registry cannot be read, before every "
        "answer is 503 (default: %(default)g)",
    )
    # Refused when the SQLite file is missing, where other commands make it (see program).
    p.set_defaults(existing_registry=True)
    p.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request: method, environment, status and token id (never the token)",
    )


def serve(service: TokenService, args: argparse.Namespace) -> int:
    try:
        host, port = config.parse_listen(args.listen)
    except ValueError as bad:
        raise InvalidInput(str(bad)) from None
    if not 1 <= args.workers <= 64:
        raise InvalidInput(f"invalid --workers {args.workers}: use 1 to 64")
    if not 0 < args.max_staleness <= 86_400:
        raise InvalidInput(
            f"invalid --max-staleness {args.max_staleness:g}: use more than 0 and at most 86400"
        )
    from desktop.server import run

    level = min(logs.stderr_level(), logging.INFO)
    _log_at(level)
    settings = config.Settings(
        data_dir=paths.data_dir(args.data_dir),
        database=args.database_url,
        host=host,
        port=port,
        workers=args.workers,
        max_staleness=args.max_staleness,
        access_log=args.access_log,
        log_level=level,
    )
    return run.serve(settings)


def _log_at(level: int) -> None:
    """A server says on standard error where it listens and how its registry fares: INFO, where
    the other commands say only warnings."""
    root = logging.getLogger()
    for handler in root.handlers:
        if type(handler) is logging.StreamHandler and handler.level > level:
            handler.setLevel(level)
    if root.level > level:
        root.setLevel(level)
