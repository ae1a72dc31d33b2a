"""A secret store that keeps its entries in this process's memory.

For tests and tools that must not touch a real keyring: it keeps the same contract as the
keyring-backed store (``tests/unit/secrets/test_store_contract.py`` runs one suite against
both), so code tested on it behaves the same on the real thing. Nothing is ever written to
disk, and the secrets never appear in its repr.
"""

from __future__ import annotations

import threading

from desktop.domain.errors import SecretStoreUnavailable


class InMemorySecretStore:
    """A dict behind a lock. ``available = False`` makes every call fail as a locked keyring
    does, for tests of the waiting rules."""

    backend_name = "in-memory store"

    def __init__(self) -> None:
        self._entries: dict[str, str] = {}
        self._lock = threading.Lock()
        self.available = True

    def __repr__(self) -> str:
        return f"<InMemorySecretStore: {len(self._entries)} entries>"

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        """The keys held, sorted (a real keyring cannot be listed; tests can look here)."""
        with self._lock:
            return sorted(self._entries)

    def _require(self, what: str) -> None:
        if not self.available:
            raise SecretStoreUnavailable(f"cannot {what}: the {self.backend_name} is unavailable")

    def get(self, key: str) -> str | None:
        self._require("read a secret")
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, secret: str) -> None:
        self._require("store a secret")
        with self._lock:
            self._entries[key] = secret

    def delete(self, key: str) -> None:
        self._require("delete a secret")
        with self._lock:
            self._entries.pop(key, None)

    def check(self) -> None:
        self._require("reach the keyring")
