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
        (pw.OperationalError("no such table: token"), DatabaseError),
        (pw.IntegrityError("UNIQUE constraint failed: environment.name"), DatabaseError),
        (pw.InterfaceError(), DatabaseError),
    ],
)
def test_translate(error: Exception, kind: type[DatabaseError]) -> None:
    translated_error = translate(error)
    assert type(translated_error) is kind
    assert isinstance(translated_error, TokenDeskError)
    assert str(translated_error) == (str(error) or type(error).__name__)


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            sqlite3.OperationalError("database or disk is full"),
            DatabaseUnavailable,
            "the disk holding /data is full: free some space, then try again",
        ),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            DatabaseUnavailable,
            "the database /data/t.sqlite3 is read-only: ",
        ),
        (
            pw.OperationalError("unable to open database file"),
            DatabaseUnavailable,
            "the folder /data does not exist",
        ),
        (
            sqlite3.DatabaseError("file is not a database"),
            DatabaseError,
            "the database /data/t.sqlite3 is damaged or not a TokenDesk database (file is not a "
            "database); TokenDesk will not replace it: restore it from a backup",
        ),
        (
            pw.DatabaseError("database disk image is malformed"),
            DatabaseError,
            "the database /data/t.sqlite3 is damaged",
        ),
    ],
)
def test_what_a_person_can_act_on_is_said_in_their_words(
    error: Exception, kind: type[DatabaseError], message: str
) -> None:
    translated_error = translate(error, "/data/t.sqlite3")
    assert type(translated_error) is kind
    assert str(translated_error).startswith(message)


def test_a_failed_rollback_gives_way_to_the_error_it_followed() -> None:
    """SQLite rolls a transaction back itself on a full disk; the rollback tried on top of that
    fails, and its "no transaction is active" must not hide what happened."""

    def roll_back_after_a_full_disk() -> None:
        with translated("/data/t.sqlite3"):
            try:
                raise sqlite3.OperationalError("database or disk is full")
            except sqlite3.OperationalError:
                raise pw.OperationalError("cannot rollback - no transaction is active") from None

    with pytest.raises(DatabaseUnavailable) as caught:
        roll_back_after_a_full_disk()
    assert str(caught.value).startswith("the disk holding /data is full")

    @translating
    def write(database: object) -> None:
        try:
            raise translate(sqlite3.OperationalError("database or disk is full"))
        except DatabaseError:
            raise sqlite3.OperationalError("cannot rollback - no transaction is active") from None

    with pytest.raises(DatabaseUnavailable, match="is full") as caught:
        write(None)
    assert "rollback" not in str(caught.value)


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
