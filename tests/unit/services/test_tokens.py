"""TokenService, the façade: the same methods as ever, forwarded to the rooms, on the database
it was given, with a connection per thread."""

from __future__ import annotations

import inspect
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from desktop.app import Context
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from desktop.storage.database import open_database
from tests.helpers.clock import FakeClock

PUBLIC = {
    "store", "set_store", "add_listener", "remove_listener", "unit_of_work", "data_version",
    "connection", "person", "change_listener",
    "add_environment", "set_api_enabled", "environment", "environments",
    "add_role", "set_role_permissions", "role", "roles",
    "add_agent", "update_agent", "set_agent_disabled", "agent", "agents", "creation_warnings",
    "tokens", "token", "names", "token_table", "token_count", "token_page", "token_rows",
    "usage_since",
    "token_details",
    "change_cursor", "changes_since", "prune_changes", "audit", "reveal",
    "create_token", "set_status", "set_label", "set_rotation", "set_expiry", "refresh",
    "rotate_if_due",
    "due_token_ids", "expiring_token_ids", "next_due_at", "rotate_due", "delete", "reconcile",
    "verify",
    "access_index", "clock", "actor",
    "set_delivery", "deliver", "due_deliveries",
}  # fmt: skip


def test_the_facade_keeps_every_public_name() -> None:
    names = {name for name in vars(TokenService) if not name.startswith("_")}
    assert names == PUBLIC
    assert list(inspect.signature(TokenService).parameters) == [
        "database",
        "store",
        "clock",
        "actor",
        "person",
    ]


def environment_names(path: Path) -> list[str]:
    """The environments in the file at *path*, read past TokenDesk with plain sqlite3."""
    with closing(sqlite3.connect(path)) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM environment ORDER BY id")]


def test_two_services_on_two_files_each_write_only_their_own(
    tmp_path: Path, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    """Opening a second database changes nothing for a service on the first: each writes, and
    reads, only its own file, whichever was opened last, in any order and from any thread."""
    path_a, path_b = tmp_path / "a" / "a.sqlite3", tmp_path / "b" / "b.sqlite3"
    database_a = open_database(path_a)
    a = TokenService(database_a, memory_store, clock=clock)
    database_b = open_database(path_b)
    b = TokenService(database_b, memory_store, clock=clock)
    try:
        a.add_environment("ForA", api_enabled=True)  # after b was opened
        b.add_environment("ForB", api_enabled=True)
        a.add_role("ReaderA", ["GET /Loans"])
        b.add_role("ReaderB", ["GET /Loans"])
        for service, name in ((a, "alice"), (b, "bob")):
            role = service.roles()[0].name
            service.add_agent(name, role, has_logged_in=True, signed_agreement=True)
        issued_a = a.create_token("ForA", "alice")
        issued_b = b.create_token("ForB", "bob")

        errors: list[BaseException] = []

        def work(service: TokenService, prefix: str) -> None:
            try:
                with service.connection():
                    for n in range(20):
                        service.add_environment(f"{prefix}{n}", api_enabled=True)
                        service.set_label(service.tokens()[0].id, f"{prefix}{n}")
            except BaseException as error:
                errors.append(error)

        threads = [
            threading.Thread(target=work, args=(a, "ThreadA")),
            threading.Thread(target=work, args=(b, "ThreadB")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        expected_a = ["ForA", *(f"ThreadA{n}" for n in range(20))]
        expected_b = ["ForB", *(f"ThreadB{n}" for n in range(20))]
        assert [env.name for env in a.environments()] == sorted(expected_a)
        assert [env.name for env in b.environments()] == sorted(expected_b)
        assert [t.id for t in a.tokens()] == [issued_a.token.id]
        assert a.tokens()[0].label == "ThreadA19" and b.tokens()[0].label == "ThreadB19"
        assert (a.agents()[0].name, b.agents()[0].name) == ("alice", "bob")
        assert a.verify("ForA", issued_a.secret, "GET", "/Loans").status == 200
        assert b.verify("ForB", issued_a.secret, "GET", "/Loans").status == 401
        assert b.verify("ForB", issued_b.secret, "GET", "/Loans").status == 200
    finally:
        database_a.close()
        database_b.close()
    # Read past TokenDesk: each file holds its own rows and nothing of the other's.
    assert environment_names(path_a) == expected_a
    assert environment_names(path_b) == expected_b


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


def test_the_service_keeps_the_database_it_is_given(memory_context: Context) -> None:
    database = memory_context.database
    service = TokenService(database, None)
    assert service._context.database is database
    assert service.store is None and service.actor == "cli"
