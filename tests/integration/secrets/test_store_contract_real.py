"""The secret-store contract against the real Secret Service (the run's private gnome-keyring).

The assertions live in ``tests/unit/secrets/test_store_contract.py``, where the in-memory store
meets them too: one contract, two stores, so the fake cannot drift from the keyring.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from desktop.secrets.store import KeyringSecretStore
from tests.unit.secrets.test_store_contract import Outage, SecretStoreContract


class TestKeyringSecretStore(SecretStoreContract):
    @pytest.fixture
    def store(self, keyring_store: KeyringSecretStore) -> KeyringSecretStore:
        return keyring_store

    @pytest.fixture
    def outage(self, tmp_path: Path) -> Outage:
        """The session bus gone: the backend opens a connection per call, and finds nothing
        at the address (the keyring itself keeps running for the tests after)."""

        @contextmanager
        def bus_gone() -> Iterator[None]:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
                yield

        return bus_gone
