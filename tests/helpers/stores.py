"""Fault injection around the real keyring: each fake overrides only the calls it breaks."""

from __future__ import annotations

from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.store import SecretStore


class DelegatingStore:
    """The real keyring, call for call."""

    def __init__(self, inner: SecretStore) -> None:
        self.inner = inner

    @property
    def backend_name(self) -> str:
        return self.inner.backend_name

    def get(self, key: str) -> str | None:
        return self.inner.get(key)

    def put(self, key: str, secret: str) -> None:
        self.inner.put(key, secret)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def check(self) -> None:
        self.inner.check()


class DeleteDown(DelegatingStore):
    """Removing an entry fails as if the keyring had been locked after the start-up check."""

    def delete(self, key: str) -> None:
        raise SecretStoreUnavailable("cannot delete a secret: the keyring is locked")
