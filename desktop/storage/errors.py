"""Database errors in the project's own terms: nothing above storage ever sees the driver's.

Every storage function that reaches SQLite runs inside :func:`translated` (or is decorated with
:func:`translating`), so callers catch :class:`~desktop.domain.errors.DatabaseError` and never
need to know that Peewee or :mod:`sqlite3` sit underneath.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import peewee as pw

from desktop.domain.errors import DatabaseError, DatabaseUnavailable

P = ParamSpec("P")
R = TypeVar("R")

# OperationalError texts that mean "not now" rather than "never": another process holds the
# lock past the busy timeout, or the file cannot be opened at all.
_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error", "readonly database")


def translate(error: BaseException) -> DatabaseError:
    """The project's error for a driver error (the message keeps SQLite's own words)."""
    text = str(error) or type(error).__name__
    if isinstance(error, pw.OperationalError | sqlite3.OperationalError) and any(
        part in text.lower() for part in _UNAVAILABLE
    ):
        return DatabaseUnavailable(text)
    return DatabaseError(text)


@contextmanager
def translated() -> Iterator[None]:
    """Raise :class:`DatabaseError` (or :class:`DatabaseUnavailable`) for what the driver raises
    inside the block; every other exception passes through unchanged."""
    try:
        yield
    except (pw.PeeweeException, sqlite3.Error) as error:
        raise translate(error) from error


def translating(function: Callable[P, R]) -> Callable[P, R]:
    """:func:`translated` around every call of *function*."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (pw.PeeweeException, sqlite3.Error) as error:
            raise translate(error) from error

    return wrapper
