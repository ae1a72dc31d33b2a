"""Database errors in the project's own terms: nothing above storage ever sees the driver's.

Every storage function that reaches SQLite runs inside :func:`translated` (or is decorated with
:func:`translating`), so callers catch :class:`~desktop.domain.errors.DatabaseError` and never
need to know that Peewee or :mod:`sqlite3` sit underneath.

What a person can act on (a full disk, a read-only file, a missing folder, a damaged file, a
lock held too long) is said in one line that names the file and what to do; anything else keeps
SQLite's own words. A failed statement after which SQLite had already rolled the transaction
back (it does so for a full disk) is reported as itself, never as the "cannot rollback - no
transaction is active" that the attempt to roll back again raises on top of it.
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from desktop.domain.errors import DatabaseError, DatabaseUnavailable

P = ParamSpec("P")
R = TypeVar("R")

# OperationalError texts that mean "not now" rather than "never": another process holds the
# lock past the busy timeout, the disk is full, or the file cannot be opened or written at all.
_UNAVAILABLE = (
    "database is locked",
    "unable to open",
    "disk i/o error",
    "readonly database",
    "database or disk is full",
)
# What the failed rollback after an error SQLite already rolled back says.
_NO_TRANSACTION = "no transaction is active"


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The errors to translate: :mod:`sqlite3`'s, Peewee's once it is loaded (the raw reads
    run before it is, and nothing can raise its errors until it is), and psycopg's once a
    PostgreSQL registry has loaded it."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    peewee = sys.modules.get("peewee")
    if peewee is not None:
        errors += (peewee.PeeweeException,)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors += (psycopg.Error,)
    return errors


# What libpq says when the server cannot be reached or the connection is lost.
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "could not translate host name",
    "no such file or directory",
    "timeout expired",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "the connection is lost",
    "consuming input failed",
    "network is unreachable",
    "no route to host",
)


def _postgres_error(error: BaseException) -> BaseException | None:
    """The psycopg error *error* is or wraps (Peewee re-raises the driver's as its own)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return None
    for candidate in (error, error.__cause__, error.__context__):
        if candidate is not None and isinstance(candidate, psycopg.Error):
            found: BaseException = candidate
            return found
    return None


def _libpq_detail(text: str) -> str:
    """libpq's reason on one line: its first line, after the last "failed:" (the address it
    tried is said again by the caller), without the severity word."""
    line = text.strip().splitlines()[0] if text.strip() else text
    detail = line.rsplit("failed: ", 1)[-1].strip()
    for severity in ("FATAL:", "ERROR:"):
        detail = detail.removeprefix(severity).strip()
    return detail or line


def translate_postgres(error: BaseException, where: str) -> DatabaseError | None:
    """The one line for a PostgreSQL server that cannot be used (down, login refused, database
    missing, connection lost), or None for any other error. libpq never puts the password in
    its messages, and *where* is the registry's name, never its URL."""
    driver = _postgres_error(error)
    psycopg = sys.modules.get("psycopg")
    if driver is None or psycopg is None:
        return None
    detail = _libpq_detail(str(driver))
    lowered = detail.lower()
    state = getattr(driver, "sqlstate", None)
    if state in ("28P01", "28000") or any(
        phrase in lowered
        for phrase in ("password authentication failed", "no password supplied", "role ")
    ):
        return DatabaseUnavailable(
            f"{where} refused the login ({detail}): check the user and the password "
            "(PGPASSWORD or ~/.pgpass)"
        )
    if state == "3D000" or ("database" in lowered and "does not exist" in lowered):
        return DatabaseUnavailable(
            f"{where} does not exist: create it (createdb) or check the URL ({detail})"
        )
    if isinstance(driver, psycopg.OperationalError) and any(
        phrase in lowered for phrase in _UNREACHABLE
    ):
        return DatabaseUnavailable(
            f"cannot reach {where} ({detail}): is the server running, and reachable from here?"
        )
    if isinstance(driver, psycopg.OperationalError):
        return DatabaseUnavailable(f"{where}: {detail}")
    return None


def _operational_errors() -> tuple[type[BaseException], ...]:
    peewee = sys.modules.get("peewee")
    if peewee is None:
        return (sqlite3.OperationalError,)
    return (sqlite3.OperationalError, peewee.OperationalError)


def _where(path: str | Path | None) -> str:
    if path is None:
        return "the database"
    # A PostgreSQL registry is named by desktop.storage.postgres.registry_name.
    return str(path) if str(path).startswith("PostgreSQL ") else f"the database {path}"


def _folder(path: str | Path | None) -> Path | None:
    return None if path is None else Path(path).parent


def translate(error: BaseException, path: str | Path | None = None) -> DatabaseError:
    """The project's error for a driver error on the database at *path* (when known): a
    sentence to act on for the conditions a person can fix, SQLite's own words otherwise."""
    text = str(error) or type(error).__name__
    lowered = text.lower()
    where = _where(path)
    postgres = translate_postgres(error, where)
    if postgres is not None:
        return postgres
    if "database or disk is full" in lowered:
        folder = _folder(path)
        holding = f"the disk holding {folder}" if folder is not None else "the database's disk"
        return DatabaseUnavailable(f"{holding} is full: free some space, then try again")
    if "readonly database" in lowered:
        return DatabaseUnavailable(
            f"{where} is read-only: TokenDesk needs to write to it and to its folder "
            "(check the file system and the permissions), then try again"
        )
    if "unable to open" in lowered:
        folder = _folder(path)
        if folder is not None and not folder.is_dir():
            return DatabaseUnavailable(
                f"the folder {folder} does not exist (was it moved, or is its disk unmounted?)"
            )
        if path is not None and not os.path.lexists(path):
            # Connections open only a file that is there (the database is made only when
            # TokenDesk starts): this one went while in use.
            return DatabaseUnavailable(
                f"{where} is gone: it was moved or deleted while TokenDesk was using it; put it "
                "back (or restore it from a backup) before TokenDesk starts again, which would "
                "begin an empty one"
            )
        return DatabaseUnavailable(f"cannot open {where}: check that it and its folder are yours")
    if "file is not a database" in lowered or "malformed" in lowered:
        return DatabaseError(damaged(path, text))
    if isinstance(error, _operational_errors()) and any(part in lowered for part in _UNAVAILABLE):
        return DatabaseUnavailable(text if path is None else f"{text} ({where})")
    return DatabaseError(text)


def damaged(path: str | Path | None, why: str) -> str:
    """What to say of a database file that is not one TokenDesk can read, and what to do."""
    return (
        f"{_where(path)} is damaged or not a TokenDesk database ({why}); TokenDesk will not "
        "replace it: restore it from a backup (a copy is kept beside it as *.bak before each "
        "upgrade), or move it aside to start with an empty one"
    )


def translate_os_error(error: OSError, path: str | Path) -> DatabaseUnavailable:
    """The one line for a file-system error met while making or opening the database's folder
    or file at *path*."""
    where = error.filename or path
    if error.errno == errno.ENOSPC:
        return DatabaseUnavailable(
            f"the disk holding {where} is full: free some space, then try again"
        )
    if error.errno == errno.EROFS:
        return DatabaseUnavailable(f"{where} is on a read-only file system")
    if error.errno == errno.ENOENT:
        return DatabaseUnavailable(f"the folder {Path(where).parent} does not exist")
    if error.errno == errno.ENOTDIR:
        return DatabaseUnavailable(f"{_not_a_folder(Path(where))} is not a folder")
    if error.errno in (errno.EACCES, errno.EPERM):
        return DatabaseUnavailable(f"{where} may not be written by this user (permission denied)")
    return DatabaseUnavailable(f"cannot use {where}: {error.strerror or error}")


def _not_a_folder(path: Path) -> Path:
    """What to name when making or opening something at *path* failed because a part of it is
    not a folder: the first of its ancestors (or *path* itself) that is there but is not one,
    the file in the way, rather than the folder that could not be made below it."""
    for part in (*reversed(path.parents), path):
        # os.path's checks, not Path's: a folder that may not be searched answers False
        # here rather than raise in the middle of reporting another error.
        if os.path.exists(part) and not os.path.isdir(part):
            return part
    return path  # changed since: name what was asked for


def _underlying(error: BaseException) -> BaseException:
    """The error to report: the one a failed rollback was raised on top of, if that is what
    *error* is (SQLite had rolled the transaction back already, for a full disk for one)."""
    if _NO_TRANSACTION not in str(error).lower():
        return error
    context = error.__context__
    while context is not None:
        if (
            isinstance(context, (DatabaseError, *_driver_errors()))
            and _NO_TRANSACTION not in str(context).lower()
        ):
            return context
        context = context.__context__
    return error


def _reraise(error: Exception, path: str | Path | None) -> None:
    """Raise what *error* stands for: a failed rollback gives way to the error it followed
    (translated if need be), a driver error becomes the project's; else return."""
    original = _underlying(error)
    if original is not error:
        if isinstance(original, DatabaseError):
            raise original from None
        raise translate(original, path) from original
    if isinstance(error, _driver_errors()):
        raise translate(error, path) from error


@contextmanager
def translated(path: str | Path | None = None) -> Iterator[None]:
    """Raise :class:`DatabaseError` (or :class:`DatabaseUnavailable`) for what the driver raises
    inside the block, naming the database at *path* when given; every other exception passes
    through unchanged, except a failed rollback, which gives way to the error it followed."""
    try:
        yield
    except Exception as error:
        _reraise(error, path)
        raise


def translating(function: Callable[P, R]) -> Callable[P, R]:
    """:func:`translated` around every call of *function*, naming the database of its first
    argument (the :class:`~desktop.storage.database.Database` every repository function takes)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            _reraise(error, getattr(args[0], "path", None) if args else None)
            raise

    return wrapper
