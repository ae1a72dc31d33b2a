"""``tokendesk token``: create, inspect and change tokens.

A secret is printed only by ``create`` and ``refresh`` (as it is issued) and by
``show --reveal``; every other output shows the masked form. Only the token's holder, whose
keyring has the secret, can reveal it (anyone else is refused and told to refresh it); ``list``
and ``show`` name the holder, and ``list`` warns of rotations overdue by more than a day, which
only the holder's TokenDesk would perform. ``list`` says when a forward-auth server last saw each
token used, and ``list --unused`` finds the active tokens nobody has used for 90 days (or as many
as asked), to deactivate.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from desktop.cli.common import (
    EXIT_OK,
    GRACE_HELP,
    INTERVAL_HELP,
    Handler,
    Subparsers,
    command,
    conceal,
    noun,
    one_line,
    token_id_argument,
    warn,
)
from desktop.cli.output import cell, emit, fields, secret_text, table
from desktop.domain import delivery, holders
from desktop.domain.errors import InvalidInput, TokenDeskError
from desktop.domain.expiry import WHEN_HELP, parse_when
from desktop.domain.intervals import format_interval
from desktop.domain.usage import UNUSED_DAYS, is_unused, unused_cutoff
from desktop.services import display
from desktop.services.tokens import TokenService
from desktop.services.views import DeliveryOutcome, TokenView

HEADERS = [
    "ID",
    "ENVIRONMENT",
    "AGENT",
    "LABEL",
    "STATUS",
    "TOKEN",
    "ROTATION",
    "NEXT ROTATION",
    "EXPIRES",
    "LAST USED",
]
MAX_DAYS = 36_500  # --unused: a hundred years, more than any token has been around


def register(commands: Subparsers) -> None:
    actions = noun(
        commands,
        "token",
        "create, inspect and change tokens",
        "Create, inspect and change tokens.",
    )
    p = command(
        actions,
        "create",
        create,
        "create a token and print its secret (needs the keyring)",
        secret=True,
        epilog='example:\n  tokendesk token create --env Production --agent "Ada Servicing Bot" '
        "--label Dashboard --rotate monthly --grace 1h --expires 2027-03-31",
    )
    p.add_argument("--env", required=True, metavar="ENV", help="the environment")
    p.add_argument("--agent", required=True, metavar="AGENT", help="the agent (must be eligible)")
    p.add_argument("--label", metavar="TEXT", help="a note, at most 200 characters")
    p.add_argument("--rotate", metavar="INTERVAL", help=f"rotate automatically: {INTERVAL_HELP}")
    p.add_argument("--grace", metavar="INTERVAL", help=GRACE_HELP)
    p.add_argument(
        "--expires",
        metavar="WHEN",
        help=f"refuse the token (401) from then on, and stop rotating it: {WHEN_HELP}; it must "
        "be in the future (default: never)",
    )
    p = command(actions, "list", list_, "list tokens (masked, never the secret)")
    p.add_argument("--env", metavar="ENV", help="only this environment")
    p.add_argument(
        "--unused",
        metavar="DAYS",
        nargs="?",
        const=UNUSED_DAYS,
        type=days,
        help=f"only active tokens no request has presented to a forward-auth server (tokendesk "
        f"serve) for DAYS days (default {UNUSED_DAYS}); a token never used counts from its "
        "creation",
    )
    p = command(actions, "show", show, "show one token")
    token_id_argument(p)
    p.add_argument(
        "--reveal", action="store_true", help="also print the secret, read from the keyring"
    )
    p = command(actions, "activate", set_status(True), "activate a token")
    token_id_argument(p)
    p = command(
        actions,
        "deactivate",
        set_status(False),
        "deactivate a token (it is refused, 401, until activated)",
    )
    token_id_argument(p)
    p = command(
        actions,
        "refresh",
        refresh,
        "issue a new secret for the same token, agent and label (needs the keyring)",
        secret=True,
        epilog="A token with a delivery command (see 'token deliver') delivers the new secret "
        "before this ends,\nand one line on standard error says how that went. The exit status "
        "is the refresh's: 0 once the\nnew secret is issued, even if its delivery failed (a "
        "failed delivery is tried again by the\nwindow or rotate-due while the previous "
        "secret's grace lasts; refreshing again would not help).",
    )
    token_id_argument(p)
    p.add_argument(
        "--grace", metavar="INTERVAL", help=GRACE_HELP + " (default: the token's own grace)"
    )
    p = command(
        actions,
        "deliver",
        deliver,
        "set or clear the command that delivers each new secret",
        epilog="After every refresh and scheduled rotation the holder's TokenDesk runs the "
        "command with /bin/sh -c,\nthe new secret on standard input (never in its arguments or "
        "environment) and TOKENDESK_TOKEN_ID,\nTOKENDESK_ENVIRONMENT, TOKENDESK_AGENT and "
        "TOKENDESK_LABEL in its environment, for at most 60 s.\nIt runs only while the person "
        "who set it holds the token. A failure is tried again while the\nprevious secret's "
        "grace lasts.\n\nexample:\n  tokendesk token deliver 3 --command "
        "'kubectl create secret generic api-token --from-file=token=/dev/stdin "
        "--dry-run=client -o yaml | kubectl apply -f -'",
    )
    token_id_argument(p)
    delivery = p.add_mutually_exclusive_group(required=True)
    delivery.add_argument(
        "--command",
        dest="delivery_command",  # "command" names the command being run (see program)
        metavar="CMD",
        help="a shell command line that reads the secret on stdin",
    )
    delivery.add_argument("--off", action="store_true", help="deliver no more")
    p = command(actions, "rotate", rotate, "set or clear automatic rotation")
    token_id_argument(p)
    schedule = p.add_mutually_exclusive_group(required=True)
    schedule.add_argument("--every", metavar="INTERVAL", help=f"rotate every {INTERVAL_HELP}")
    schedule.add_argument("--off", action="store_true", help="stop rotating automatically")
    p.add_argument("--grace", metavar="INTERVAL", help=GRACE_HELP)
    p = command(
        actions,
        "expire",
        expire,
        "set when a token expires (401 from then on, no more rotation), or that it never does",
        epilog="examples:\n  tokendesk token expire 3 --at 2027-03-31\n"
        "  tokendesk token expire 3 --at 2027-03-31T18:00+02:00\n"
        "  tokendesk token expire 3 --never",
    )
    token_id_argument(p)
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--at",
        metavar="WHEN",
        help=f"{WHEN_HELP}; it must be in the future (to stop a token at once, deactivate it)",
    )
    when.add_argument("--never", action="store_true", help="the token never expires")
    p = command(actions, "label", label, 'set a token\'s label ("" clears it)')
    token_id_argument(p)
    p.add_argument("text", metavar="TEXT", help="at most 200 characters, no control characters")
    p = command(
        actions,
        "delete",
        delete,
        "delete a token and its secret for good (needs the keyring)",
        json_output=False,
        secret=True,
    )
    token_id_argument(p)
    p.add_argument("--yes", action="store_true", help="confirm: deleting cannot be undone")


def days(text: str) -> int:
    """A number of days for ``--unused``: 1 to :data:`MAX_DAYS`, in ASCII digits."""
    digits = text.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 6 else 0
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            f"invalid number of days {text[:40]!r}: expected 1 to {MAX_DAYS}"
        )
    return value


def create(service: TokenService, args: argparse.Namespace) -> int:
    expires = parse_when(args.expires) if args.expires is not None else None
    issued = service.create_token(
        args.env,
        args.agent,
        label=args.label,
        rotation=args.rotate,
        grace=args.grace,
        expires=expires,
    )
    for warning in issued.warnings:
        warn(warning)
    token = issued.token
    emit(
        args,
        {**token.to_json(), "secret": issued.secret, "warnings": list(issued.warnings)},
        lambda: secret_text(
            issued, f"Created token {token.id} for agent {token.agent!r} in {token.environment!r}"
        ),
    )
    return EXIT_OK


def _next_rotation(view: TokenView, now: datetime) -> str:
    """The next rotation as a script reads it; "-" once the token expired (none follows)."""
    return "-" if view.expired(now) else display.format_utc(view.next_rotation_at)


def _row(view: TokenView, now: datetime) -> list[str]:
    return [
        str(view.id),
        cell(view.environment, 20),
        cell(view.agent, 30),
        cell(view.label, 30),
        view.status,
        view.masked,
        display.rotation_name(view.rotation),
        _next_rotation(view, now),
        display.format_utc(view.expires_at, display.NEVER),
        display.format_utc(view.last_used_at, display.NEVER),
    ]


def _unused(view: TokenView, cutoff: int) -> bool:
    last_used = None if view.last_used_at is None else view.last_used_at.timestamp()
    return is_unused(view.active, last_used, view.created_at.timestamp(), cutoff)


def _record(view: TokenView, now: datetime) -> dict[str, object]:
    return {**view.to_json(), "rotation_overdue": view.rotation_overdue(now)}


def overdue_warning(view: TokenView) -> str:
    """What ``list`` says of a token whose scheduled rotation is more than a day late."""
    since = display.format_utc(view.next_rotation_at)
    return f"token {view.id}: rotation {holders.overdue_text(since, view.holder)}"


def list_(service: TokenService, args: argparse.Namespace) -> int:
    views = service.tokens(args.env)
    now = service.clock.now()
    empty = "No tokens."
    if args.unused is not None:
        cutoff = unused_cutoff(now.timestamp(), args.unused)
        views = [view for view in views if _unused(view, cutoff)]
        empty = f"No active token has gone unused for {args.unused} days."
    emit(
        args,
        lambda: [_record(view, now) for view in views],
        lambda: table(HEADERS, [_row(view, now) for view in views], empty=empty),
    )
    if not args.json:  # the JSON says so in each record
        for view in views:
            if view.rotation_overdue(now):
                warn(overdue_warning(view))
    return EXIT_OK


def _details(view: TokenView, secret: str | None, now: datetime) -> str:
    expired = view.expired(now)
    expires = display.format_utc(view.expires_at, display.NEVER)
    pairs = [
        ("environment", view.environment),
        ("agent", view.agent),
        ("role", view.role),
        ("label", view.label or "-"),
        ("status", view.status),
        ("token", view.masked),
        ("rotation", display.rotation_phrase(view.rotation, view.rotation_interval)),
        ("next rotation", _next_rotation(view, now) + _overdue(view, now)),
        ("grace", format_interval(view.grace)),
        ("expires", f"{expires} (expired)" if expired else expires),
        ("last rotated", display.format_utc(view.last_rotated_at)),
        ("generation", str(view.generation)),
        ("created", display.format_utc(view.created_at)),
        ("holder", view.holder),
        ("last used", _last_used(view)),
    ]
    if view.grace_until is not None:  # each replaced secret has its own; the last one ends
        pairs.append(("replaced secrets valid until", display.format_utc(view.grace_until)))
    if view.last_error:
        pairs.append(("last rotation error", one_line(view.last_error)))
    pairs.append(("delivery", delivery_text(view)))
    if secret is not None:
        pairs.append(("secret", secret))
    return fields(f"Token {view.id}", pairs)


def _last_used(view: TokenView) -> str:
    """When a forward-auth server last saw the token, and how often in all; or never."""
    if view.last_used_at is None:
        return display.NEVER
    return f"{display.format_utc(view.last_used_at)} ({display.requests_text(view.use_count)})"


def delivery_text(view: TokenView) -> str:
    """The token's delivery command as ``show`` names it, and who set it."""
    if view.delivery_command is None:
        return "-"
    text = f"{view.delivery_command} (set by {view.delivery_set_by or 'someone unknown'}"
    refusal = delivery.refusal(view.delivery_set_by, view.holder)
    return text + (": not run, the holder did not set it)" if refusal else ")")


