"""The ``tokendesk`` command line. With no command it opens the desktop window.

Every change goes through :class:`~desktop.services.tokens.TokenService`, so the command line and
the window keep the same rules. Read-only commands (lists, ``token show`` without ``--reveal``,
``verify``, ``audit``) never touch the keyring; commands that handle a secret refuse to start
without a usable one. Bad input, or an action the rules refuse, exits with status 2 and one line
on standard error, and changes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

import peewee as pw

from desktop import __version__, paths
from desktop.domain import access
from desktop.domain.clock import isoformat
from desktop.domain.errors import InvalidInput, TokenDeskError
from desktop.domain.intervals import describe_interval, format_interval
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret, TokenView

log = logging.getLogger(__name__)

PROG = "tokendesk"
EXIT_OK = 0
EXIT_FAILED = 1  # verify denied, a rotation failed, the window or self-test could not run
EXIT_USAGE = 2  # bad input or an action the rules refuse; nothing was changed
EXIT_INTERRUPTED = 130
MAX_STDIN = 64 * 1024  # verify reads at most this much of standard input
MAX_TOKEN_ID = 2**63 - 1  # SQLite's INTEGER range
LOG_LEVEL_VARIABLE = "TOKENDESK_LOG_LEVEL"
CELL_WIDTH = 40  # table cells longer than this are shortened with an ellipsis

INTERVAL_HELP = (
    "Nh, Nd or Nw (N a positive whole number), or daily, weekly, monthly (30d), quarterly (90d)"
)
GRACE_HELP = (
    "how long the previous secret stays valid after a refresh or rotation: an interval as for "
    "--rotate, or 0 for no grace (invalid at once)"
)

EPILOG = """\
examples:
  tokendesk env add Production
  tokendesk role add "Read-only servicing" --allow "GET /Loans" --allow "GET /Customers"
  tokendesk agent add "Ada Servicing Bot" --role "Read-only servicing" \\
      --logged-in --signed-agreement
  tokendesk token create --env Production --agent "Ada Servicing Bot" \\
      --label Dashboard --rotate monthly --grace 1h
  tokendesk token list --json
  printf %s "$TOKEN" | tokendesk verify --env Production GET "/Loans(42)"
  tokendesk rotate-due          # from cron or a systemd timer while the window is closed

