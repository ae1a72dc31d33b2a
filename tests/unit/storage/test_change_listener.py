"""Commits announced by a PostgreSQL server: every write transaction notifies when it commits,
a listener hears it from any connection, and both outlive a restart of the server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.app import open_context
from desktop.secrets.memory import InMemorySecretStore
from desktop.storage.postgres import ChangeListener, PostgresDatabase, open_postgres
from tests.helpers.postgres import PostgresServer

WAIT_S = 30  # generous: how long a test waits for what must happen, never a measure of it


class Heard:
    """What a listener told, for the test thread to wait on."""

    def __init__(self) -> None:
        self.changes = 0
        self.states: list[bool] = []
        self._condition = threading.Condition()

    def change(self) -> None:
        with self._condition:
            self.changes += 1
            self._condition.notify_all()

    def listening(self, now: bool) -> None:
        with self._condition:
            self.states.append(now)
            self._condition.notify_all()

    def wait(self, what: object) -> None:
        with self._condition:
            assert self._condition.wait_for(what, WAIT_S), "the listener never told"  # type: ignore[arg-type]


@pytest.fixture
def url(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.new_database()
    yield postgres_server.url(name)
    postgres_server.drop(name)


@pytest.fixture
def database(url: str) -> Iterator[PostgresDatabase]:
    registry = open_postgres(url)
    yield registry
    registry.close()


@pytest.fixture
def heard(database: PostgresDatabase) -> Iterator[Heard]:
    """A started listener on the registry, listening already (and its first call heard)."""
    heard = Heard()
    listener = database.change_listener(heard.change, heard.listening)
    listener.start()
    heard.wait(lambda: heard.states == [True] and heard.changes == 1)
    yield heard
    listener.stop()


def test_a_commit_by_another_process_wakes_the_listener(
    heard: Heard, url: str, data_dir: Path
) -> None:
    other = open_context(data_dir, store=InMemorySecretStore(), database=url)
    try:
        other.service.add_environment("Staging")
    finally:
        other.close()
    heard.wait(lambda: heard.changes >= 2)


def test_a_write_is_announced_when_it_commits(heard: Heard, url: str) -> None:
    writer = open_postgres(url)
    try:
        with writer.transaction():
            writer.execute(
                "INSERT INTO environment (name, name_key, api_enabled, created_at) "
                "VALUES (?, ?, ?, CURRENT_TIMESTAMP)",
                ("Staging", "staging", False),
            )
            assert heard.changes == 1  # PostgreSQL delivers nothing before the commit
        heard.wait(lambda: heard.changes >= 2)
    finally:
        writer.close()


def test_the_listener_listens_again_after_a_restart(
    heard: Heard, postgres_server: PostgresServer, url: str, data_dir: Path
) -> None:
    postgres_server.restart()
    # It was cut off, listens again, and says so: whatever committed meanwhile is read then.
    heard.wait(lambda: heard.states == [True, False, True] and heard.changes >= 2)
    other = open_context(data_dir, store=InMemorySecretStore(), database=url)
    try:
        changes = heard.changes
        other.service.add_environment("Staging")
    finally:
        other.close()
    heard.wait(lambda: heard.changes > changes)


def test_a_connection_the_server_ended_is_replaced(
    database: PostgresDatabase, postgres_server: PostgresServer
) -> None:
    assert database.first("SELECT 1") == (1,)
    postgres_server.restart()
    assert database.first("SELECT 1") == (1,)
    with database.snapshot():
        assert database.first("SELECT 1") == (1,)


def test_stop_ends_the_listener_and_nothing_is_heard_after(database: PostgresDatabase) -> None:
    heard = Heard()
    listener = ChangeListener(database.url, database.path, heard.change, heard.listening)
    listener.start()
    heard.wait(lambda: heard.states == [True])
    listener.stop()
    assert not listener.listening
    assert heard.states == [True]  # its end is no news to anyone
    assert "tokendesk-listener" not in {thread.name for thread in threading.enumerate()}
    listener.stop()  # twice is harmless


def test_a_listener_never_started_stops() -> None:
    listener = ChangeListener("postgresql:///nowhere", "PostgreSQL nowhere", lambda: None)
    listener.stop()
    assert not listener.listening
