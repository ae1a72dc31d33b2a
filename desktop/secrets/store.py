"""The keyring-backed secret store.

Rules this module keeps (README, Crash safety):

* One named backend is pinned, never keyring's chainer; plaintext and "fail" backends are refused.
  On Linux the Secret Service is reached through :mod:`desktop.secrets.secret_service` (one
  D-Bus connection per process, a timeout on every call), elsewhere through ``keyring``.
* Every failure to reach the keyring becomes :class:`SecretStoreUnavailable` with a message a
  person can act on. Callers then wait; they never delete or regenerate anything because of it.
* Nothing here logs or raises a secret value.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Protocol

from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.secret_service import CollectionLocked, KeyringDidNotAnswer, NoAnswer

# keyring, secretstorage and jeepney are imported when a store is opened: the window paints
# before that.

log = logging.getLogger(__name__)

# Keyring calls from this process take turns: gnome-keyring 42 (Debian 12) can crash when two
# calls overlap (two threads did it in tests), and D-Bus then starts a daemon without the login
# keyring, so every later call fails. The window's thread and the scheduler's would overlap.
_ONE_CALL_AT_A_TIME = threading.Lock()


def _new_lock_after_fork() -> None:
    """A child forked while another thread held the lock would wait for it for ever."""
    global _ONE_CALL_AT_A_TIME
    _ONE_CALL_AT_A_TIME = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)

SERVICE = "TokenDesk"
# The one fixed key the start-up check reads (read-only) and the self-test writes and deletes.
CANARY_KEY = "tokendesk-canary"

# Backends TokenDesk trusts with secrets, by platform: (module, class).
_ALLOWED: dict[str, list[tuple[str, str]]] = {
    "linux": [
        ("desktop.secrets.secret_service", "SecretService"),
        ("keyring.backends.kwallet", "DBusKeyring"),
    ],
    "darwin": [("keyring.backends.macOS", "Keyring")],
    "win32": [("keyring.backends.Windows", "WinVaultKeyring")],
}

_REMEDY = {
    "linux": (
        "start and unlock your desktop's keyring (GNOME Keyring or KWallet) in a session with "
        "D-Bus (DBUS_SESSION_BUS_ADDRESS set), then try again"
    ),
    "darwin": "unlock your login Keychain, then try again",
    "win32": "make sure Windows Credential Manager is available to your user, then try again",
}


class SecretStore(Protocol):
    """What TokenDesk needs from a keyring. Keys are never reused or overwritten."""

    @property
    def backend_name(self) -> str: ...

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, secret: str) -> None: ...

    def delete(self, key: str) -> None:
        """Remove the entry; no error when it is already gone."""
        ...

    def check(self) -> None:
        """Read-only probe: raise SecretStoreUnavailable unless the store answers."""
        ...


def _platform() -> str:
    return "linux" if sys.platform.startswith("linux") else sys.platform


def remedy() -> str:
    return _REMEDY.get(_platform(), "start and unlock your system keyring, then try again")


def _describe(backend: Backend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _unavailable(what: str, backend_name: str, error: BaseException) -> SecretStoreUnavailable:
    import keyring.errors

    if isinstance(error, NoAnswer):
        return KeyringDidNotAnswer(what, error.seconds, backend_name)
    kind = type(error).__name__
    # keyring's messages name collections and services, never the secret being stored.
    reason = _first_line(error)
    if isinstance(error, (keyring.errors.KeyringLocked, CollectionLocked)):
        reason = "the keyring is locked"
    return SecretStoreUnavailable(
        f"cannot {what}: the system keyring ({backend_name}) is unavailable ({kind}: {reason}); "
        f"{remedy()}. Nothing was changed."
    )


class Backend(Protocol):
    """The three calls the store makes: a ``keyring`` backend, or the Secret Service's own."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


class KeyringSecretStore:
    """Secrets under service ``TokenDesk`` in one pinned keyring backend."""

    def __init__(self, backend: Backend, service: str = SERVICE) -> None:
        self._backend = backend
        self._service = service

    def __repr__(self) -> str:
        return f"KeyringSecretStore({self.backend_name!r}, service={self._service!r})"

    @property
    def backend_name(self) -> str:
        return _describe(self._backend)

    @property
    def backend(self) -> Backend:
        """The pinned backend (tests reach the Secret Service's connection through it)."""
        return self._backend

    def get(self, key: str) -> str | None:
        try:
            with _ONE_CALL_AT_A_TIME:
                value = self._backend.get_password(self._service, key)
        except Exception as error:
            raise _unavailable("read a secret", self.backend_name, error) from None
        return None if value is None else str(value)

    def put(self, key: str, secret: str) -> None:
        try:
            with _ONE_CALL_AT_A_TIME:
                self._backend.set_password(self._service, key, secret)
        except Exception as error:
            raise _unavailable("store a secret", self.backend_name, error) from None

    def delete(self, key: str) -> None:
        import keyring.errors

        try:
            with _ONE_CALL_AT_A_TIME:
                self._backend.delete_password(self._service, key)
        except keyring.errors.PasswordDeleteError:
            return
        except Exception as error:
            raise _unavailable("delete a secret", self.backend_name, error) from None

    def check(self) -> None:
        self.get(CANARY_KEY)

    def round_trip(self) -> None:
        """Write, read back and delete the canary: the self-test's proof the store works."""
        probe = "tokendesk-self-test"
        self.put(CANARY_KEY, probe)
        try:
            if self.get(CANARY_KEY) != probe:
                raise SecretStoreUnavailable(
                    f"the system keyring ({self.backend_name}) did not return what was stored"
                )
        finally:
            self.delete(CANARY_KEY)


def select_backend() -> Backend:
    """The first allowed backend that reports itself usable on this platform.

    Raises :class:`SecretStoreUnavailable` naming what was tried and why each was refused.
    """
    import importlib

    refusals: list[str] = []
    for module_name, class_name in _ALLOWED.get(_platform(), []):
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            priority = cls.priority  # raises when the backend cannot work here
        except Exception as error:
            refusals.append(f"{module_name}.{class_name}: {_first_line(error)}")
            continue
        if priority > 0:
            return cls()  # type: ignore[no-any-return]
        refusals.append(f"{module_name}.{class_name}: not usable here")
    tried = "; ".join(refusals) or f"no supported keyring on platform {sys.platform}"
    raise SecretStoreUnavailable(f"no usable system keyring ({tried}); {remedy()}.")


def open_secret_store(check: bool = True) -> KeyringSecretStore:
    """Pick the pinned backend and (by default) probe it read-only with the fixed canary key."""
    store = KeyringSecretStore(select_backend())
    if check:
        store.check()
    log.info("secrets are kept in %s", store.backend_name)
    return store