The data dir is --data-dir, else $TOKENDESK_DATA_DIR, else the platform's user data dir.
Secrets live only in the system keyring; the database keeps fingerprints and 4-character hints.
Exit status: 0 success; 1 denied or failed (verify, rotate-due);
2 bad input or refused by the rules (nothing was changed).
"""


# ---------------------------------------------------------------------------- output helpers


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str) -> None:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"warning: {_one_line(message)}", file=sys.stderr)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _when(value: datetime | None) -> str:
    return isoformat(value) or "-"


def _cell(text: str, width: int = CELL_WIDTH) -> str:
    text = _one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> None:
    """Aligned columns; the last column is never padded (it may be long)."""
    if not rows:
        print(empty)
        return
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    for line in [list(headers), *[list(row) for row in rows]]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _rotation_text(view: TokenView) -> str:
    if view.rotation is None:
        return "never"
    return f"{view.rotation} ({describe_interval(view.rotation_interval)})"


def _show_secret(issued: IssuedSecret, what: str) -> None:
    token = issued.token
    print(f"{what}. Its secret is:")
    print()
    print(f"    {issued.secret}")
    print()
    print(
        "Copy it now: it will not be shown again. It stays in the system keyring and can be "
        f"revealed later with '{PROG} token show {token.id} --reveal'."
    )


# ---------------------------------------------------------------------------- argument types


def _token_id(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid token id {text[:40]!r}: expected a whole number such as 12"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid token id {text[:40]!r}: must be positive")
    if value > MAX_TOKEN_ID:
        raise argparse.ArgumentTypeError(f"invalid token id {text[:40]!r}: too large")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"invalid count {text[:40]!r}: expected 1 to 1000000")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (status 2, like every refusal here)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------------------- commands

Handler = Callable[[TokenService, argparse.Namespace], int]


def _env_add(service: TokenService, args: argparse.Namespace) -> int:
    env = service.add_environment(args.name, api_enabled=not args.disabled)
    if args.json:
        _print_json(env.to_json())
    else:
        state = "enabled" if env.api_enabled else "disabled"
        print(f"Added environment {env.name!r} (API access {state}).")
    return EXIT_OK


def _env_set(enabled: bool) -> Handler:
    def handler(service: TokenService, args: argparse.Namespace) -> int:
        env = service.set_api_enabled(args.name, enabled)
        if args.json:
            _print_json(env.to_json())
        else:
            state = "enabled" if env.api_enabled else "disabled"
            print(f"API access {state} for environment {env.name!r}.")
        return EXIT_OK

    return handler


def _env_list(service: TokenService, args: argparse.Namespace) -> int:
    envs = service.environments()
    if args.json:
        _print_json([env.to_json() for env in envs])
        return EXIT_OK
    rows = [
        [_cell(env.name), "enabled" if env.api_enabled else "disabled", str(env.token_count)]
        for env in envs
    ]
    _table(["NAME", "API ACCESS", "TOKENS"], rows, empty="No environments.")
    return EXIT_OK


def _role_add(service: TokenService, args: argparse.Namespace) -> int:
    role = service.add_role(args.name, args.allow)
    if args.json:
        _print_json(role.to_json())
    else:
        allowed = ", ".join(role.permissions) or "nothing"
        print(f"Added role {role.name!r}, allowing {allowed}.")
    return EXIT_OK


def _role_list(service: TokenService, args: argparse.Namespace) -> int:
    roles = service.roles()
    if args.json:
        _print_json([role.to_json() for role in roles])
        return EXIT_OK
    rows = [[_cell(role.name), ", ".join(role.permissions) or "-"] for role in roles]
    _table(["NAME", "PERMISSIONS"], rows, empty="No roles.")
    return EXIT_OK


def _print_agent(service: TokenService, name: str, verb: str, as_json: bool) -> None:
    agent = service.agent(name)
    if as_json:
        _print_json(agent.to_json())
        return
    eligibility = (
        "may be given tokens"
        if agent.eligible
        else f"may not be given tokens yet: {agent.ineligible_reason()}"
    )
    print(f"{verb} agent {agent.name!r} with role {agent.role!r}; {eligibility}.")


def _agent_add(service: TokenService, args: argparse.Namespace) -> int:
    agent = service.add_agent(
        args.name, args.role, has_logged_in=args.logged_in, signed_agreement=args.signed_agreement
    )
    _print_agent(service, agent.name, "Added", args.json)
    return EXIT_OK


def _agent_update(service: TokenService, args: argparse.Namespace) -> int:
    agent = service.update_agent(
        args.name,
        role=args.role,
        has_logged_in=args.logged_in,
        signed_agreement=args.signed_agreement,
    )
    _print_agent(service, agent.name, "Updated", args.json)
    return EXIT_OK


def _agent_list(service: TokenService, args: argparse.Namespace) -> int:
    agents = service.agents()
    if args.json:
        _print_json([agent.to_json() for agent in agents])
        return EXIT_OK
    rows = [
        [
            _cell(agent.name),
            _cell(agent.role),
            _yes_no(agent.has_logged_in),
            _yes_no(agent.signed_agreement),
            _yes_no(agent.eligible),
            str(agent.token_count),
        ]
        for agent in agents
    ]
    headers = ["NAME", "ROLE", "LOGGED IN", "SIGNED AGREEMENT", "ELIGIBLE", "TOKENS"]
    _table(headers, rows, empty="No agents.")
    return EXIT_OK


def _token_create(service: TokenService, args: argparse.Namespace) -> int:
    issued = service.create_token(
        args.env, args.agent, label=args.label, rotation=args.rotate, grace=args.grace
    )
    for warning in issued.warnings:
        _warn(warning)
    token = issued.token
    if args.json:
        _print_json({**token.to_json(), "secret": issued.secret, "warnings": list(issued.warnings)})
        return EXIT_OK
    _show_secret(
        issued, f"Created token {token.id} for agent {token.agent!r} in {token.environment!r}"
    )
    return EXIT_OK


def _token_list(service: TokenService, args: argparse.Namespace) -> int:
    views = service.tokens(args.env)
    if args.json:
        _print_json([view.to_json() for view in views])
        return EXIT_OK
    rows = [
        [
            str(view.id),
            _cell(view.environment, 20),
            _cell(view.agent, 30),
            _cell(view.label, 30),
            view.status,
            view.masked,
            view.rotation or "never",
            _when(view.next_rotation_at),
        ]
        for view in views
    ]
    headers = [
        "ID",
        "ENVIRONMENT",
        "AGENT",
        "LABEL",
        "STATUS",
        "TOKEN",
        "ROTATION",
        "NEXT ROTATION",
    ]
    _table(headers, rows, empty="No tokens.")
    return EXIT_OK


def _token_show(service: TokenService, args: argparse.Namespace) -> int:
    view = service.token(args.id)
    secret = service.reveal(args.id) if args.reveal else None
    if args.json:
        record = view.to_json()
        if secret is not None:
            record["secret"] = secret
        _print_json(record)
        return EXIT_OK
    fields = [
        ("environment", view.environment),
        ("agent", view.agent),
        ("role", view.role),
        ("label", view.label or "-"),
        ("status", view.status),
        ("token", view.masked),
        ("rotation", _rotation_text(view)),
        ("next rotation", _when(view.next_rotation_at)),
        ("grace", format_interval(view.grace)),
        ("last rotated", _when(view.last_rotated_at)),
        ("generation", str(view.generation)),
        ("created", _when(view.created_at)),
    ]
    if view.grace_until is not None:
        fields.append(("previous secret valid until", _when(view.grace_until)))
    if view.last_error:
        fields.append(("last rotation error", _one_line(view.last_error)))
    if secret is not None:
        fields.append(("secret", secret))
    width = max(len(name) for name, _ in fields)
    print(f"Token {view.id}")
    for name, value in fields:
        print(f"  {name + ':':<{width + 1}} {value}")
    return EXIT_OK


def _token_status(active: bool) -> Handler:
    def handler(service: TokenService, args: argparse.Namespace) -> int:
        view = service.set_status(args.id, active)
        if args.json:
            _print_json(view.to_json())
        else:
            print(f"Token {view.id} is {view.status}.")
        return EXIT_OK

    return handler


def _token_refresh(service: TokenService, args: argparse.Namespace) -> int:
    issued = service.refresh(args.id, grace=args.grace)
    view = issued.token
    if args.json:
        _print_json({**view.to_json(), "secret": issued.secret})
        return EXIT_OK
    if view.grace_until is not None:
        previous = f"the previous secret stays valid until {_when(view.grace_until)}"
    else:
        previous = "the previous secret is no longer valid"
    _show_secret(issued, f"Token {view.id} has a new secret; {previous}")
    return EXIT_OK


def _token_rotate(service: TokenService, args: argparse.Namespace) -> int:
    if args.off and args.grace is not None:
        raise InvalidInput("--grace goes with --every, not with --off")
    view = service.set_rotation(args.id, None if args.off else args.every, args.grace)
    if args.json:
        _print_json(view.to_json())
    elif view.rotation is None:
        print(f"Token {view.id} is no longer rotated automatically.")
    else:
        print(
            f"Token {view.id} rotates {_rotation_text(view)}; next rotation at "
            f"{_when(view.next_rotation_at)}, grace {format_interval(view.grace)}."
        )
    return EXIT_OK


def _token_label(service: TokenService, args: argparse.Namespace) -> int:
    view = service.set_label(args.id, args.text)
    if args.json:
        _print_json(view.to_json())
    elif view.label:
        print(f"Token {view.id} is labelled {view.label!r}.")
    else:
        print(f"Token {view.id} has no label.")
    return EXIT_OK


def _token_delete(service: TokenService, args: argparse.Namespace) -> int:
    if not args.yes:
        raise InvalidInput(
            f"deleting token {args.id} is permanent (its secret is removed from the keyring): "
            "add --yes to confirm"
        )
    service.delete(args.id)
    print(f"Deleted token {args.id} and its secret.")
    return EXIT_OK


def _read_presented() -> str:
    """The token from standard input (at most 64 KiB, surrounding whitespace removed)."""
    stdin = sys.stdin
    if stdin is None:
        return ""
    if stdin.isatty():
        return getpass.getpass("Token (input hidden): ").strip()
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read(MAX_STDIN + 1)
        return data.decode("utf-8", errors="replace").strip()
    return str(stdin.read(MAX_STDIN + 1)).strip()


def _verify(service: TokenService, args: argparse.Namespace) -> int:
    method = args.method.upper()
    if method not in access.METHODS:
        raise InvalidInput(
            f"invalid method {args.method[:20]!r}: use one of {', '.join(access.METHODS)}"
        )
    decision = service.verify(args.env, _read_presented(), method, args.path)
    if args.json:
        _print_json({"status": decision.status, "reason": decision.reason})
    else:
        print(f"{decision.status} {_one_line(decision.reason)}")
    return EXIT_OK if decision.allowed else EXIT_FAILED


def _rotate_due(service: TokenService, args: argparse.Namespace) -> int:
    report = service.rotate_due(actor="cli")
    if args.json:
        _print_json(
            {
                "rotated": list(report.rotated),
                "skipped": list(report.skipped),
                "failed": [{"token": tid, "error": why} for tid, why in report.failed],
            }
        )
    elif not (report.rotated or report.skipped or report.failed):
        print("No tokens are due for rotation.")
    else:
        for token_id in report.rotated:
            print(f"rotated token {token_id}")
        for token_id in report.skipped:
            print(f"skipped token {token_id} (no longer due, or being changed elsewhere)")
        for token_id, why in report.failed:
            print(f"failed token {token_id}: {_one_line(why)}")
        print(
            f"{len(report.rotated)} rotated, {len(report.skipped)} skipped, "
            f"{len(report.failed)} failed."
        )
    for token_id, why in report.failed:
        log.debug("rotation of token %s failed: %s", token_id, why)
    return EXIT_FAILED if report.failed else EXIT_OK


def _audit(service: TokenService, args: argparse.Namespace) -> int:
    events = service.audit(args.token, limit=args.limit)
    if args.json:
        _print_json([event.to_json() for event in events])
        return EXIT_OK
    rows = [
        [
            _when(event.at),
            _cell(event.actor, 20),
            event.action,
            "-" if event.token_id is None else str(event.token_id),
            _one_line(event.details),
        ]
        for event in events
    ]
    _table(["AT", "ACTOR", "ACTION", "TOKEN", "DETAILS"], rows, empty="No audit events.")
    return EXIT_OK


# ---------------------------------------------------------------------------- the parser


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _subparsers(parser: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction[Any]:
    return parser.add_subparsers(dest=dest, metavar="ACTION", required=True, title="actions")


def _command(
    group: argparse._SubParsersAction[Any],
    name: str,
    handler: Handler,
    help_text: str,
    *,
    json_output: bool = True,
    secret: bool = False,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler, secret=secret)
    if json_output:
        _add_json(parser)
    return parser


def _token_id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", type=_token_id, help="the token's id (see token list)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=(
            "Manage API tokens: environments, roles, agents, tokens, rotation and access checks. "
            "Without a command, open the desktop window."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the database lives (default: $TOKENDESK_DATA_DIR, else the user data dir)",
    )
    window = parser.add_mutually_exclusive_group()
    window.add_argument(
        "--demo",
        action="store_true",
        help="open the window on a fresh data dir filled with demo data (needs the keyring)",
    )
    window.add_argument(
        "--self-test",
        action="store_true",
        help="check the database, the keyring and the window toolkit on this machine, then exit",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    _env_commands(commands)
    _role_commands(commands)
    _agent_commands(commands)
    _token_commands(commands)
    _other_commands(commands)
    return parser


def _env_commands(commands: argparse._SubParsersAction[Any]) -> None:
    env = commands.add_parser(
        "env",
        help="environments and their API access",
        description="Environments and their API access.",
    )
    env_actions = _subparsers(env, "action")
    p = _command(env_actions, "add", _env_add, "add an environment")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--disabled", action="store_true", help="start with API access disabled")
    _command(env_actions, "list", _env_list, "list environments")
    p = _command(env_actions, "enable", _env_set(True), "enable API access for an environment")
    p.add_argument("name", metavar="NAME")
    p = _command(
        env_actions,
        "disable",
        _env_set(False),
        "disable API access for an environment (its tokens are refused, 401)",
    )
    p.add_argument("name", metavar="NAME")


def _role_commands(commands: argparse._SubParsersAction[Any]) -> None:
    role = commands.add_parser(
        "role",
        help="roles and the endpoints they allow",
        description="Roles and the endpoints they allow.",
    )
    role_actions = _subparsers(role, "action")
    p = _command(
        role_actions,
        "add",
        _role_add,
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
    _command(role_actions, "list", _role_list, "list roles and their permissions")


def _agent_commands(commands: argparse._SubParsersAction[Any]) -> None:
    agent = commands.add_parser(
        "agent",
        help="agents (API users) and their eligibility",
        description="Agents (API users) and their eligibility. Only "
        "agents who have logged in and signed the usage agreement may "
        "be given a token.",
    )
    agent_actions = _subparsers(agent, "action")
    p = _command(agent_actions, "add", _agent_add, "add an agent")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", required=True, metavar="ROLE", help="the agent's role")
    p.add_argument("--logged-in", action="store_true", help="the agent has logged in")
    p.add_argument(
        "--signed-agreement", action="store_true", help="the agent signed the usage agreement"
    )
    _command(agent_actions, "list", _agent_list, "list agents")
    p = _command(agent_actions, "update", _agent_update, "change an agent's role or flags")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", metavar="ROLE", help="a new role")
    login = p.add_mutually_exclusive_group()
    login.add_argument(
        "--logged-in",
        dest="logged_in",
        action="store_const",
        const=True,
        help="the agent has logged in",
    )
    login.add_argument(
        "--not-logged-in",
        dest="logged_in",
        action="store_const",
        const=False,
        help="the agent has not logged in",
    )
    agreement = p.add_mutually_exclusive_group()
    agreement.add_argument(
        "--signed-agreement",
        dest="signed_agreement",
        action="store_const",
        const=True,
        help="the agent signed the usage agreement",
    )
    agreement.add_argument(
        "--unsigned-agreement",
        dest="signed_agreement",
        action="store_const",
        const=False,
        help="the agent has not signed the usage agreement",
    )


def _token_commands(commands: argparse._SubParsersAction[Any]) -> None:
    token = commands.add_parser(
        "token",
        help="create, inspect and change tokens",
        description="Create, inspect and change tokens.",
    )
    token_actions = _subparsers(token, "action")
    p = _command(
        token_actions,
        "create",
        _token_create,
        "create a token and print its secret once (needs the keyring)",
        secret=True,
        epilog='example:\n  tokendesk token create --env Production --agent "Ada Servicing Bot" '
        "--label Dashboard --rotate monthly --grace 1h",
    )
    p.add_argument("--env", required=True, metavar="ENV", help="the environment")
    p.add_argument("--agent", required=True, metavar="AGENT", help="the agent (must be eligible)")
    p.add_argument("--label", metavar="TEXT", help="a note, at most 200 characters")
    p.add_argument("--rotate", metavar="INTERVAL", help=f"rotate automatically: {INTERVAL_HELP}")
    p.add_argument("--grace", metavar="INTERVAL", help=GRACE_HELP)
    p = _command(token_actions, "list", _token_list, "list tokens (masked, never the secret)")
    p.add_argument("--env", metavar="ENV", help="only this environment")
    p = _command(token_actions, "show", _token_show, "show one token")
    _token_id_argument(p)
    p.add_argument(
        "--reveal", action="store_true", help="also print the secret, read from the keyring"
    )
    p = _command(token_actions, "activate", _token_status(True), "activate a token")
    _token_id_argument(p)
    p = _command(
        token_actions,
        "deactivate",
        _token_status(False),
        "deactivate a token (it is refused, 401, until activated)",
    )
    _token_id_argument(p)
    p = _command(
        token_actions,
        "refresh",
        _token_refresh,
        "issue a new secret for the same token, agent and label (needs the keyring)",
        secret=True,
    )
    _token_id_argument(p)
    p.add_argument(
        "--grace", metavar="INTERVAL", help=GRACE_HELP + " (default: the token's own grace)"
    )
    p = _command(token_actions, "rotate", _token_rotate, "set or clear automatic rotation")
    _token_id_argument(p)
    schedule = p.add_mutually_exclusive_group(required=True)
    schedule.add_argument("--every", metavar="INTERVAL", help=f"rotate every {INTERVAL_HELP}")
    schedule.add_argument("--off", action="store_true", help="stop rotating automatically")
    p.add_argument("--grace", metavar="INTERVAL", help=GRACE_HELP)
    p = _command(token_actions, "label", _token_label, 'set a token\'s label ("" clears it)')
    _token_id_argument(p)
    p.add_argument("text", metavar="TEXT", help="at most 200 characters, no control characters")
    p = _command(
        token_actions,
        "delete",
        _token_delete,
        "delete a token and its secret for good (needs the keyring)",
        json_output=False,
        secret=True,
    )
    _token_id_argument(p)
    p.add_argument("--yes", action="store_true", help="confirm: deleting cannot be undone")


def _other_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """verify, rotate-due and audit."""
    p = _command(
        commands,
        "verify",
        _verify,
        "answer as the API would for the token on standard input: 200, 401 or 403",
        epilog="The token is read from standard input, so it never appears in the process list.\n"
        "Exit status: 0 for 200, 1 otherwise.\n\nexample:\n"
        '  printf %s "$TOKEN" | tokendesk verify --env Production GET "/Loans(42)"',
    )
    p.add_argument("--env", required=True, metavar="ENV", help="the environment called")
    p.add_argument("method", metavar="METHOD", help=", ".join(access.METHODS))
    p.add_argument("path", metavar="PATH", help="the request path, e.g. /Loans(42)")
    _command(
        commands,
        "rotate-due",
        _rotate_due,
        "rotate every token whose rotation is due (needs the keyring)",
        secret=True,
        epilog="For cron or a systemd timer while the window is closed; missed rotations "
        "coalesce into one.\nExit status: 0 when nothing failed, 1 when a rotation failed.",
    )
    p = _command(commands, "audit", _audit, "show the audit log, newest first")
    p.add_argument("--token", metavar="ID", type=_token_id, help="only events of this token")
    p.add_argument("--limit", metavar="N", type=_positive, help="at most N events")


# ---------------------------------------------------------------------------- running


def _configure_logging() -> None:
    name = os.environ.get(LOG_LEVEL_VARIABLE, "").strip().upper() or "WARNING"
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        level = logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format=f"{PROG}: %(levelname)s: %(name)s: %(message)s"
    )


def _needs_secret(args: argparse.Namespace) -> bool:
    return bool(args.secret or getattr(args, "reveal", False))


def _run_command(args: argparse.Namespace) -> int:
    from desktop.app import open_context
    from desktop.secrets.store import open_secret_store

    data_dir = paths.data_dir(args.data_dir)
    # A command that handles a secret checks the keyring before it touches the database.
    store = open_secret_store() if _needs_secret(args) else None
    context = open_context(data_dir, store=store, need_keyring=False)
    try:
        handler: Handler = args.handler
        return handler(context.service, args)
    finally:
        context.close()


def _optional_module(name: str, what: str) -> Any:
    """Import a part that a trimmed build may lack; None (after saying so) when it is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        log.debug("cannot import %s", name, exc_info=True)
        if error.name is not None and name.startswith(error.name):
            _error(f"{what} is not available in this installation ({name} is missing)")
            return None
        _error(f"{what} cannot start: {error}")
        return None
    except ImportError as error:  # typically a missing system library of the window toolkit
        log.debug("cannot import %s", name, exc_info=True)
        _error(f"{what} cannot start: {error}")
        return None


