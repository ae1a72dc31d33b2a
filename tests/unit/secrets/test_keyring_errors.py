"""The keyring-backed store explains a backend's failure, even one without a message."""

from __future__ import annotations

import pytest

from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.store import KeyringSecretStore


class Broken:
    def get_password(self, service: str, key: str) -> str:
        raise RuntimeError("\n")


def test_a_keyring_error_without_a_message_still_explains_itself() -> None:
    store = KeyringSecretStore(Broken())  # type: ignore[arg-type]
    with pytest.raises(SecretStoreUnavailable, match=r"RuntimeError: RuntimeError\)"):
        store.get("anything")
