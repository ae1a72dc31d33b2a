"""The composition root: database, secret store and services for one data dir, and the main
window with what runs beside it (keyring session, rotation runner, table reader, clipboard)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import peewee as pw

from desktop.domain.clock import Clock
from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.store import SecretStore, open_secret_store
from desktop.services.tokens import TokenService
from desktop.services.views import ReconcileReport
from desktop.storage.database import DB_FILENAME, open_database

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from desktop.gui.main_window import MainWindow, WindowOptions
    from desktop.services.keyring_session import Opener

log = logging.getLogger(__name__)


@dataclass
class Context:
    """Everything one process needs to work on one data dir."""

    data_dir: Path
    database: pw.SqliteDatabase
    service: TokenService
    keyring_problem: str | None  # why the keyring cannot be used, or None
    recovery: ReconcileReport
    keyring_tried: bool = True  # False: opened without trying the keyring (the window does)

    def close(self) -> None:
        self.database.close()


def open_context(
    data_dir: Path,
    *,
    actor: str = "cli",
    store: SecretStore | None = None,
    clock: Clock | None = None,
    need_keyring: bool = True,
) -> Context:
    """Open the database (migrating it), pick the keyring and finish any interrupted change.

    With ``need_keyring=False`` a missing keyring is recorded, not raised: read-only commands
    and the window still work, and nothing is deleted or regenerated while it is missing.
    """
    database = open_database(data_dir / DB_FILENAME)
    problem = None
    if store is None and need_keyring:
        try:
            store = open_secret_store()
        except SecretStoreUnavailable as error:
            problem = str(error)
    service = TokenService(database, store, clock=clock, actor=actor)
    recovery = service.reconcile()
    tried = store is not None or need_keyring
    if recovery.problem and problem is None and tried:
        problem = recovery.problem
    return Context(
        data_dir, database, service, problem, recovery, store is not None or need_keyring
    )


def build_main_window(data_dir: Path | str, *, environment: str | None = None) -> MainWindow:
    """The fully wired, not yet shown main window for *data_dir* (a QApplication must exist),
    showing *environment* (a name, ``ALL_ENVIRONMENTS``, or None for the first) if it exists."""
    import getpass

    # The keyring is opened once the window has painted: reaching it takes a D-Bus round trip
    # and importing keyring, and nothing on the first screen needs a secret.
    context = open_context(Path(data_dir), actor=getpass.getuser(), need_keyring=False)
    return main_window_for(context, environment=environment)


def main_window_for(
    context: Context,
    *,
    opener: Opener | None = None,
    check_interval_ms: int | None = None,
    clear_after_ms: int | None = None,
    **options: Unpack[WindowOptions],
) -> MainWindow:
    """The main window on an open *context*, with the parts that run beside it built here and
    handed in: the keyring session (reaching the store through *opener*, the system keyring by
    default), the rotation runner (checking every *check_interval_ms*), the table's reader
    thread and the clipboard (cleared after *clear_after_ms*). *options* go to the window
    (``environment``, ``autostart``, ``poll_interval_ms``, ``reveal_ms``,
    ``read_in_background_above``). The window reads *context*; its owner closes it."""
    from desktop.gui.clipboard import CLEAR_AFTER_MS, SecretClipboard
    from desktop.gui.main_window import MainWindow
    from desktop.gui.table_reader import TableReader
    from desktop.services.keyring_session import KeyringSession
    from desktop.services.runner import DEFAULT_CHECK_INTERVAL_MS, RotationRunner

    service = context.service
    runner = RotationRunner(service, check_interval_ms or DEFAULT_CHECK_INTERVAL_MS)
    session = KeyringSession(
        service,
        runner,
        problem=context.keyring_problem,
        tried=context.keyring_tried,
        opener=opener,
    )
    return MainWindow(
        context,
        keyring=session,
        runner=runner,
        reader=TableReader(service),
        clipboard=SecretClipboard(None, clear_after_ms or CLEAR_AFTER_MS),
        **options,
    )
