"""The Secret Service store against a real gnome-keyring: one connection however many calls,
the same entries as ``keyring`` writes and reads, a restarted daemon, a stopped one (no call may
hang), several threads, a forked child.

Tests that restart or stop the daemon get a private session of their own (its address exported
meanwhile), so the rest of the suite keeps the run's keyring.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.SecretService
import pytest
from jeepney.io.blocking import open_dbus_connection

from desktop.app import open_context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.paths import database_url
from desktop.secrets.secret_service import KeyringDidNotAnswer, SecretService
from desktop.secrets.store import SERVICE, KeyringSecretStore, open_secret_store
from tests.helpers import keyring_session
from tests.integration.test_keyring_unavailable import snapshot

STOPPED_TIMEOUT = 0.5  # the store's timeout while the daemon is stopped: keeps the tests quick


def connections_opened(address: str) -> int:
    """A number that grows by one with every connection made to the bus (its unique names
    count up: ``:1.N``); reading it opens one connection itself."""
    with open_dbus_connection(address) as connection:
        return int(str(connection.unique_name).rsplit(".", 1)[1])


def keyring_module() -> KeyringSecretStore:
    """The store as older TokenDesk versions made it: through keyring's SecretService."""
    backend = keyring.backends.SecretService.Keyring()  # type: ignore[no-untyped-call]
    return KeyringSecretStore(backend)


@pytest.fixture
def own_session(keyring_store: KeyringSecretStore) -> Iterator[keyring_session.KeyringSession]:
    """A private Secret Service for this test alone (its address is exported meanwhile)."""
    session = keyring_session.start()
    try:
        yield session
    finally:
        if session.daemon.poll() is None:
            session.daemon.send_signal(signal.SIGCONT)
        session.stop()


def test_the_store_keeps_one_connection_for_all_its_calls(
    private_keyring: str | None, keyring_store: KeyringSecretStore
) -> None:
    address = private_keyring or os.environ["DBUS_SESSION_BUS_ADDRESS"]
    keyring_store.check()  # connected (it may have been already)
    before = connections_opened(address)
    for n in range(10):
        key = f"one-connection-{n}"
        keyring_store.put(key, f"value {n}")
        assert keyring_store.get(key) == f"value {n}"
        keyring_store.delete(key)
    assert connections_opened(address) == before + 1  # only the counting one


def test_entries_written_through_keyring_are_found_and_the_other_way_round(
    keyring_store: KeyringSecretStore,
) -> None:
    assert "SecretService" in keyring_store.backend_name
    older = keyring_module()
    older.put("written-by-keyring", "old secret")
    keyring_store.put("written-by-the-store", "new secret")
    try:
        assert keyring_store.get("written-by-keyring") == "old secret"
        assert older.get("written-by-the-store") == "new secret"
        # The attributes are keyring's own, the application's name included.
        import secretstorage

        connection = secretstorage.dbus_init()
        try:
            collection = secretstorage.get_default_collection(connection)
            found = list(collection.search_items({"username": "written-by-the-store"}))
            assert len(found) == 1
            assert found[0].get_attributes() == {
                "service": SERVICE,
                "username": "written-by-the-store",
                "application": "Python keyring library",
            }
            assert found[0].get_label() == f"Password for 'written-by-the-store' on '{SERVICE}'"
        finally:
            connection.close()
        # Deletes reach the other's entries too.
        keyring_store.delete("written-by-keyring")
        older.delete("written-by-the-store")
        assert older.get("written-by-keyring") is None
        assert keyring_store.get("written-by-the-store") is None
    finally:
        keyring_store.delete("written-by-keyring")
        keyring_store.delete("written-by-the-store")


def test_a_restarted_keyring_daemon_is_reconnected_to(
    own_session: keyring_session.KeyringSession,
) -> None:
    store = open_secret_store()
    store.put("survives-a-restart", "kept")
    own_session.restart_daemon()
    assert store.get("survives-a-restart") == "kept"  # on a new connection and session
    store.put("after-the-restart", "new")
    assert store.get("after-the-restart") == "new"
    store.delete("survives-a-restart")
    store.delete("after-the-restart")
    assert store.get("survives-a-restart") is None


def test_a_stopped_keyring_is_a_clear_error_within_the_timeout_and_nothing_changes(
    own_session: keyring_session.KeyringSession, data_dir: Path
) -> None:
    store = KeyringSecretStore(SecretService(timeout=STOPPED_TIMEOUT))
    context = open_context(data_dir, store=store, database=database_url())
    try:
        service = context.service
        service.add_environment("Prod", api_enabled=True)
        service.add_role("Reader", ["GET /Loans"])
        service.add_agent("bot", "Reader", has_logged_in=True, signed_agreement=True)
        first = service.create_token("Prod", "bot")
        before = snapshot(context.database)
        own_session.daemon.send_signal(signal.SIGSTOP)
        try:
            for call in (
                lambda: service.create_token("Prod", "bot"),
                lambda: service.refresh(first.token.id),
                lambda: service.delete(first.token.id),
                lambda: service.reveal(first.token.id),
            ):
                started = time.monotonic()
                with pytest.raises(KeyringDidNotAnswer) as raised:
                    call()
                assert time.monotonic() - started < 30  # a safety net, not a timing assertion
                assert isinstance(raised.value, SecretStoreUnavailable)
                message = str(raised.value)
                assert f"the keyring did not answer within {STOPPED_TIMEOUT:g} s" in message
                assert "nothing was changed" in message
                assert first.secret not in message
                assert snapshot(context.database) == before
        finally:
            own_session.daemon.send_signal(signal.SIGCONT)
        # The keyring answers again: the next call reconnects and works.
        assert service.reveal(first.token.id) == first.secret
        issued = service.refresh(first.token.id)
        assert service.reveal(first.token.id) == issued.secret
    finally:
        context.close()


def test_threads_share_the_connection_safely(keyring_store: KeyringSecretStore) -> None:
    failures: list[str] = []

    def work(name: str) -> None:
        for n in range(25):
            key = f"thread-{name}-{n}"
            try:
                keyring_store.put(key, f"{name} {n}")
                if keyring_store.get(key) != f"{name} {n}":
                    failures.append(f"{key} read back wrong")
                keyring_store.delete(key)
            except SecretStoreUnavailable as error:
                failures.append(f"{key}: {error}")

    threads = [threading.Thread(target=work, args=(name,)) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


def test_a_forked_child_makes_its_own_connection_and_leaves_the_parents_alone(
    keyring_store: KeyringSecretStore,
) -> None:
    keyring_store.put("parent-before-fork", "parent")
    pid = os.fork()
    if pid == 0:  # the child: its own connection, then away without any clean-up
        status = 1
        try:
            keyring_store.put("child-after-fork", "child")
            status = 0 if keyring_store.get("parent-before-fork") == "parent" else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert keyring_store.get("child-after-fork") == "child"
    assert keyring_store.get("parent-before-fork") == "parent"
    keyring_store.delete("child-after-fork")
    keyring_store.delete("parent-before-fork")
