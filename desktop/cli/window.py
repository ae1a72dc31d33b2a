"""The runs that are not commands: the desktop window (no command at all), ``--demo`` and
``--self-test``. Both the window and the self-test are imported only when asked for, so a
trimmed installation without the window toolkit still runs every command."""

from __future__ import annotations

import argparse
import importlib
import logging
from types import ModuleType

from desktop import app, paths
from desktop.cli.common import EXIT_FAILED, error
from desktop.secrets.store import SecretStore, open_secret_store

log = logging.getLogger(__name__)


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--demo`` and ``--self-test``, which replace the window and take no command."""
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


def optional_module(name: str, what: str) -> ModuleType | None:
    """Import a part that a trimmed build may lack; None (after saying so) when it is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as missing:
        log.debug("cannot import %s", name, exc_info=True)
        if missing.name is not None and name.startswith(missing.name):
            error(f"{what} is not available in this installation ({name} is missing)")
            return None
        error(f"{what} cannot start: {missing}")
        return None
    except ImportError as failed:  # typically a missing system library of the window toolkit
        log.debug("cannot import %s", name, exc_info=True)
        error(f"{what} cannot start: {failed}")
        return None


def run(args: argparse.Namespace, store: SecretStore | None = None) -> int:
    """The self-test, or the window (on demo data with ``--demo``); its exit status.

    *store*, when given, is only checked for ``--demo`` in place of the system keyring: the
    window and the self-test always meet the real one."""
    data_dir = paths.data_dir(args.data_dir)
    if args.self_test:
        selftest = optional_module("desktop.selftest", "the self-test")
        if selftest is None:
            return EXIT_FAILED
        return int(selftest.run(data_dir))
    if args.demo:
        # The demo creates real tokens: refuse early, with the reason.
        if store is None:
            open_secret_store()
        else:
            store.check()
    # The window toolkit is loaded here, so that a build or a system without it says so.
    if optional_module("desktop.gui.launch", "the desktop window") is None:
        return EXIT_FAILED
    return int(app.run_window(data_dir, demo=args.demo, database=args.database_url))