def _run_window(args: argparse.Namespace) -> int:
    data_dir = paths.data_dir(args.data_dir)
    if args.self_test:
        selftest = _optional_module("desktop.selftest", "the self-test")
        if selftest is None:
            return EXIT_FAILED
        return int(selftest.run(data_dir))
    if args.demo:
        from desktop.secrets.store import open_secret_store

        open_secret_store()  # the demo creates real tokens: refuse early, with the reason
    launch = _optional_module("desktop.gui.launch", "the desktop window")
    if launch is None:
        return EXIT_FAILED
    return int(launch.run_window(data_dir, demo=args.demo))


def _exit_status(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_USAGE


def _quiet_stdout() -> None:
    """After a broken pipe (``tokendesk token list | head``), drop what is left to print."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _is_text(argument: str) -> bool:
    """False for bytes that were not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        argument.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """The ``tokendesk`` command: returns the exit status."""
    _configure_logging()
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    if any(not _is_text(argument) for argument in arguments):
        _error("an argument is not valid text (UTF-8): check the terminal's or script's encoding")
        return EXIT_USAGE
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return _exit_status(exit_.code)
    try:
        if args.command is None:
            return _run_window(args)
        if args.demo or args.self_test:
            parser.error("--demo and --self-test take no command")
        return _run_command(args)
    except SystemExit as exit_:
        return _exit_status(exit_.code)
    except TokenDeskError as error:
        # The rules' messages are written for people and never carry a secret.
        _error(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_FAILED
    except pw.DatabaseError as error:
        log.debug("database error", exc_info=True)
        _error(f"cannot use the database in {paths.data_dir(args.data_dir)}: {error}")
        return EXIT_FAILED
    except OSError as error:
        log.debug("system error", exc_info=True)
        _error(f"{error.strerror or error}" + (f": {error.filename}" if error.filename else ""))
        return EXIT_FAILED


__all__ = ["build_parser", "main"]
