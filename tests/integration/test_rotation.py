"""Rotation when the keyring fails, by time travel on the service clock, against the real
SQLite file and the real keyring; faults are injected by a thin wrapper around it. The schedule
itself: tests/unit/services/test_lifecycle_rotation.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.store import SecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.models import Intent, PreviousSecret, Token
from tests.helpers.clock import FakeClock
from tests.helpers.rotation import assert_keyring_matches, audit, status, three_due
from tests.helpers.stores import DelegatingStore

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class FaultyStore(DelegatingStore):
    """The real keyring, with faults switched on by the test.

    ``down`` names operations that raise :class:`SecretStoreUnavailable` (for keys ``keys``
    accepts); ``down_after_put`` takes the whole keyring away right after a successful write;
    ``mangled`` keys read back as a different secret.
    """

    def __init__(self, inner: SecretStore) -> None:
        super().__init__(inner)
        self.down: set[str] = set()
        self.keys: Callable[[str], bool] = lambda key: True
        self.down_after_put = False
        self.mangled: set[str] = set()

    def _maybe_fail(self, operation: str, key: str) -> None:
        if operation in self.down and self.keys(key):
            raise SecretStoreUnavailable(
                f"cannot {operation}: the system keyring (test) is unavailable; try again"
            )

    def get(self, key: str) -> str | None:
        self._maybe_fail("get", key)
        value = self.inner.get(key)
        if value is not None and key in self.mangled:
            return tokens.generate()
        return value

    def put(self, key: str, secret: str) -> None:
        self._maybe_fail("put", key)
        self.inner.put(key, secret)
        if self.down_after_put:
            self.down = {"get", "put", "delete", "check"}

    def delete(self, key: str) -> None:
        self._maybe_fail("delete", key)
        self.inner.delete(key)

    def check(self) -> None:
        self._maybe_fail("check", "")
        self.inner.check()


@pytest.fixture
def service(context: Context) -> TokenService:
    service = context.service
    service.add_environment("Prod", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("bot", "Reader", has_logged_in=True, signed_agreement=True)
    return service


@pytest.fixture
def faulty(keyring_store: SecretStore) -> FaultyStore:
    return FaultyStore(keyring_store)


def with_store(context: Context, store: SecretStore, clock: FakeClock) -> TokenService:
    return TokenService(context.database, store, clock=clock, actor="cli")


def test_rotate_due_reports_rotated_skipped_and_failed(
    context: Context, service: TokenService, clock: FakeClock, faulty: FaultyStore
) -> None:
    handle = service.unit_of_work.database.handle
    a, b, c = three_due(service, clock)
    c_uuid = Token.select().where(Token.id == c.token.id).get(handle).uuid
    faulty.down = {"put"}
    faulty.keys = lambda key: key.startswith(c_uuid)
    scheduler = with_store(context, faulty, clock)
    other = with_store(context, faulty, clock)  # another process, or the person in the window

    def progress(done: int, total: int) -> None:
        if done == 1:  # while the pass runs, someone refreshes b: it is no longer due
            other.refresh(b.token.id)

    report = scheduler.rotate_due(progress=progress)
    assert report.rotated == (a.token.id,)
    assert report.skipped == (b.token.id,)
    assert [token_id for token_id, _ in report.failed] == [c.token.id]
    assert "keyring" in report.failed[0][1]
    assert service.token(b.token.id).generation == 1
    assert (
        audit(service, b.token.id, "rotate") == []
        and len(audit(service, b.token.id, "refresh")) == 1
    )


@pytest.mark.expect_log(r"rotation of token \d+ failed", level="ERROR", logger="desktop.services")
def test_keyring_failure_stops_the_pass_other_failures_do_not(
    context: Context, service: TokenService, clock: FakeClock, faulty: FaultyStore
) -> None:
    handle = service.unit_of_work.database.handle
    a, b, c = three_due(service, clock)
    a_uuid = Token.select().where(Token.id == a.token.id).get(handle).uuid
    faulty.mangled = {secret_key(a_uuid, 1)}  # a's new secret reads back wrong
    report = with_store(context, faulty, clock).rotate_due()
    assert [token_id for token_id, _ in report.failed] == [a.token.id]
    assert "keyring did not return" in report.failed[0][1]
    assert report.rotated == (b.token.id, c.token.id)  # a mismatch is one token's problem
    assert service.token(a.token.id).generation == 0
    assert service.token(a.token.id).last_error is not None
    faulty.mangled = set()
    faulty.down = {"put"}
    clock.advance(2 * DAY)
    report = with_store(context, faulty, clock).rotate_due()
    assert len(report.failed) == 1  # the keyring is down: the rest would fail alike; wait
    assert report.rotated == report.skipped == ()


def test_keyring_failure_during_rotation_leaves_the_token_wholly_old(
    context: Context,
    service: TokenService,
    clock: FakeClock,
    faulty: FaultyStore,
    keyring_store: SecretStore,
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Prod", "bot", rotation="1d")
    token_id = issued.token.id
    before = Token.select().where(Token.id == token_id).get(handle)
    clock.advance(DAY)
    faulty.down = {"put"}
    report = with_store(context, faulty, clock).rotate_due()
    assert report.rotated == () and [t for t, _ in report.failed] == [token_id]
    after = Token.select().where(Token.id == token_id).get(handle)
    assert (after.generation, after.fingerprint, after.hint) == (
        before.generation,
        before.fingerprint,
        before.hint,
    )
    assert PreviousSecret.select().bind(handle).count() == 0
    view = service.token(token_id)
    assert view.last_error is not None and "keyring" in view.last_error
    failures = audit(service, token_id, "rotate-failed")
    assert len(failures) == 1 and failures[0].actor == "scheduler"
    assert "keyring" in failures[0].details
    assert audit(service, token_id, "rotate") == []
    assert status(service, issued.secret) == 200
    assert_keyring_matches(service, keyring_store, token_id)
    # Still due: the next pass with the keyring back rotates it and clears the error.
    assert service.rotate_due().rotated == (token_id,)
    assert service.token(token_id).last_error is None
    assert_keyring_matches(service, keyring_store, token_id)


def test_keyring_lost_mid_rotation_is_undone_by_recovery_and_done_at_the_next_pass(
    context: Context,
    service: TokenService,
    clock: FakeClock,
    faulty: FaultyStore,
    keyring_store: SecretStore,
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Prod", "bot", rotation="1d")
    token_id = issued.token.id
    clock.advance(DAY)
    faulty.down_after_put = True  # the new secret is written, then the keyring goes away
    scheduler = with_store(context, faulty, clock)
    report = scheduler.rotate_due()
    assert [t for t, _ in report.failed] == [token_id]
    assert service.token(token_id).generation == 0  # wholly old meanwhile
    assert status(service, issued.secret) == 200
    assert Intent.select().bind(handle).count() == 1  # journaled: recovery must decide, not guess
    waiting = scheduler.reconcile()
    assert waiting.waiting == (token_id,) and waiting.problem is not None
    assert Intent.select().bind(handle).count() == 1 and service.token(token_id).generation == 0
    faulty.down = set()
    faulty.down_after_put = False
    done = scheduler.reconcile()
    assert done.rolled_back == (token_id,)  # the new secret was never committed
    assert service.token(token_id).generation == 0
    assert status(service, issued.secret) == 200
    assert_keyring_matches(service, keyring_store, token_id)
    assert scheduler.due_token_ids() == [token_id]  # still due: the next pass rotates it
    assert scheduler.rotate_due().rotated == (token_id,)
    view = service.token(token_id)
    assert view.generation == 1 and view.last_error is None
    assert len(audit(service, token_id, "rotate")) == 1
    assert_keyring_matches(service, keyring_store, token_id)


def test_old_secret_left_behind_by_a_lost_keyring_is_removed_by_recovery(
    context: Context,
    service: TokenService,
    clock: FakeClock,
    faulty: FaultyStore,
    keyring_store: SecretStore,
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Prod", "bot", rotation="1d")
    token_id = issued.token.id
    clock.advance(DAY)
    faulty.down = {"delete"}  # the new generation commits; removing the old one fails
    scheduler = with_store(context, faulty, clock)
    assert scheduler.rotate_due().rotated == (token_id,)
    uuid = Token.select().where(Token.id == token_id).get(handle).uuid
    assert keyring_store.get(secret_key(uuid, 0)) == issued.secret  # left for recovery
    assert Intent.select().bind(handle).count() == 1
    faulty.down = set()
    assert scheduler.reconcile().rolled_forward == (token_id,)
    assert keyring_store.get(secret_key(uuid, 0)) is None
    assert len(audit(service, token_id, "rotate")) == 1
    assert_keyring_matches(service, keyring_store, token_id)
