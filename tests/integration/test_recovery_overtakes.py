"""A keyring write can wait a long time (an unlock prompt nobody answers). Meanwhile another
process may take the change for abandoned and undo it (recovery never finishes a change whose
outcome was not committed). The slow writer must end consistent with that: no orphan secret, no
commit of its own, a clear error."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.errors import Conflict, SecretMismatch
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.models import Intent, Token
from tests.helpers.stores import DelegatingStore


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


class RecoveryDuringPut(DelegatingStore):
    """A store whose put lets "another process" run recovery: ``before`` the write, ``after``
    it, or once the write has been read back (``read``), just before the commit."""

    def __init__(self, inner: KeyringSecretStore, when: str, recover: Callable[[], None]) -> None:
        super().__init__(inner)
        self._when = when
        self._recover = recover
        self._written: str | None = None

    def put(self, key: str, secret: str) -> None:
        if self._when == "before":
            self._recover()
        self.inner.put(key, secret)
        self._written = key
        if self._when == "after":
            self._recover()

    def get(self, key: str) -> str | None:
        value = self.inner.get(key)
        if self._when == "read" and key == self._written:
            self._recover()
        return value


def other_process_recovers(context: Context, store: KeyringSecretStore) -> Callable[[], None]:
    handle = context.database.handle

    def recover() -> None:
        # Its owner looks gone to the other.
        Intent.update(owner_pid=dead_pid()).bind(handle).execute()
        TokenService(context.database, store, clock=context.service.clock).reconcile()

    return recover


@pytest.fixture
def service(context: Context) -> TokenService:
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("before", "undone by recovery"),
        ("after", "did not return the secret"),  # recovery took the new entry out
        ("read", "undone by recovery"),
    ],
)
def test_undone_refresh_takes_its_new_secret_back_out(
    context: Context,
    service: TokenService,
    keyring_store: KeyringSecretStore,
    when: str,
    error: str,
) -> None:
    """Recovery elsewhere, before or after the slow write reached the keyring: either way the
    refresh was not committed, so it is undone and the old secret stays the token's."""
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    uuid = Token.select().where(Token.id == issued.token.id).get(handle).uuid
    slow = TokenService(
        context.database,
        RecoveryDuringPut(keyring_store, when, other_process_recovers(context, keyring_store)),
        clock=service.clock,
    )
    with pytest.raises((Conflict, SecretMismatch), match=error):
        slow.refresh(issued.token.id)
    row = Token.select().where(Token.id == issued.token.id).get(handle)
    assert (row.generation, row.fingerprint) == (0, tokens.fingerprint(issued.secret))
    assert keyring_store.get(secret_key(uuid, 0)) == issued.secret
    assert keyring_store.get(secret_key(uuid, 1)) is None
    assert Intent.select().bind(handle).count() == 0
    assert [e.action for e in service.audit(issued.token.id)] == ["create"]
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200


def test_undone_create_leaves_no_orphan_secret(
    context: Context, service: TokenService, keyring_store: KeyringSecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    written: list[str] = []

    class Recording(RecoveryDuringPut):
        def put(self, key: str, secret: str) -> None:
            written.append(key)
            super().put(key, secret)

    slow = TokenService(
        context.database,
        Recording(keyring_store, "before", other_process_recovers(context, keyring_store)),
        clock=service.clock,
    )
    with pytest.raises(Conflict, match="undone by recovery"):
        slow.create_token("Production", "alice")
    assert written
    assert all(keyring_store.get(key) is None for key in written)
    assert Token.select().bind(handle).count() == 0
    assert Intent.select().bind(handle).count() == 0