def _overdue(view: TokenView, now: datetime) -> str:
    return " (overdue)" if view.rotation_overdue(now) else ""


def show(service: TokenService, args: argparse.Namespace) -> int:
    view = service.token(args.id)
    secret = service.reveal(args.id) if args.reveal else None
    now = service.clock.now()
    record = _record(view, now)
    if secret is not None:
        record["secret"] = secret
    emit(args, record, lambda: _details(view, secret, now))
    return EXIT_OK


def set_status(active: bool) -> Handler:
    def handler(service: TokenService, args: argparse.Namespace) -> int:
        view = service.set_status(args.id, active)
        emit(args, view.to_json(), f"Token {view.id} is {view.status}.")
        return EXIT_OK

    return handler


def refresh(service: TokenService, args: argparse.Namespace) -> int:
    """Issue the new secret, then deliver it (synchronously, outside every transaction) and
    say how that went in one line; the exit status stays the refresh's (see its epilog)."""
    issued = service.refresh(args.id, grace=args.grace)
    view = issued.token
    if issued.previous_valid_until is not None:
        until = display.format_utc(issued.previous_valid_until)
        previous = f"the previous secret stays valid until {until}"
    else:
        previous = "the previous secret is no longer valid"
    outcome: DeliveryOutcome | None = None
    problem: str | None = None
    if view.delivery_command is not None:
        try:
            outcome = service.deliver(view.id)
        except TokenDeskError as failure:  # the secret is issued: say so, and why not delivered
            problem = str(failure)
    record = {**view.to_json(), "secret": issued.secret}
    record["delivery"] = outcome.to_json() if outcome is not None else None
    emit(args, record, lambda: secret_text(issued, f"Token {view.id} has a new secret; {previous}"))
    if outcome is not None:
        note(f"delivery: {outcome.summary}")
    elif problem is not None:
        note(f"delivery: token {view.id}: not tried now ({problem}); it is tried again later")
    return EXIT_OK


