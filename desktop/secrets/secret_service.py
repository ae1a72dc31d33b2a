"""The Secret Service (GNOME Keyring and the like) over one D-Bus connection per process.

Why TokenDesk does not leave this to ``keyring``'s SecretService backend, which uses the same
``secretstorage`` library underneath: that backend opens a new D-Bus connection, asks for the
default collection, negotiates a new encrypted session (a Diffie-Hellman exchange) and asks
whether the collection is locked, for every single call: a read costs ten times what it does on
a kept connection. And none of its D-Bus calls has a timeout, so a keyring that stops answering
(a stopped or wedged daemon) hangs the caller for ever.

Here one connection, one session and the default collection are kept per bus address and per
process, every call has a timeout, and a connection that fails (the daemon restarted, the bus
dropped it) is replaced once before an error is raised. A timeout is never retried: the caller
learns at once that the keyring did not answer.

Entries are exactly the ones ``keyring``'s backend reads and writes: in the default collection,
attributes ``service``, ``username`` and ``application`` (``Python keyring library``, as keyring
writes it), found by ``service`` and ``username`` alone, so entries written by either are found
by the other. Nothing here logs or raises a secret value.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from desktop.domain.errors import SecretStoreUnavailable

# A few seconds is far more than a healthy keyring needs (about a millisecond a call) and short
# enough that a person waiting on a stuck one is told so.
CALL_TIMEOUT = 5.0
# An unlock may show a prompt that a person has to answer.
UNLOCK_TIMEOUT = 120.0

# What keyring's SecretService backend writes (keyring.backends.SecretService.Keyring.appid),
# and the label it gives an entry: an entry looks the same whoever wrote it.
APPLICATION = "Python keyring library"

T = TypeVar("T")

# Callers take turns on the shared connections: a jeepney blocking connection is not thread-safe.
_LOCK = threading.RLock()


class KeyringDidNotAnswer(SecretStoreUnavailable):
    """A Secret Service call got no answer in time. Like any keyring failure it leaves every
    token as it was: the checks before a change fail before anything is written, and a change
    whose keyring write goes unanswered is undone, or left to recovery, never finished."""

    def __init__(self, what: str, seconds: float, backend_name: str) -> None:
        self.seconds = seconds
        super().__init__(
            f"cannot {what}: the keyring did not answer within {seconds:g} s; nothing was "
            f"changed. Try again; if it keeps happening, restart your desktop's keyring "
            f"({backend_name})."
        )


class NoAnswer(Exception):
    """Raised by :class:`SecretService` when a call timed out; the store adds what it was doing
    and turns it into :class:`KeyringDidNotAnswer`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


class CollectionLocked(Exception):
    """The default collection is locked and the unlock prompt was dismissed or failed."""


@functools.cache
def _timed_connection_class() -> type[Any]:
    """jeepney's blocking connection, with a default timeout for every call that gives none:
    secretstorage never passes one, and the bus's own Hello at connect is such a call too."""
    from jeepney.io.blocking import DBusConnection

    class TimedConnection(DBusConnection):  # type: ignore[misc]
        def __init__(self, sock: Any, timeout: float) -> None:
            self.default_timeout = timeout
            super().__init__(sock)

        def send_and_get_reply(self, message: Any, *, timeout: float | None = None) -> Any:
            return super().send_and_get_reply(
                message, timeout=self.default_timeout if timeout is None else timeout
            )

    return TimedConnection


@dataclass
class _Link:
    """One connection to one bus, with its encrypted session and the default collection."""

    pid: int
    connection: Any
    session: Any
    collection: Any

    def close(self) -> None:
        # In a forked child the socket is the parent's too: closing our copy of the descriptor
        # leaves the parent's connection alone, and nothing is ever sent on it from here.
        with contextlib.suppress(OSError):
            self.connection.close()


_links: dict[str, _Link] = {}


def _forget_links_after_fork() -> None:
    """A forked child must never talk on its parent's connection (replies would go to whoever
    reads first) nor wait for a lock a parent's thread held at the fork."""
    global _LOCK
    _LOCK = threading.RLock()
    _links.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_links_after_fork)


def session_bus_address() -> str:
    """The session bus's address, as every D-Bus client reads it."""
    from jeepney.bus import get_bus

    return str(get_bus("SESSION"))


class _Probed(type):
    """The store's allowlist asks a backend class for ``priority`` (keyring's convention): here
    it is answered by asking the bus, with a timeout, whether the Secret Service is there."""

    @property
    def priority(cls) -> float:
        reason = secret_service_missing()
        if reason is not None:
            raise RuntimeError(reason)
        return 5.0


