"""``tokendesk audit``: who did what to which token, and when; newest first, never a secret."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, Subparsers, command, one_line, positive, token_id
from desktop.cli.output import cell, emit, table
from desktop.services import display
from desktop.services.tokens import TokenService
from desktop.services.views import AuditView

HEADERS = ["AT", "ACTOR", "ACTION", "TOKEN", "DETAILS"]


def register(commands: Subparsers) -> None:
    p = command(commands, "audit", audit, "show the audit log, newest first")
    p.add_argument("--token", metavar="ID", type=token_id, help="only events of this token")
    p.add_argument("--limit", metavar="N", type=positive, help="at most N events")


def _row(event: AuditView) -> list[str]:
    return [
        display.format_utc(event.at),
        cell(event.actor, 64),  # room for user@host and how it worked, in full
        event.action,
        "-" if event.token_id is None else str(event.token_id),
        one_line(event.details),
    ]


def audit(service: TokenService, args: argparse.Namespace) -> int:
    events = service.audit(args.token, limit=args.limit)
    emit(
        args,
        lambda: [event.to_json() for event in events],
        lambda: table(HEADERS, [_row(event) for event in events], empty="No audit events."),
    )
    return EXIT_OK