def note(text: str) -> None:
    """One line about what followed the command's own work, on standard error (standard output
    is the record a script reads)."""
    print(conceal(one_line(text)), file=sys.stderr)


def deliver(service: TokenService, args: argparse.Namespace) -> int:
    view = service.set_delivery(args.id, None if args.off else args.delivery_command)
    if view.delivery_command is None:
        text = f"Token {view.id} delivers its new secrets to no command."
    else:
        text = f"Token {view.id} delivers each new secret to: {view.delivery_command}" + (
            "" if view.holder == service.person else f" (once {service.person} holds it)"
        )
    emit(args, view.to_json(), text)
    return EXIT_OK


def rotate(service: TokenService, args: argparse.Namespace) -> int:
    if args.off and args.grace is not None:
        raise InvalidInput("--grace goes with --every, not with --off")
    view = service.set_rotation(args.id, None if args.off else args.every, args.grace)
    if view.rotation is None:
        text = f"Token {view.id} is no longer rotated automatically."
    else:
        schedule = display.rotation_phrase(view.rotation, view.rotation_interval)
        text = (
            f"Token {view.id} rotates {schedule}; next rotation at "
            f"{display.format_utc(view.next_rotation_at)}, grace {format_interval(view.grace)}."
        )
    emit(args, view.to_json(), text)
    return EXIT_OK


def expire(service: TokenService, args: argparse.Namespace) -> int:
    view = service.set_expiry(args.id, None if args.never else parse_when(args.at))
    if view.expires_at is None:
        text = f"Token {view.id} never expires."
    else:
        text = f"Token {view.id} expires at {display.format_utc(view.expires_at)}."
    emit(args, view.to_json(), text)
    return EXIT_OK


def label(service: TokenService, args: argparse.Namespace) -> int:
    view = service.set_label(args.id, args.text)
    if view.label:
        text = f"Token {view.id} is labelled {view.label!r}."
    else:
        text = f"Token {view.id} has no label."
    emit(args, view.to_json(), text)
    return EXIT_OK


def delete(service: TokenService, args: argparse.Namespace) -> int:
    if not args.yes:
        raise InvalidInput(
            f"deleting token {args.id} is permanent (its secret is removed from the keyring): "
            "add --yes to confirm"
        )
    service.delete(args.id)
    print(f"Deleted token {args.id} and its secret.")  # a message, not a record: no --json
    return EXIT_OK
