"""``tokendesk role``: roles and the endpoints they allow."""

from __future__ import annotations

import argparse

from desktop.cli.common import EXIT_OK, Subparsers, command, noun
from desktop.cli.output import cell, emit, table
from desktop.services.tokens import TokenService


def register(commands: Subparsers) -> None:
    actions = noun(
        commands,
        "role",
        "roles and the endpoints they allow",
        "Roles and the endpoints they allow.",
    )
    p = command(
        actions,
        "add",
        add,
        "add a role",
        epilog='example:\n  tokendesk role add Collections --allow "GET /Loans" '
        '--allow "POST /Payments" --allow "* /Customers"',
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument(
        "--allow",
        metavar='"METHOD /Endpoint"',
        action="append",
        default=[],
        help='a permission such as "GET /Loans" (also allows /Loans/… and /Loans(…)); '
        "METHOD is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or * for any; repeatable",
    )
    command(actions, "list", list_, "list roles and their permissions")


def add(service: TokenService, args: argparse.Namespace) -> int:
    role = service.add_role(args.name, args.allow)
    allowed = ", ".join(role.permissions) or "nothing"
    emit(args, role.to_json(), f"Added role {role.name!r}, allowing {allowed}.")
    return EXIT_OK


def list_(service: TokenService, args: argparse.Namespace) -> int:
    roles = service.roles()
    emit(
        args,
        lambda: [role.to_json() for role in roles],
        lambda: table(
            ["NAME", "PERMISSIONS"],
            [[cell(role.name), ", ".join(role.permissions) or "-"] for role in roles],
            empty="No roles.",
        ),
    )
    return EXIT_OK
