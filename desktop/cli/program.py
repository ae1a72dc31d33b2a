"""The ``tokendesk`` program: the top-level parser, logging, and every outcome turned into an
exit status and at most one line on standard error.

Each noun's module (``env``, ``role``, ``agent``, ``token``, ``verify``, ``rotate``, ``audit``,
``serve``)
declares its commands with ``register`` beside their handlers; this module puts them together,
opens the data dir for the command chosen and runs its handler.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from desktop import __version__, logs, paths
from desktop.app import open_context
from desktop.cli import agent, audit, env, role, rotate, serve, token, verify, window
from desktop.cli.common import (
    EXIT_DATABASE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_KEYRING,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    Handler,
    Parser,
    error,
)
from desktop.domain.errors import (
    DatabaseError,
    NotFound,
    SchemaTooNew,
    SecretMismatch,
    SecretStoreUnavailable,
    TokenDeskError,
)
from desktop.secrets.store import SecretStore, open_secret_store
from desktop.storage.database import DB_FILENAME

log = logging.getLogger(__name__)

STDERR_FORMAT = f"{PROG}: %(levelname)s: %(name)s: %(message)s"

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
The registry is the SQLite file there, unless --database (or $TOKENDESK_DATABASE) names a
PostgreSQL database that a team shares: postgresql://user@host:port/dbname, with libpq's
settings (PGPASSWORD, ~/.pgpass, sslmode) as psql takes them. Keep the password in ~/.pgpass,
not in the URL: a command line is visible to every user of the machine.
Secrets live only in the system keyring; the database keeps fingerprints and 4-character hints.

exit status:
  0  done (verify: the answer was 200)
  1  an operation failed: verify answered 401 or 403, a rotation in rotate-due failed,
     a self-test check failed
  2  bad input or refused by the rules (nothing was changed)
  3  the keyring is unavailable, locked or did not answer (nothing was changed; try again)
  4  the database cannot be used: damaged, written by a newer TokenDesk, disk full,
     read-only or its folder missing; a PostgreSQL server down, a login refused, a
     database missing
"""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    parser.add_argument(
        "--database",
        metavar="URL",
        help="a registry on PostgreSQL, postgresql://user@host:port/dbname (default: "
        "$TOKENDESK_DATABASE, else the SQLite file in the data dir)",
    )
    window.add_options(parser)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for noun in (env, role, agent, token, verify, rotate, audit, serve):
        noun.register(commands)
    return parser


# ---------------------------------------------------------------------------- running


def _needs_secret(args: argparse.Namespace) -> bool:
    return bool(args.secret or getattr(args, "reveal", False))


def _run_command(args: argparse.Namespace, store: SecretStore | None) -> int:
    data_dir = paths.data_dir(args.data_dir)
    # A command that handles a secret checks the keyring before it touches the database;
    # read-only commands never reach it.
    if not _needs_secret(args):
        store = None
    elif store is None:
        store = open_secret_store()
    else:
        store.check()
    if getattr(args, "existing_registry", False) and args.database_url is None:
        registry = data_dir / DB_FILENAME
        if not registry.exists():
            # Opening would make an empty one, and a server on it would answer 401 to all and
            # report itself healthy: a mistyped --data-dir must not look like a working one.
            raise NotFound(
                f"no registry at {registry}: serve reads one TokenDesk made there (check "
                "--data-dir, or create it with the window or any other command)"
            )
    context = open_context(data_dir, store=store, need_keyring=False, database=args.database_url)
    try:
        handler: Handler = args.handler
        return handler(context.service, args)
    finally:
        context.close()


def _what(args: argparse.Namespace) -> str:
    """The run in words for the log: ``token create``, ``window``, ``self-test``…"""
    if args.command is not None:
        return " ".join(filter(None, [args.command, getattr(args, "action", None)]))
    return "self-test" if args.self_test else "demo" if args.demo else "window"


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


def main(argv: Sequence[str] | None = None, *, store: SecretStore | None = None) -> int:
    """The ``tokendesk`` command: returns the exit status.

    *store* is the one seam for tests: a secret store (such as
    :class:`~desktop.secrets.memory.InMemorySecretStore`) used wherever a command would open
    the system keyring, and checked at the same moment, so an unavailable one is refused the
    same way. None, the default, means the system keyring. Nothing else differs.
    """
    parser = build_parser()
    arguments = sys.argv[1:] if argv is None else list(argv)
    if any(not _is_text(argument) for argument in arguments):
        error("an argument is not valid text (UTF-8): check the terminal's or script's encoding")
        return EXIT_USAGE
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return _exit_status(exit_.code)
    installed = logs.install(logs.log_dir(args.data_dir), stderr_format=STDERR_FORMAT)
    try:
        log.info("%s %s: %s", PROG, __version__, _what(args), extra=logs.FILE_ONLY)
        return _run(parser, args, store)
    finally:
        installed.remove()


def _run(
    parser: argparse.ArgumentParser, args: argparse.Namespace, store: SecretStore | None
) -> int:
    try:
        args.database_url = paths.database_url(args.database)
    except ValueError as bad:
        error(str(bad))
        return EXIT_USAGE
    try:
        if args.command is None:
            return window.run(args, store)
        if args.demo or args.self_test:
            parser.error("--demo and --self-test take no command")
        return _run_command(args, store)
    except SystemExit as exit_:
        return _exit_status(exit_.code)
    except (DatabaseError, SchemaTooNew) as failure:  # before TokenDeskError: not a refusal
        log.debug("database error", exc_info=True)
        message = str(failure)
        folder = str(paths.data_dir(args.data_dir))
        # A PostgreSQL registry's messages name it (never its password); a file's, its folder.
        named = args.database_url is not None or folder in message
        error(message if named else f"cannot use the database in {folder}: {message}")
        return EXIT_DATABASE
    except SecretStoreUnavailable as failure:
        log.info("keyring unavailable: %s", failure, extra=logs.FILE_ONLY)
        error(str(failure))
        return EXIT_KEYRING
    except SecretMismatch as failure:
        log.warning("%s", failure, extra=logs.FILE_ONLY)
        error(str(failure))
        return EXIT_FAILED
    except TokenDeskError as refused:
        # The rules' messages are written for people and never carry a secret (and error()
        # masks one that was typed where it did not belong).
        log.info("refused: %s", refused, extra=logs.FILE_ONLY)
        error(str(refused))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_FAILED
    except OSError as failure:
        log.debug("system error", exc_info=True)
        error(
            f"{failure.strerror or failure}" + (f": {failure.filename}" if failure.filename else "")
        )
        return EXIT_FAILED
    except Exception:
        # A bug: Python reports it as ever (traceback, status 1); the log file keeps it too.
        log.critical("unexpected error", exc_info=True, extra=logs.FILE_ONLY)
        raise
