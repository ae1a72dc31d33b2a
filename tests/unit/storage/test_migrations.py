"""A migration step appended after PostgreSQL registries exist runs on both engines: written
once, through Peewee, in one transaction with its version."""

from __future__ import annotations

from pathlib import Path

import peewee as pw
import pytest

from desktop.app import open_context
from desktop.secrets.memory import InMemorySecretStore
from desktop.storage import database as storage
from desktop.storage import postgres
from desktop.storage.database import DB_FILENAME, add_column, open_registry, user_version


def retires(handle: pw.Database) -> None:
    """What a later step looks like: a nullable column and a NOT NULL one with a default."""
    add_column(handle, "token", "retired_at", pw.DateTimeField(null=True))
    add_column(handle, "agent", "note", pw.TextField(constraints=[pw.SQL("DEFAULT ''")]))


def breaks_halfway(handle: pw.Database) -> None:
    retires(handle)
    raise RuntimeError("a step that breaks halfway")


def with_step(monkeypatch: pytest.MonkeyPatch, step: object) -> int:
    """The released steps and *step* after them; the new schema version."""
    steps = [*RELEASED, step]
    for module in (storage, postgres):
        monkeypatch.setattr(module, "MIGRATIONS", steps)
        monkeypatch.setattr(module, "SCHEMA_VERSION", len(steps))
    return len(steps)


RELEASED = list(storage.MIGRATIONS)


def columns(location: str | Path, table: str) -> dict[str, bool]:
    """Each column of *table*: whether it may be NULL."""
    database = open_registry(location)
    try:
        return {column.name: column.null for column in database.handle.get_columns(table)}
    finally:
        database.close()


def test_a_step_appended_later_runs_on_either_engine_in_one_transaction(
    data_dir: Path, registry: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    location: str | Path = registry or data_dir / DB_FILENAME
    context = open_context(data_dir, store=InMemorySecretStore(), database=registry)
    context.service.add_role("Reader", ["GET /Loans"])
    context.service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    context.close()

    with_step(monkeypatch, breaks_halfway)
    with pytest.raises(RuntimeError, match="breaks halfway"):
        open_registry(location)
    monkeypatch.undo()
    assert "retired_at" not in columns(location, "token")  # undone with its version

    version = with_step(monkeypatch, retires)
    database = open_registry(location)
    try:
        assert user_version(database) == version
        assert database.rows("SELECT name, note FROM agent") == [("alice", "")]
    finally:
        database.close()
    assert columns(location, "token")["retired_at"] is True
    assert columns(location, "agent")["note"] is False


def test_a_version_8_journal_gains_owner_hosts_and_its_intents_are_this_hosts(
    data_dir: Path, registry: str | None
) -> None:
    """Step 9 on either engine: intents written before it name no host, and were written on
    the machine whose registry it was, so this host judges their owner by PID as before."""
    location: str | Path = registry or data_dir / DB_FILENAME
    context = open_context(data_dir, store=InMemorySecretStore(), database=registry)
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    token_id = service.create_token("Production", "alice").token.id
    context.close()
    database = open_registry(location)
    try:  # back to version 8, with an intent of a process that has ended
        database.execute("ALTER TABLE intent DROP COLUMN owner_host")
        if registry is None:
            database.execute("PRAGMA user_version = 8")
        else:
            table = postgres._VERSION_TABLE
            database.execute(f"UPDATE {table} SET version = 8 WHERE version > 8")  # noqa: S608
        database.execute(
            "INSERT INTO intent (token_id, kind, from_generation, to_generation, grace_seconds,"
            " action, actor, owner_pid, created_at) VALUES (?, 'refresh', 0, 1, 0, 'refresh',"
            " 'cli', ?, ?)",
            (token_id, 2**22 + 1, "2026-01-01 00:00:00"),  # above any Linux pid_max
        )
        assert "owner_host" not in {c.name for c in database.handle.get_columns("intent")}
    finally:
        database.close()
    context = open_context(data_dir, store=InMemorySecretStore(), database=registry)
    try:
        assert user_version(context.database) == storage.SCHEMA_VERSION
        assert columns(location, "intent")["owner_host"] is True
        assert context.database.rows("SELECT owner_host FROM intent") == []  # recovered
        assert context.service.token(token_id).generation == 0
    finally:
        context.close()