def secret_service_missing(timeout: float = CALL_TIMEOUT) -> str | None:
    """Why the Secret Service cannot be used from here, or None when it is running or can be
    started by the bus."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import prep_socket

    bus = DBusAddress(
        "/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus"
    )
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)"
    try:
        address = session_bus_address()
    except Exception as error:
        return f"no D-Bus session ({_one_line(error)})"
    try:
        connection = _timed_connection_class()(prep_socket(address, timeout=timeout), timeout)
    except TimeoutError:
        return f"the D-Bus session bus did not answer within {timeout:g} s"
    except Exception as error:
        return f"cannot reach the D-Bus session bus ({_one_line(error)})"
    try:
        for method in ("ListNames", "ListActivatableNames"):
            names = connection.send_and_get_reply(new_method_call(bus, method)).body[0]
            if SECRETS_NAME in names:
                return None
    except TimeoutError:
        return f"the D-Bus session bus did not answer within {timeout:g} s"
    except Exception as error:
        return f"cannot ask the D-Bus session bus ({_one_line(error)})"
    finally:
        connection.close()
    return "the Secret Service is neither running nor activatable through D-Bus"


SECRETS_NAME = "org.freedesktop.secrets"


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class SecretService(metaclass=_Probed):
    """The Secret Service as a keyring backend: ``get_password``, ``set_password`` and
    ``delete_password`` as :class:`~desktop.secrets.store.KeyringSecretStore` calls them.

    Thread-safe; the connection for a bus address is shared by every instance in the process.
    The bus address is read once, when the instance is made.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float = CALL_TIMEOUT,
        unlock_timeout: float = UNLOCK_TIMEOUT,
    ) -> None:
        self.address = address if address is not None else session_bus_address()
        self.timeout = timeout
        self.unlock_timeout = unlock_timeout

    def __repr__(self) -> str:
        return f"SecretService({self.address!r}, timeout={self.timeout:g})"

    # ------------------------------------------------------------------ the connection

    def _connect(self) -> _Link:
        import secretstorage
        from jeepney.io.blocking import prep_socket
        from secretstorage.util import (
            SERVICE_IFACE,
            DBusAddressWrapper,
            add_match_rules,
            open_session,
        )

        sock = prep_socket(self.address, timeout=self.timeout)
        connection = _timed_connection_class()(sock, self.timeout)
        try:
            add_match_rules(connection)  # so an unlock prompt's answer reaches us
            session = open_session(connection)
            # The default collection as keyring finds it (made when there is none), then by
            # its own path: the search answers with item paths under that one, not the alias.
            default = secretstorage.get_default_collection(connection, session)
            secrets = DBusAddressWrapper(SS_PATH, SERVICE_IFACE, connection)
            (path,) = secrets.call("ReadAlias", "s", "default")
            path = path if len(path) > 1 else default.collection_path
            collection = secretstorage.Collection(connection, path, session)
        except BaseException:
            connection.close()
            raise
        return _Link(os.getpid(), connection, session, collection)

    def _link(self) -> _Link:
        link = _links.get(self.address)
        if link is not None and link.pid != os.getpid():
            _links.pop(self.address, None)
            link = None
        if link is None:
            link = _links[self.address] = self._connect()
        return link

    def _drop(self) -> None:
        link = _links.pop(self.address, None)
        if link is not None:
            link.close()

    def _unlock(self, link: _Link) -> None:
        try:
            dismissed = link.collection.unlock(timeout=self.unlock_timeout)
        except TimeoutError:
            self._drop()
            raise NoAnswer(self.unlock_timeout) from None
        if dismissed or link.collection.is_locked():
            raise CollectionLocked("the keyring is locked and was not unlocked")

    def _prompt(self, link: _Link, prompt: str, dismissed_means: str) -> None:
        """Show the keyring's *prompt* and wait for the person's answer: for up to
        :attr:`unlock_timeout`, not the call timeout (a person has to read it), and that is the
        limit reported when it runs out."""
        from secretstorage.util import exec_prompt

        try:
            dismissed, _ = exec_prompt(link.connection, prompt, timeout=self.unlock_timeout)
        except TimeoutError:
            self._drop()
            raise NoAnswer(self.unlock_timeout) from None
        if dismissed:
            raise CollectionLocked(dismissed_means)

    def _call(self, operation: Callable[[_Link], T]) -> T:
        """Run *operation* on the shared link: once more after unlocking a locked collection
        (or :class:`CollectionLocked`), once more on a new link when anything else failed (a
        restarted daemon, a dropped bus); a timeout drops the link and is raised at once, as
        :class:`NoAnswer` with the limit that ran out (a call's, or a prompt's longer one).
        Retrying is safe: each operation leaves the same result when it is run twice."""
        with _LOCK:
            unlocked = reconnected = False
            while True:
                try:
                    return operation(self._link())
                except TimeoutError:
                    self._drop()
                    raise NoAnswer(self.timeout) from None
                except (NoAnswer, CollectionLocked):
                    raise
                except Exception as error:
                    if _is_locked(error):
                        if unlocked:
                            raise CollectionLocked("the keyring is locked") from None
                        unlocked = True
                        self._unlock(self._link())
                        continue
                    self._drop()
                    if reconnected:
                        raise
                    reconnected = True

    # ------------------------------------------------------------------ keyring's three calls
    #
    # Each is the fewest round trips the Secret Service API allows: the search answers which
    # entries are locked too, and the item and collection calls go out without secretstorage's
    # "is it locked?" question before each (a locked one answers IsLocked instead).

    @staticmethod
    def _query(service: str, username: str) -> dict[str, str]:
        return {"username": username, "service": service}

    def _search(self, link: _Link, service: str, username: str) -> list[str]:
        """The entries' paths in the default collection (others are not searched, as keyring
        does not); :class:`_Locked` when they are locked."""
        from secretstorage.util import SERVICE_IFACE, DBusAddressWrapper

        secrets = DBusAddressWrapper(SS_PATH, SERVICE_IFACE, link.connection)
        unlocked, locked = secrets.call("SearchItems", "a{ss}", self._query(service, username))
        inside = link.collection.collection_path + "/"
        if any(path.startswith(inside) for path in locked):
            raise _Locked
        return [path for path in unlocked if path.startswith(inside)]

    def get_password(self, service: str, username: str) -> str | None:
        def get(link: _Link) -> str | None:
            from secretstorage.util import DBusAddressWrapper

            paths = self._search(link, service, username)
            if not paths:
                # An entry of a locked collection is found as locked, and an absent one is
                # absent either way; but a keyring is never reported reachable while locked.
                if link.collection.is_locked():
                    raise _Locked
                return None
            item = DBusAddressWrapper(paths[0], ITEM_IFACE, link.connection)
            (secret,) = item.call("GetSecret", "o", link.session.object_path)
            return _decrypt(link.session, secret).decode("utf-8")

        return self._call(get)

    def set_password(self, service: str, username: str, password: str) -> None:
        attributes = {**self._query(service, username), "application": APPLICATION}
        label = f"Password for '{username}' on '{service}'"

        def put(link: _Link) -> None:
            from secretstorage.util import DBusAddressWrapper, format_secret

            collection = DBusAddressWrapper(
                link.collection.collection_path, COLLECTION_IFACE, link.connection
            )
            properties = {
                SS_PREFIX + "Item.Label": ("s", label),
                SS_PREFIX + "Item.Attributes": ("a{ss}", attributes),
            }
            secret = format_secret(link.session, password.encode("utf-8"), "text/plain")
            path, prompt = collection.call("CreateItem", "a{sv}(oayays)b", properties, secret, True)
            if len(path) <= 1:  # the keyring asks the person first
                self._prompt(link, prompt, "the keyring's prompt to store a secret was dismissed")

        self._call(put)

    def delete_password(self, service: str, username: str) -> None:
        """Remove every entry of (service, username); no error when there is none."""

        def delete(link: _Link) -> None:
            from secretstorage.util import DBusAddressWrapper

            for path in self._search(link, service, username):
                item = DBusAddressWrapper(path, ITEM_IFACE, link.connection)
                (prompt,) = item.call("Delete", "")
                if prompt != "/":
                    self._prompt(link, prompt, "the keyring's prompt to delete was dismissed")

        self._call(delete)


SS_PREFIX = "org.freedesktop.Secret."
SS_PATH = "/org/freedesktop/secrets"
ITEM_IFACE = SS_PREFIX + "Item"
COLLECTION_IFACE = SS_PREFIX + "Collection"
IS_LOCKED = SS_PREFIX + "Error.IsLocked"


class _Locked(Exception):
    """Inside :meth:`SecretService._call`: the collection must be unlocked first."""


def _is_locked(error: Exception) -> bool:
    from jeepney import DBusErrorResponse
    from secretstorage.exceptions import LockedException

    if isinstance(error, DBusErrorResponse):
        return bool(error.name == IS_LOCKED)
    return isinstance(error, (_Locked, LockedException))


def _decrypt(session: Any, secret: tuple[str, bytes, bytes, str]) -> bytes:
    """The plain bytes of a secret as the Secret Service sends it in *session*."""
    if not session.encrypted:
        return bytes(secret[2])
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(session.aes_key), modes.CBC(bytes(secret[1]))).decryptor()
    padded = decryptor.update(bytes(secret[2])) + decryptor.finalize()
    return padded[: -padded[-1]]
