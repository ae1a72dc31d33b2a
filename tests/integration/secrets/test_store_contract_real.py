"""The secret-store contract against the real Secret Service (the run's private gnome-keyring).

The assertions live in ``tests/unit/secrets/test_store_contract.py``, where the in-memory store
meets them too: one contract, two stores, so the fake cannot drift from the keyring.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from desktop.secrets.secret_service import SecretService
from desktop.secrets.store import KeyringSecretStore
from tests.unit.secrets.test_store_contract import Outage, SecretStoreContract


class TestKeyringSecretStore(SecretStoreContract):
    @pytest.fixture
    def store(self, keyring_store: KeyringSecretStore) -> KeyringSecretStore:
        return keyring_store

    @pytest.fixture
    def outage(self, store: KeyringSecretStore, tmp_path: Path) -> Outage:
        """The session bus gone: the store's connection dropped and nothing at the bus address
        (the keyring itself keeps running for the tests after)."""

        @contextmanager
        def bus_gone() -> Iterator[None]:
            backend = store.backend
            assert isinstance(backend, SecretService)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(backend, "address", f"unix:path={tmp_path / 'no-bus'}")
                yield

        return bus_gone
