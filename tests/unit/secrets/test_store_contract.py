"""What every :class:`~desktop.secrets.store.SecretStore` keeps, written once.

:class:`SecretStoreContract` holds the assertions. Here they run against the in-memory store;
``tests/integration/secrets/test_store_contract_real.py`` runs the same class against the real
Secret Service (it needs D-Bus and gnome-keyring, so it is not a unit test). Code tested on the
fake therefore meets the same behaviour on the real keyring, and a change to either store that
the other does not share fails here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.memory import InMemorySecretStore
from desktop.secrets.store import SecretStore

Outage = Callable[[], AbstractContextManager[None]]

SECRETS = {
    "token": "tdk_4fJ9q2LmXw8ZbN0vR7sT1uYk3PaHcE6dGiO5jQ",
    "unicode": "pässwörd 🔑 秘密 — ключ",
    "whitespace": "  leading\ttab\nnew line, trailing  ",
    "empty": "",  # an empty secret is still a secret, not a missing one
    "long": "0123456789abcdef" * 4096,  # 64 KiB
}

# Each thing a caller can ask of a store, given a key and a secret of its own.
CALLS: dict[str, Callable[[SecretStore, str, str], object]] = {
    "get": lambda store, key, secret: store.get(key),
    "put": lambda store, key, secret: store.put(key, secret),
    "delete": lambda store, key, secret: store.delete(key),
    "check": lambda store, key, secret: store.check(),
}


class SecretStoreContract:
    """The assertions. A subclass provides the fixtures ``store`` (the store under test) and
    ``outage`` (a context manager during which the store cannot be reached, as when the
    keyring is locked or its session bus is gone)."""

    @pytest.fixture
    def new_key(self, store: SecretStore) -> Iterator[Callable[[], str]]:
        """Keys no other test uses (the real keyring is shared by the run), removed after."""
        made: list[str] = []

        def make() -> str:
            made.append(f"contract-{uuid.uuid4().hex}")
            return made[-1]

        yield make
        for key in made:
            store.delete(key)

    def test_a_secret_put_is_got_back(self, store: SecretStore, new_key: Callable[[], str]) -> None:
        key = new_key()
        store.put(key, SECRETS["token"])
        assert store.get(key) == SECRETS["token"]

    @pytest.mark.parametrize("kind", sorted(SECRETS))
    def test_the_secret_comes_back_exactly(
        self, store: SecretStore, new_key: Callable[[], str], kind: str
    ) -> None:
        key = new_key()
        store.put(key, SECRETS[kind])
        assert store.get(key) == SECRETS[kind]

    def test_a_missing_key_reads_as_none(
        self, store: SecretStore, new_key: Callable[[], str]
    ) -> None:
        assert store.get(new_key()) is None

    def test_delete_removes_the_secret(
        self, store: SecretStore, new_key: Callable[[], str]
    ) -> None:
        key = new_key()
        store.put(key, SECRETS["token"])
        store.delete(key)
        assert store.get(key) is None

    def test_deleting_a_missing_key_is_no_error(
        self, store: SecretStore, new_key: Callable[[], str]
    ) -> None:
        key = new_key()
        store.delete(key)  # never there
        store.put(key, SECRETS["token"])
        store.delete(key)
        store.delete(key)  # already gone
        assert store.get(key) is None

    def test_keys_are_independent(self, store: SecretStore, new_key: Callable[[], str]) -> None:
        first, second, third = new_key(), new_key(), new_key()
        store.put(first, "first secret")
        store.put(second, "second secret")
        assert (store.get(first), store.get(second), store.get(third)) == (
            "first secret",
            "second secret",
            None,
        )
        store.delete(first)
        assert store.get(first) is None
        assert store.get(second) == "second secret"

    def test_check_passes_when_the_store_is_available(self, store: SecretStore) -> None:
        store.check()

    def test_the_backend_has_a_name_to_show(self, store: SecretStore) -> None:
        assert isinstance(store.backend_name, str)
        assert store.backend_name.strip()

    def test_repr_never_shows_a_secret(
        self, store: SecretStore, new_key: Callable[[], str]
    ) -> None:
        store.put(new_key(), SECRETS["token"])
        assert SECRETS["token"] not in repr(store)
        assert SECRETS["token"] not in str(store)

    @pytest.mark.parametrize("call", sorted(CALLS))
    def test_an_unreachable_store_raises_unavailable_and_changes_nothing(
        self, store: SecretStore, outage: Outage, new_key: Callable[[], str], call: str
    ) -> None:
        kept, other = new_key(), new_key()
        store.put(kept, SECRETS["token"])
        attempted = "tdk_attempted-while-unreachable-0123456789"
        with outage(), pytest.raises(SecretStoreUnavailable) as raised:
            CALLS[call](store, kept if call != "put" else other, attempted)
        message = str(raised.value)
        assert message.strip()
        assert SECRETS["token"] not in message
        assert attempted not in message
        # Once the store answers again, nothing was lost and nothing was written.
        assert store.get(kept) == SECRETS["token"]
        assert store.get(other) is None


class TestInMemorySecretStore(SecretStoreContract):
    @pytest.fixture
    def store(self, memory_store: InMemorySecretStore) -> InMemorySecretStore:
        return memory_store

    @pytest.fixture
    def outage(self, memory_store: InMemorySecretStore) -> Outage:
        @contextmanager
        def unavailable() -> Iterator[None]:
            memory_store.available = False
            try:
                yield
            finally:
                memory_store.available = True

        return unavailable
