"""Driver errors become the project's own; everything else passes through."""

from __future__ import annotations

import sqlite3

import peewee as pw
import pytest

from desktop.domain.errors import DatabaseError, DatabaseUnavailable, NotFound, TokenDeskError
from desktop.storage.errors import translate, translated, translating


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (pw.OperationalError("database is locked"), DatabaseUnavailable),
        (pw.OperationalError("unable to open database file"), DatabaseUnavailable),
        (sqlite3.OperationalError("attempt to write a readonly database"), DatabaseUnavailable),
        (pw.OperationalError("no such table: token"), DatabaseError),
        (pw.IntegrityError("UNIQUE constraint failed: environment.name"), DatabaseError),
        (pw.InterfaceError(), DatabaseError),
        (sqlite3.DatabaseError("file is not a database"), DatabaseError),
    ],
)
def test_translate(error: Exception, kind: type[DatabaseError]) -> None:
    translated_error = translate(error)
    assert type(translated_error) is kind
    assert isinstance(translated_error, TokenDeskError)
    assert str(translated_error) == (str(error) or type(error).__name__)


def test_translated_keeps_the_cause_and_lets_other_errors_pass() -> None:
    with pytest.raises(DatabaseUnavailable) as caught, translated():
        raise pw.OperationalError("database is locked")
    assert isinstance(caught.value.__cause__, pw.OperationalError)
    with pytest.raises(NotFound), translated():
        raise NotFound("unknown token 3")


def test_translating_wraps_a_function() -> None:
    @translating
    def failing(text: str) -> str:
        raise pw.IntegrityError(text)

    with pytest.raises(DatabaseError, match="constraint"):
        failing("constraint")
    assert failing.__name__ == "failing"
