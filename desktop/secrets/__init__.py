"""Where secrets live: the OS keyring, behind a narrow :class:`SecretStore` protocol."""

from desktop.secrets.store import KeyringSecretStore, SecretStore, open_secret_store

__all__ = ["KeyringSecretStore", "SecretStore", "open_secret_store"]
