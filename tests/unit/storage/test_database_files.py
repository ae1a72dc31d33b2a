"""The database's files on disk: private whatever the umask, never replaced when they exist,
and one clear sentence when the disk is full, the file read-only or its folder missing."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.domain.errors import DatabaseError, DatabaseUnavailable
from desktop.storage import database as storage
from desktop.storage.database import DB_FILENAME, SCHEMA_VERSION, Database, open_database


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """The usual umask, under which a file is made readable by everyone unless said otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_once(database: Database) -> None:
    with database.transaction():
        database.execute("PRAGMA user_version")
        database.execute(
            "INSERT INTO environment (name, name_key, api_enabled, created_at) "
            "VALUES ('x', 'x', 1, '2026')"
        )


def fill(database: Database) -> None:
    """Rows in one transaction, more than a few pages hold."""
    with database.transaction():
        for number in range(1000):
            database.execute(
                "INSERT INTO environment (name, name_key, api_enabled, created_at) "
                "VALUES (?, ?, 1, ?)",
                (f"environment {number}", f"environment {number}", "x" * 500),
            )


def test_a_new_folder_database_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "data" / DB_FILENAME
    database = open_database(path)
    try:
        write_once(database)
        wal, shm = path.with_name(DB_FILENAME + "-wal"), path.with_name(DB_FILENAME + "-shm")
        assert wal.exists() and shm.exists()
        assert (mode(path.parent), mode(path), mode(wal), mode(shm)) == (0o700, 0o600, 0o600, 0o600)
    finally:
        database.close()
    assert sorted(item.name for item in path.parent.iterdir()) == [DB_FILENAME]


def test_the_backup_before_a_migration_is_owner_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = data_dir / DB_FILENAME
    open_database(path).close()
    # One more (empty) step than the file has, so that opening it migrates it.
    monkeypatch.setattr(storage, "MIGRATIONS", [*storage.MIGRATIONS, lambda database: None])
    monkeypatch.setattr(storage, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    open_database(path).close()
    backup = path.with_name(f"{DB_FILENAME}.v{SCHEMA_VERSION}.bak")
    assert mode(backup) == 0o600
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert not [item for item in data_dir.iterdir() if item.name.endswith(".new")]


def test_loose_modes_are_narrowed_with_one_warning(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = data_dir / DB_FILENAME
    open_database(path).close()
    backup = path.with_name(f"{DB_FILENAME}.v1.bak")
    backup.write_bytes(b"")
    for item, loose in ((data_dir, 0o755), (path, 0o644), (backup, 0o644)):
        item.chmod(loose)
    with caplog.at_level(logging.WARNING, logger="desktop"):
        database = open_database(path)
    try:
        write_once(database)
        wal = path.with_name(DB_FILENAME + "-wal")
        assert (mode(data_dir), mode(path), mode(backup), mode(wal)) == (0o700, 0o600, 0o600, 0o600)
    finally:
        database.close()
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert all(str(item) in message for item in (data_dir, path, backup)) and "private" in message

    caplog.clear()
    open_database(path).close()  # already private: nothing to say
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_shared_sticky_folder_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    open_database(shared / DB_FILENAME).close()
    assert mode(shared) == 0o1777
    assert mode(shared / DB_FILENAME) == 0o600


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "the file is empty"),
        (b"this is not SQLite " * 100, "not an SQLite file"),
        (b"SQLite format 3\x00" + b"\xff" * 200, "file is not a database"),
    ],
    ids=["empty", "not-sqlite", "damaged-header"],
)
def test_an_existing_file_that_is_not_a_database_is_refused_never_replaced(
    data_dir: Path, content: bytes, why: str
) -> None:
    path = data_dir / DB_FILENAME
    path.write_bytes(content)
    with pytest.raises(DatabaseError) as refused:
        open_database(path)
    message = str(refused.value)
    assert message.startswith(f"the database {path} is damaged or not a TokenDesk database")
    assert why in message and "restore it from a backup" in message
    assert path.read_bytes() == content
    assert sorted(item.name for item in data_dir.iterdir()) == [DB_FILENAME]


def test_a_full_disk_is_one_sentence_and_the_transaction_is_undone(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``max_page_count`` makes the file genuinely full: SQLite answers SQLITE_FULL and rolls
    the transaction back itself, so the rollback tried after it finds none."""
    path = data_dir / DB_FILENAME
    open_database(path).close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    monkeypatch.setitem(storage.PRAGMAS, "max_page_count", pages)
    database = open_database(path)
    try:
        with pytest.raises(DatabaseUnavailable) as full:
            fill(database)
        assert str(full.value) == (
            f"the disk holding {data_dir} is full: free some space, then try again"
        )
        assert full.value.__suppress_context__ or "rollback" not in str(full.value.__cause__)
        assert database.rows("SELECT * FROM environment") == []  # nothing half-written
    finally:
        database.close()


def test_a_read_only_database_says_so(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = data_dir / DB_FILENAME
    open_database(path).close()
    monkeypatch.setitem(storage.PRAGMAS, "query_only", 1)  # SQLite's own SQLITE_READONLY
    database = open_database(path)
    try:
        with pytest.raises(DatabaseUnavailable, match=f"^the database {path} is read-only: "):
            write_once(database)
    finally:
        database.close()


def test_a_folder_that_vanished_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gone" / DB_FILENAME
    with pytest.raises(DatabaseUnavailable, match=f"^the folder {path.parent} does not exist"):
        Database(path).first("PRAGMA user_version")


@pytest.mark.parametrize("below", ["", "sub", "sub/deeper"])
def test_a_data_dir_that_cannot_be_made_is_named(tmp_path: Path, below: str) -> None:
    """What is named is the file in the way, however deep below it the folder was to be."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DatabaseUnavailable, match=f"^{blocker} is not a folder$"):
        open_database(blocker / below / DB_FILENAME)
    assert blocker.read_text() == ""
