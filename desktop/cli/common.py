"""What every command shares: exit statuses, one-line messages on standard error (with anything
that looks like a token masked), argument types, the token read from standard input, and the
helpers that declare a command beside its handler."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeAlias

from desktop.domain import tokens
from desktop.services.tokens import TokenService

PROG = "tokendesk"
# What a script can act on; the README's command-line section and --help say the same.
EXIT_OK = 0
EXIT_FAILED = 1  # an operation failed: verify denied, a rotation, a self-test check, the window
EXIT_USAGE = 2  # bad input or an action the rules refuse; nothing was changed
EXIT_KEYRING = 3  # the keyring is unavailable, locked or did not answer; nothing was changed
EXIT_DATABASE = 4  # the database cannot be used: damaged, too new, disk full, read-only
EXIT_INTERRUPTED = 130
MAX_STDIN = 64 * 1024  # verify reads at most this much of standard input
MAX_TOKEN_ID = 2**63 - 1  # SQLite's INTEGER range
MAX_COUNT = 1_000_000

INTERVAL_HELP = (
    "Nh, Nd or Nw (N a positive whole number), or daily, weekly, monthly (30d), quarterly (90d)"
)
GRACE_HELP = (
    "how long the previous secret stays valid after a refresh or rotation: an interval as for "
    "--rotate, or 0 for no grace (invalid at once)"
)

Handler: TypeAlias = Callable[[TokenService, argparse.Namespace], int]
"""A command: works through the service, prints its result, returns the exit status."""

Subparsers: TypeAlias = "argparse._SubParsersAction[Any]"  # argparse names no public type


# ---------------------------------------------------------------------------- messages


def one_line(text: object) -> str:
    """*text* with every run of whitespace (newlines too) made one space."""
    return " ".join(str(text).split())


def conceal(text: str) -> str:
    """*text* with everything that looks like a token shown as the window shows a token (see
    :func:`desktop.domain.tokens.conceal`): messages quote what was typed, and a secret pasted
    into the wrong argument must not reach cron mail or a CI log."""
    return tokens.conceal(text)


def error(message: str) -> None:
    """The one line a refusal or failure prints on standard error."""
    print(f"{PROG}: error: {conceal(one_line(message))}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"warning: {conceal(one_line(message))}", file=sys.stderr)


# ---------------------------------------------------------------------------- argument types


def token_id(text: str) -> int:
    """A token id as typed: a positive whole number within SQLite's INTEGER range, in ASCII
    digits only (``int`` would also read ``"١٢"``, ``"+12"`` and ``"1_2"`` as 12)."""
    digits = text.strip()
    negative = digits.startswith("-")
    if negative:
        digits = digits[1:]
    if not (digits.isascii() and digits.isdigit()):
        raise argparse.ArgumentTypeError(
            f"invalid token id {text[:40]!r}: expected a whole number such as 12"
        )
    significant = digits.lstrip("0")
    if negative or not significant:
        raise argparse.ArgumentTypeError(f"invalid token id {text[:40]!r}: must be positive")
    # Compared by length first: int() refuses thousands of digits with an error of its own.
    if len(significant) > len(str(MAX_TOKEN_ID)) or int(significant) > MAX_TOKEN_ID:
        raise argparse.ArgumentTypeError(f"invalid token id {text[:40]!r}: too large")
    return int(significant)


def positive(text: str) -> int:
    """A count from 1 to 1,000,000, in ASCII digits only (as :func:`token_id`)."""
    digits = text.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else 0
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"invalid count {text[:40]!r}: expected 1 to 1000000")
    return value


# ---------------------------------------------------------------------------- standard input


def read_presented() -> str:
    """The token from standard input (at most 64 KiB, surrounding whitespace removed); typed
    at a terminal, it is not echoed. Reading it there keeps it out of the process list."""
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


# ---------------------------------------------------------------------------- declaring commands


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (status 2, like every refusal here), in which
    anything that looks like a token is masked. Sub-commands' parsers are of the same class:
    argparse makes them with the parent's type."""

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        """The value of one argument; when it is refused and looks like a token, the refusal
        quotes its masked form. The argument types shorten what they quote, so masking their
        message afterwards would show four characters from the middle of the secret rather
        than the window's last four."""
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError:
            concealed = conceal(arg_string)
            if concealed == arg_string:
                raise
        super()._get_value(action, concealed)  # raises, quoting the masked form
        raise argparse.ArgumentError(action, "invalid value: it looks like a token")

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE, f"{PROG}: error: {conceal(one_line(message))} (see '{self.prog} --help')\n"
        )


def noun(commands: Subparsers, name: str, help_text: str, description: str) -> Subparsers:
    """A noun such as ``env``, whose actions (``add``, ``list``…) are added to what it returns."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=description
    )
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True, title="actions")


def command(
    group: Subparsers,
    name: str,
    handler: Handler,
    help_text: str,
    *,
    json_output: bool = True,
    secret: bool = False,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """One command: its help line (also its description), its handler, whether it takes
    ``--json``, and whether it needs the keyring (``secret``: checked before anything else)."""
    parser: argparse.ArgumentParser = group.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler, secret=secret)
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def token_id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", type=token_id, help="the token's id (see token list)")
