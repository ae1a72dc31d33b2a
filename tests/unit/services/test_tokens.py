"""TokenService, the façade: the same methods as ever, forwarded to the rooms, on the database
it was given, with a connection per thread."""

from __future__ import annotations

import inspect
import sqlite3
import threading
from pathlib import Path

import peewee as pw

from desktop.app import Context
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from desktop.storage.database import PRAGMAS, Database, migrate
from tests.helpers.clock import FakeClock

PUBLIC = {
    "store", "set_store", "add_listener", "data_version", "connection",
    "add_environment", "set_api_enabled", "environment", "environments",
    "add_role", "set_role_permissions", "role", "roles",
    "add_agent", "update_agent", "agent", "agents", "creation_warnings",
    "tokens", "token", "names", "token_table", "token_count", "token_page", "token_rows",
    "change_cursor", "changes_since", "prune_changes", "audit", "reveal",
    "create_token", "set_status", "set_label", "set_rotation", "refresh", "rotate_if_due",
    "due_token_ids", "next_due_at", "rotate_due", "delete", "reconcile", "verify",
    "access_index", "clock", "actor",
}  # fmt: skip


def test_the_facade_keeps_every_public_name() -> None:
    names = {name for name in vars(TokenService) if not name.startswith("_")}
    assert names == PUBLIC
    assert list(inspect.signature(TokenService).parameters) == [
        "database",
        "store",
        "clock",
        "actor",
    ]


def test_the_service_uses_the_database_it_is_given(
    memory_context: Context, tmp_path: Path, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    path = tmp_path / "other.sqlite3"
    handle = pw.SqliteDatabase(str(path), pragmas=PRAGMAS)
    try:
        migrate(handle, path)
        other = TokenService(handle, memory_store, clock=clock)
        other.add_environment("Elsewhere")
        assert [env.name for env in other.environments()] == ["Elsewhere"]
    finally:
        handle.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name FROM environment").fetchall() == [("Elsewhere",)]
    # The first service's database never saw it; it is used again as soon as it is named.
    again = TokenService(memory_context.database, memory_store, clock=clock)
    assert again.environments() == []


def test_a_thread_opens_its_connection_and_closes_it(service: TokenService) -> None:
    handle = service._context.database.handle
    seen: list[object] = []

    def work() -> None:
        with service.connection():
            seen.append(service.token_count())
            seen.append(handle.is_closed())
        seen.append(handle.is_closed())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [0, False, True]
    # This thread's connection was open before the block, and stays open after it.
    assert not handle.is_closed()
    with service.connection():
        pass
    assert not handle.is_closed()


def test_a_database_wrapper_can_be_given_too(memory_context: Context) -> None:
    database = Database(memory_context.database)
    service = TokenService(database, None)
    assert service._context.database is database
    assert service.store is None and service.actor == "cli"
