"""The composition root's ``open_context`` on a temporary SQLite file and the in-memory store:
it migrates the database, finishes what a crash left behind, and records (never raises) a
keyring it cannot use, so read-only commands and the window still open. The window's wiring
(``main_window_for``) is met by the tests under tests/gui."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from desktop import app
from desktop.app import open_context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.views import ReconcileReport
from desktop.storage.database import DB_FILENAME
from desktop.storage.models import Intent
from tests.helpers.clock import FakeClock
from tests.helpers.stores import DeleteDown


def no_keyring(*_args: object, **_kwargs: object) -> object:
    raise SecretStoreUnavailable("no Secret Service on this bus")


def half_deleted(data_dir: Path, store: InMemorySecretStore, clock: FakeClock) -> int:
    """A token whose delete committed while the keyring refused to drop its secret: the
    clean-up waits in the journal for the next start."""
    context = open_context(data_dir, store=store, clock=clock)
    try:
        service = context.service
        service.add_environment("Production", api_enabled=True)
        service.add_role("Reader", ["GET /Loans"])
        service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
        token_id = service.create_token("Production", "alice").token.id
        service.set_store(DeleteDown(store))
        service.delete(token_id)
    finally:
        context.close()
    assert len(store) == 1
    return token_id


def test_a_fresh_data_dir_gets_a_migrated_database(
    data_dir: Path, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    context = open_context(data_dir, store=memory_store, clock=clock, actor="ada")
    try:
        assert (data_dir / DB_FILENAME).is_file()
        assert context.data_dir == data_dir
        assert context.recovery == ReconcileReport()
        assert context.keyring_problem is None
        assert context.keyring_tried
        service = context.service
        assert service.store is memory_store
        assert (service.actor, service.clock) == ("ada", clock)
        service.add_environment("Production", api_enabled=True)
        assert [env.name for env in service.environments()] == ["Production"]
    finally:
        context.close()


def test_the_actor_is_the_command_line_unless_named(
    data_dir: Path, memory_store: InMemorySecretStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    context = open_context(data_dir, store=memory_store)
    try:
        assert context.service.actor == "alice@laptop (command line)"
    finally:
        context.close()


def test_close_closes_the_database(data_dir: Path, memory_store: InMemorySecretStore) -> None:
    context = open_context(data_dir, store=memory_store)
    assert not context.database.handle.is_closed()
    context.close()
    assert context.database.handle.is_closed()


def test_opening_finishes_an_interrupted_change(
    data_dir: Path, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    token_id = half_deleted(data_dir, memory_store, clock)
    context = open_context(data_dir, store=memory_store, clock=clock)
    try:
        assert context.recovery == ReconcileReport(rolled_forward=(token_id,))
        assert context.keyring_problem is None
        assert len(memory_store) == 0
        assert Intent.select().bind(context.database.handle).count() == 0
    finally:
        context.close()


def test_a_locked_store_is_recorded_and_the_change_waits(
    data_dir: Path, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    token_id = half_deleted(data_dir, memory_store, clock)
    memory_store.available = False
    context = open_context(data_dir, store=memory_store, clock=clock)
    try:
        assert context.recovery.waiting == (token_id,)
        assert context.keyring_problem == context.recovery.problem
        assert context.keyring_problem is not None
        assert "unavailable" in context.keyring_problem
        # nothing deleted while the keyring is away
        assert Intent.select().bind(context.database.handle).count() == 1
    finally:
        context.close()
    memory_store.available = True
    assert len(memory_store) == 1


def test_a_missing_keyring_is_recorded_not_raised(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app, "open_secret_store", no_keyring)
    context = open_context(data_dir)
    try:
        assert context.keyring_problem == "no Secret Service on this bus"
        assert context.keyring_tried
        assert context.service.store is None
        assert context.service.environments() == []  # reading still works
    finally:
        context.close()


def test_without_need_keyring_the_keyring_is_not_tried(
    data_dir: Path,
    memory_store: InMemorySecretStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window opens this way and reaches the keyring once it has painted: an interrupted
    change waits, and no problem is reported before the keyring was even asked."""
    token_id = half_deleted(data_dir, memory_store, clock)
    monkeypatch.setattr(app, "open_secret_store", no_keyring)
    context = open_context(data_dir, clock=clock, need_keyring=False)
    try:
        assert context.service.store is None
        assert not context.keyring_tried
        assert context.keyring_problem is None
        assert context.recovery.waiting == (token_id,)
        assert context.recovery.problem == "the system keyring is unavailable"
        assert context.service.tokens() == []  # the delete stands
        assert Intent.select().bind(context.database.handle).count() == 1
    finally:
        context.close()


def test_a_store_handed_in_counts_as_tried_without_need_keyring(
    data_dir: Path, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    token_id = half_deleted(data_dir, memory_store, clock)
    memory_store.available = False
    context = open_context(data_dir, store=memory_store, clock=clock, need_keyring=False)
    try:
        assert context.keyring_tried
        assert context.recovery.waiting == (token_id,)
        assert context.keyring_problem == context.recovery.problem
    finally:
        context.close()
