"""The composition root: database, secret store and services for one data dir."""

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
    from desktop.gui.main_window import MainWindow

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

    from desktop.gui.main_window import MainWindow

    # The keyring is opened once the window has painted: reaching it takes a D-Bus round trip
    # and importing keyring, and nothing on the first screen needs a secret.
    context = open_context(Path(data_dir), actor=getpass.getuser(), need_keyring=False)
    return MainWindow(context, environment=environment)
