"""What a forward-auth server (``tokendesk serve``) asks of the registry besides its decisions
and the change log (both through the token service): which file it reads, and the uses it
counted.

Decisions come from :class:`~desktop.services.access.AccessIndex`; this module is the rest, so
the server reaches the registry through the services alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.storage.database import Database
from desktop.storage.lazy import deferred

if TYPE_CHECKING:
    from desktop.storage import repository
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")


def registry_file(database: Database) -> Path | None:
    """The SQLite file the registry is, or None for one on a server (PostgreSQL)."""
    if database.engine != "sqlite":
        return None
    return Path(database.path)


def file_identity(path: Path) -> tuple[int, int]:
    """The file at *path* now, as (device, inode): an open SQLite connection keeps reading a
    file that was deleted or replaced, so only the path tells that the registry is gone.
    Raises :class:`OSError` (``FileNotFoundError``) when nothing is there."""
    found = os.stat(path)
    return found.st_dev, found.st_ino


def record_uses(database: Database, uses: Mapping[int, tuple[datetime, int]]) -> None:
    """Add a batch of counted uses, ``{token id: (last used, naive UTC; how many times)}``, in
    one transaction: a server writes once every few seconds, never once per request."""
    if not uses:
        return
    with database.transaction():
        repository.record_uses(database, uses)
