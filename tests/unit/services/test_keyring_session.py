"""KeyringSession: the keyring gone, back, the waiting changes finished and the runner restarted.

On the in-memory store (its ``available`` flag is a locked keyring) and a temporary SQLite file;
no window, no D-Bus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TypedDict, Unpack

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.memory import InMemorySecretStore
from desktop.secrets.store import SecretStore
from desktop.services.keyring_session import Attempt, KeyringSession
from desktop.services.runner import RotationRunner
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock

LOCKED = "the system keyring is locked; unlock it, then try again"


def seed(service: TokenService) -> TokenService:
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    return service


def interrupt_a_refresh(
    service: TokenService, store: InMemorySecretStore, monkeypatch: pytest.MonkeyPatch
) -> int:
    """A token whose refresh the keyring's locking interrupted: its intent is left journaled."""
    token_id = service.create_token("Production", "Ada").token.id
    write = store.put

    def lock_then_write(key: str, secret: str) -> None:
        store.available = False  # locked between the check and the write
        write(key, secret)

    monkeypatch.setattr(store, "put", lock_then_write)
    with pytest.raises(SecretStoreUnavailable):
        service.refresh(token_id)
    monkeypatch.undo()
    service.set_store(None)
    return token_id


class Opener:
    """Opens the store once it is unlocked: fails (as the keyring does) while ``locked``."""

    def __init__(self, store: SecretStore, *, locked: bool = True) -> None:
        self.store = store
        self.locked = locked
        self.calls = 0

    def __call__(self) -> SecretStore:
        self.calls += 1
        if self.locked:
            raise SecretStoreUnavailable(LOCKED)
        return self.store


@pytest.fixture
def runner(memory_context: Context, qapp: object) -> Iterator[RotationRunner]:
    made = RotationRunner(memory_context.service, 60_000)
    yield made
    made.stop()


@pytest.fixture
def without_keyring(memory_context: Context) -> TokenService:
    """The service as the window opens it: seeded, then without a store (not tried yet)."""
    service = seed(memory_context.service)
    service.set_store(None)
    return service


class SessionOptions(TypedDict, total=False):
    """What a test may pass on to :class:`KeyringSession` besides its service and runner."""

    problem: str | None
    tried: bool


def session_for(
    service: TokenService,
    runner: RotationRunner,
    opener: Callable[[], SecretStore],
    **kw: Unpack[SessionOptions],
) -> KeyringSession:
    return KeyringSession(service, runner, opener=opener, **kw)


def test_not_tried_yet_is_pending_and_unavailable_without_a_problem(
    without_keyring: TokenService, runner: RotationRunner, memory_store: InMemorySecretStore
) -> None:
    session = session_for(without_keyring, runner, Opener(memory_store), tried=False)
    assert session.pending
    assert session.problem is None
    assert not session.is_available()


def test_a_problem_known_at_start_is_not_pending(
    without_keyring: TokenService, runner: RotationRunner, memory_store: InMemorySecretStore
) -> None:
    session = session_for(without_keyring, runner, Opener(memory_store), problem=LOCKED)
    assert not session.pending
    assert session.problem == LOCKED
    assert not session.is_available()


def test_a_locked_keyring_then_an_unlocked_one(
    without_keyring: TokenService,
    runner: RotationRunner,
    memory_store: InMemorySecretStore,
    qtbot: QtBot,
) -> None:
    opener = Opener(memory_store)
    session = session_for(without_keyring, runner, opener, tried=False)
    problems: list[str] = []
    session.problemChanged.connect(problems.append)

    with qtbot.waitSignal(session.checked) as checked:
        attempt = session.retry()
    assert attempt == Attempt(opened=False, available=False)
    assert checked.args == [False]
    assert not session.pending
    assert session.problem == LOCKED
    assert problems == [LOCKED]
    assert without_keyring.store is None  # nothing handed over

    opener.locked = False
    with qtbot.waitSignal(session.checked) as checked:
        attempt = session.retry()
    assert attempt == Attempt(opened=True, available=True, finished=0)
    assert checked.args == [True]
    assert session.problem is None
    assert problems == [LOCKED, ""]
    assert without_keyring.store is memory_store
    assert session.is_available()
    assert opener.calls == 2


