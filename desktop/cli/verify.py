"""``tokendesk verify``: answer as the API would, 200, 401 or 403, for the token on standard
input. It never touches the keyring: decisions need only the fingerprints in the database."""

from __future__ import annotations

import argparse

from desktop.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    Subparsers,
    command,
    conceal,
    one_line,
    read_presented,
)
from desktop.cli.output import emit
from desktop.domain import access
from desktop.domain.errors import InvalidInput
from desktop.services.tokens import TokenService


def register(commands: Subparsers) -> None:
    p = command(
        commands,
        "verify",
        verify,
        "answer as the API would for the token on standard input: 200, 401 or 403",
        epilog="The token is read from standard input, so it never appears in the process list.\n"
        "Exit status: 0 for 200, 1 otherwise.\n\nexample:\n"
        '  printf %s "$TOKEN" | tokendesk verify --env Production GET "/Loans(42)"',
    )
    p.add_argument("--env", required=True, metavar="ENV", help="the environment called")
    p.add_argument("method", metavar="METHOD", help=", ".join(access.METHODS))
    p.add_argument("path", metavar="PATH", help="the request path, e.g. /Loans(42)")


def verify(service: TokenService, args: argparse.Namespace) -> int:
    method = args.method.upper()
    if method not in access.METHODS:  # before reading standard input: a typo is refused at once
        raise InvalidInput(
            f"invalid method {args.method[:20]!r}: use one of {', '.join(access.METHODS)}"
        )
    decision = service.verify(args.env, read_presented(), method, args.path)
    reason = conceal(decision.reason)  # it may quote an argument, a pasted secret among them
    emit(
        args, {"status": decision.status, "reason": reason}, f"{decision.status} {one_line(reason)}"
    )
    return EXIT_OK if decision.allowed else EXIT_FAILED
