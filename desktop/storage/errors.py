"""Database errors in the project's own terms: nothing above storage ever sees the driver's.

Every storage function that reaches SQLite runs inside :func:`translated` (or is decorated with
:func:`translating`), so callers catch :class:`~desktop.domain.errors.DatabaseError` and never
need to know that Peewee or :mod:`sqlite3` sit underneath.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from desktop.domain.errors import DatabaseError, DatabaseUnavailable

P = ParamSpec("P")
R = TypeVar("R")

# OperationalError texts that mean "not now" rather than "never": another process holds the
# lock past the busy timeout, or the file cannot be opened at all.
_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error", "readonly database")


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The errors to translate: :mod:`sqlite3`'s, and Peewee's once it is loaded (the raw reads
    run before it is, and nothing can raise its errors until it is)."""
    peewee = sys.modules.get("peewee")
    return (sqlite3.Error,) if peewee is None else (sqlite3.Error, peewee.PeeweeException)


def _operational_errors() -> tuple[type[BaseException], ...]:
    peewee = sys.modules.get("peewee")
    if peewee is None:
        return (sqlite3.OperationalError,)
    return (sqlite3.OperationalError, peewee.OperationalError)


def translate(error: BaseException) -> DatabaseError:
    """The project's error for a driver error (the message keeps SQLite's own words)."""
    text = str(error) or type(error).__name__
    if isinstance(error, _operational_errors()) and any(
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
    except Exception as error:
        if isinstance(error, _driver_errors()):
            raise translate(error) from error
        raise


def translating(function: Callable[P, R]) -> Callable[P, R]:
    """:func:`translated` around every call of *function*."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            if isinstance(error, _driver_errors()):
                raise translate(error) from error
            raise

    return wrapper