def test_a_problem_is_reported_only_when_it_changes(
    without_keyring: TokenService, runner: RotationRunner, memory_store: InMemorySecretStore
) -> None:
    session = session_for(without_keyring, runner, Opener(memory_store), problem=LOCKED)
    problems: list[str] = []
    session.problemChanged.connect(problems.append)
    session.retry()
    session.retry()
    assert problems == []


def test_reconnecting_finishes_the_changes_that_waited(
    memory_context: Context,
    runner: RotationRunner,
    memory_store: InMemorySecretStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = seed(memory_context.service)
    token_id = interrupt_a_refresh(service, memory_store, monkeypatch)
    memory_store.available = True
    session = session_for(service, runner, Opener(memory_store, locked=False), problem=LOCKED)

    attempt = session.retry()

    assert attempt == Attempt(opened=True, available=True, finished=1)
    assert service.token(token_id).generation == 0  # rolled back: the old secret still works
    assert service.reconcile().waiting == ()


def test_a_store_that_opens_but_fails_while_finishing_keeps_the_problem(
    memory_context: Context,
    runner: RotationRunner,
    memory_store: InMemorySecretStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = seed(memory_context.service)
    interrupt_a_refresh(service, memory_store, monkeypatch)  # and the store stays locked
    session = session_for(service, runner, Opener(memory_store, locked=False), tried=False)

    attempt = session.retry()  # opens (no check here), then finishing the refresh fails

    assert attempt == Attempt(opened=True, available=False, finished=0)
    assert session.problem is not None and "unavailable" in session.problem
    assert not session.is_available()


def test_reconnecting_restarts_the_runner_which_catches_up(
    memory_context: Context,
    runner: RotationRunner,
    memory_store: InMemorySecretStore,
    clock: FakeClock,
    qtbot: QtBot,
) -> None:
    service = seed(memory_context.service)
    token_id = service.create_token("Production", "Ada", rotation="daily").token.id
    service.set_store(None)
    clock.advance(timedelta(days=2))
    runner.start()  # scheduling, but without a keyring it waits
    with qtbot.assertNotEmitted(runner.started):
        runner.tick()
    session = session_for(service, runner, Opener(memory_store, locked=False), problem=LOCKED)

    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        assert session.retry().available

    assert finished.args[0].rotated == (token_id,)
    assert service.token(token_id).generation == 1
    assert runner.timer.isActive()


def test_a_runner_that_was_not_scheduling_stays_stopped(
    without_keyring: TokenService, runner: RotationRunner, memory_store: InMemorySecretStore
) -> None:
    session = session_for(without_keyring, runner, Opener(memory_store, locked=False))
    assert session.retry().available
    assert not runner.timer.isActive()


def test_a_secret_that_cannot_be_used_any_more_is_a_problem(
    memory_context: Context, runner: RotationRunner, memory_store: InMemorySecretStore
) -> None:
    service = seed(memory_context.service)
    session = session_for(service, runner, Opener(memory_store, locked=False))
    assert session.is_available()
    problems: list[str] = []
    session.problemChanged.connect(problems.append)

    session.lost(SecretStoreUnavailable(LOCKED))

    assert problems == [LOCKED]
    assert session.problem == LOCKED
    assert not session.is_available()


def test_the_system_keyring_is_the_default_opener(
    without_keyring: TokenService, runner: RotationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.secrets import store as secret_store

    def locked(check: bool = True) -> secret_store.KeyringSecretStore:
        raise SecretStoreUnavailable(LOCKED)

    monkeypatch.setattr(secret_store, "open_secret_store", locked)
    session = KeyringSession(without_keyring, runner, tried=False)
    assert not session.retry().opened
    assert session.problem == LOCKED
