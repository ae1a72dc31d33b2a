"""A migration step appended after PostgreSQL registries exist runs on both engines: written
once, through Peewee, in one transaction with its version."""

from __future__ import annotations

from pathlib import Path

import peewee as pw
import pytest

from desktop.app import open_context
from desktop.domain.people import person
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


def test_tokens_made_before_holders_are_held_by_this_machines_user(
    data_dir: Path, registry: str | None
) -> None:
    """Every token a registry held before it named holders was made on this machine, by its
    user: the upgrade names them, and they keep their secret, rotations and all."""
    location: str | Path = registry or data_dir / DB_FILENAME
    store = InMemorySecretStore()
    context = open_context(data_dir, store=store, database=registry)
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    issued = service.create_token("Production", "alice", rotation="1d")
    context.close()
    database = open_registry(location)
    try:  # back to the version before holders
        database.handle.execute_sql('ALTER TABLE "token" DROP COLUMN "holder"')
        if database.engine == "postgresql":
            database.handle.execute_sql("UPDATE schema_version SET version = %s", (HOLDERS - 1,))
        else:
            database.handle.execute_sql(f"PRAGMA user_version = {HOLDERS - 1:d}")
    finally:
        database.close()

    context = open_context(data_dir, store=store, database=registry)
    try:
        assert user_version(context.database) == storage.SCHEMA_VERSION
        assert context.service.token(issued.token.id).holder == person()
        assert context.service.reveal(issued.token.id) == issued.secret
    finally:
        context.close()
    assert columns(location, "token")["holder"] is False


HOLDERS = RELEASED.index(storage._step_9_token_holder) + 1  # the version that added them


def test_a_journal_before_owner_hosts_gains_them_and_its_intents_are_this_hosts(
    data_dir: Path, registry: str | None
) -> None:
    """The owner-host step on either engine: intents written before it name no host; this
    one's owner has ended and its lease has run out, so recovery undoes it on either."""
    location: str | Path = registry or data_dir / DB_FILENAME
    context = open_context(data_dir, store=InMemorySecretStore(), database=registry)
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    token_id = service.create_token("Production", "alice").token.id
    context.close()
    database = open_registry(location)
    try:  # back to the version before owner hosts, with an intent of a process that has ended
        database.execute("ALTER TABLE intent DROP COLUMN owner_host")
        if registry is None:
            database.execute(f"PRAGMA user_version = {OWNER_HOSTS - 1:d}")
        else:
            table = postgres._VERSION_TABLE
            database.execute(
                f"UPDATE {table} SET version = {OWNER_HOSTS - 1:d} WHERE version >= {OWNER_HOSTS:d}"  # noqa: S608
            )
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


OWNER_HOSTS = RELEASED.index(storage._step_10_intent_owner_host) + 1  # the version that added them


def test_tokens_made_before_delivery_commands_gain_none_on_either_engine(
    data_dir: Path, registry: str | None
) -> None:
    """The delivery step: a token from before it has no delivery command and nothing due, and
    keeps its secret; the new columns take commands at once."""
    location: str | Path = registry or data_dir / DB_FILENAME
    store = InMemorySecretStore()
    context = open_context(data_dir, store=store, database=registry)
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    issued = service.create_token("Production", "alice", grace="1h")
    context.close()
    database = open_registry(location)
    try:  # back to the version before delivery commands
        database.execute('DROP INDEX "token_delivery_due_at"')
        for column in ("delivery_command", "delivery_set_by", "delivery_due_at"):
            database.execute(f'ALTER TABLE "token" DROP COLUMN "{column}"')
        database.execute('ALTER TABLE "token" DROP COLUMN "delivery_attempts"')
        if registry is None:
            database.execute(f"PRAGMA user_version = {DELIVERY - 1:d}")
        else:
            table = postgres._VERSION_TABLE
            database.execute(f"UPDATE {table} SET version = {DELIVERY - 1:d}")  # noqa: S608
    finally:
        database.close()

    context = open_context(data_dir, store=store, database=registry)
    try:
        assert user_version(context.database) == storage.SCHEMA_VERSION
        token = context.service.token(issued.token.id)
        assert (token.delivery_command, token.delivery_set_by) == (None, None)
        assert context.database.rows("SELECT delivery_due_at, delivery_attempts FROM token") == [
            (None, 0)
        ]
        assert context.service.reveal(issued.token.id) == issued.secret
        command = context.service.set_delivery(issued.token.id, "cat >/dev/null")
        assert (command.delivery_command, command.delivery_set_by) == ("cat >/dev/null", person())
    finally:
        context.close()
    found = columns(location, "token")
    assert (found["delivery_command"], found["delivery_set_by"]) == (True, True)
    assert (found["delivery_due_at"], found["delivery_attempts"]) == (True, False)


DELIVERY = RELEASED.index(storage._step_12_token_delivery) + 1  # the version that added them
