"""The two-store journal: claims, their outcomes, and recovery of the ones left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import cast

import pytest

from desktop.domain import tokens
from desktop.domain.errors import Conflict, SecretMismatch
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.journal import (
    STALE_INTENT,
    discard,
    own_host,
    own_start_time,
    owner_alive,
    pid_alive,
    process_start_time,
    put_checked,
    secret_key,
)
from desktop.services.tokens import TokenService
from desktop.storage.models import Intent, Token
from tests.helpers.clock import FakeClock
from tests.helpers.stores import DelegatingStore, DeleteDown


class Mangling(DelegatingStore):
    """Returns something other than what was stored."""

    def get(self, key: str) -> str | None:
        stored = self.inner.get(key)
        return None if stored is None else tokens.generate()


def test_secret_keys_name_the_token_and_generation() -> None:
    assert secret_key("0b9c", 0) == "0b9c:g0"
    assert secret_key("0b9c", 12) == "0b9c:g12"


def test_put_checked_reads_back_and_leaves_nothing_when_it_differs(
    memory_store: InMemorySecretStore,
) -> None:
    secret = tokens.generate()
    put_checked(memory_store, "k:g0", secret)
    assert memory_store.get("k:g0") == secret
    memory_store.put("k:g1", "an orphan")  # left by a change nothing points at any more
    put_checked(memory_store, "k:g1", secret)
    assert memory_store.get("k:g1") == secret
    with pytest.raises(SecretMismatch, match="did not return the secret"):
        put_checked(Mangling(memory_store), "k:g2", secret)
    assert memory_store.get("k:g2") is None


def test_discard_leaves_an_orphan_when_the_keyring_is_gone(
    memory_store: InMemorySecretStore,
) -> None:
    memory_store.put("k:g0", "x")
    discard(DeleteDown(memory_store), "k:g0")  # no exception: best effort
    assert memory_store.keys() == ["k:g0"]
    discard(memory_store, "k:g0")
    assert memory_store.keys() == []


def test_a_process_is_alive_until_it_has_exited() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


def test_one_claim_per_token(service: TokenService) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    row = Token.select().where(Token.id == issued.token.id).get(handle)
    journal = service.journal
    with service._context.work.transaction():
        claim = journal.claim(row, "refresh", "refresh", to_generation=1)
    with journal.carrying(claim):
        with (
            pytest.raises(Conflict, match="being changed elsewhere"),
            service._context.work.transaction(),
        ):
            journal.claim(row, "refresh", "refresh", to_generation=1)
        assert service.reconcile().waiting == (issued.token.id,)  # in flight: left alone
    report = service.reconcile()  # no longer carried out: rolled back
    assert report.rolled_back == (issued.token.id,)
    assert Intent.select().bind(handle).count() == 0
    assert service.token(issued.token.id).generation == 0


def test_delete_committed_before_the_keyring_failed_is_finished_later(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    uuid = Token.select().where(Token.id == issued.token.id).get(handle).uuid
    database = service._context.database
    failing = TokenService(database, DeleteDown(memory_store), clock=service.clock)
    failing.delete(issued.token.id)  # the delete stands; only the clean-up waits
    assert service.tokens() == []
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert Intent.select().bind(handle).count() == 1
    report = TokenService(database, memory_store, clock=service.clock).reconcile()
    assert report.rolled_forward == (issued.token.id,)
    assert memory_store.get(secret_key(uuid, 0)) is None
    assert Intent.select().bind(handle).count() == 0
    assert Token.select().bind(handle).count() == 0


def test_recovery_waits_for_the_keyring_and_changes_nothing(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    database = service._context.database
    TokenService(database, DeleteDown(memory_store), clock=service.clock).delete(issued.token.id)
    report = TokenService(database, None, clock=service.clock).reconcile()
    assert report.waiting == (issued.token.id,)
    assert report.problem == "the system keyring is unavailable"
    memory_store.available = False
    report = TokenService(database, memory_store, clock=service.clock).reconcile()
    assert report.waiting == (issued.token.id,) and "unavailable" in (report.problem or "")
    assert Intent.select().bind(handle).count() == 1


def test_a_refresh_written_to_the_keyring_but_not_committed_is_rolled_back(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    """The database commit is the commit point: a new secret nobody was shown never replaces
    the one clients hold."""
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    row = Token.select().where(Token.id == issued.token.id).get(handle)
    secret = tokens.generate()
    with service._context.work.transaction():
        claim = service.journal.claim(row, "refresh", "refresh", to_generation=1, secret=secret)
    memory_store.put(secret_key(row.uuid, 1), secret)
    with service.journal.carrying(claim):
        pass  # the process carrying it out "crashed" here
    assert service.reconcile().rolled_back == (issued.token.id,)
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    assert service.verify("Production", secret, "GET", "/Loans").status == 401
    assert memory_store.keys() == [secret_key(row.uuid, 0)]
    assert service.reveal(issued.token.id) == issued.secret
    assert [event.action for event in service.audit(issued.token.id)] == ["create"]


class CrashAtCommit:
    """A commit hook that "kills the process" (KeyboardInterrupt) just before the given
    commit, counting from 1; the transaction rolls back, as SQLite's would."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.seen = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        self.seen += 1
        if self.seen == self.number:
            raise KeyboardInterrupt
        yield


def test_a_rotation_undone_by_recovery_stays_due_and_happens_at_the_next_pass(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", rotation="1d", grace="1h")
    token_id = issued.token.id
    clock.advance(timedelta(days=1))
    # Intent, keyring write and read back done; the new generation's commit never happens.
    crashing = TokenService(service._context.database, memory_store, clock=clock)
    crashing.unit_of_work.commit_hook = CrashAtCommit(2)
    with pytest.raises(KeyboardInterrupt):
        crashing.rotate_due()
    assert len(memory_store.keys()) == 2  # the old secret and the unshown new one
    assert service.reconcile().rolled_back == (token_id,)
    assert len(memory_store.keys()) == 1
    assert service.reveal(token_id) == issued.secret
    assert service.due_token_ids() == [token_id]
    assert [event.action for event in service.audit(token_id)] == ["create"]
    assert service.rotate_due().rotated == (token_id,)
    rotated = service.reveal(token_id)
    assert rotated != issued.secret
    assert service.verify("Production", rotated, "GET", "/Loans").status == 200
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200  # grace


def test_a_create_left_behind_is_undone(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle

    class PutDown(DelegatingStore):
        def put(self, key: str, secret: str) -> None:
            self.inner.put(key, secret)
            raise KeyboardInterrupt  # stopped between the keyring write and the commit

    database = service._context.database
    interrupted = TokenService(database, PutDown(memory_store), clock=service.clock)
    with pytest.raises(KeyboardInterrupt):
        interrupted.create_token("Production", "alice")
    # The failed create undid itself: no token, no entry, no intent.
    assert (
        Token.select().bind(handle).count(),
        memory_store.keys(),
        Intent.select().bind(handle).count(),
    ) == (0, [], 0)


def claim_refresh(service: TokenService, token_id: int) -> int:
    """An intent to refresh the token, as if another process had written it: this one is
    not carrying it out. Its id."""
    handle = service.unit_of_work.database.handle
    row = Token.select().where(Token.id == token_id).get(handle)
    with service._context.work.transaction():
        claim = service.journal.claim(row, "refresh", "refresh", to_generation=1)
    with service.journal.carrying(claim):
        pass
    return claim.intent_id


def set_owner(service: TokenService, intent_id: int, **owner: int | str | None) -> None:
    handle = service.unit_of_work.database.handle
    Intent.update(**owner).bind(handle).where(Intent.id == intent_id).execute()


def test_an_intent_of_another_live_process_waits_until_it_is_stale(
    service: TokenService, clock: FakeClock
) -> None:
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)
    parent = os.getppid()  # alive, and not this process
    set_owner(service, intent_id, owner_pid=parent, owner_started=process_start_time(parent))
    assert service.reconcile().waiting == (token_id,)
    clock.advance(STALE_INTENT + timedelta(seconds=1))
    assert service.reconcile().rolled_back == (token_id,)


def ended_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    with subprocess.Popen([sys.executable, "-c", "pass"]) as ended:
        pass
    return ended.pid


OTHER_HOST = "another-desktop.example.org"


def test_a_claim_and_a_takeover_name_this_host(service: TokenService, clock: FakeClock) -> None:
    handle = service.unit_of_work.database.handle
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)
    assert Intent.select().where(Intent.id == intent_id).get(handle).owner_host == own_host()
    set_owner(service, intent_id, owner_pid=ended_pid(), owner_host=OTHER_HOST)
    clock.advance(STALE_INTENT + timedelta(seconds=1))

    class Stopped(DelegatingStore):
        def delete(self, key: str) -> None:
            raise KeyboardInterrupt  # recovery ends right after its takeover

    with pytest.raises(KeyboardInterrupt):
        TokenService(service._context.database, Stopped(InMemorySecretStore())).reconcile()
    taken = Intent.select().get(handle)
    assert (taken.owner_host, taken.owner_pid) == (own_host(), os.getpid())


def test_an_intent_from_before_hosts_were_named_is_any_hosts_on_a_shared_registry(
    service: TokenService, clock: FakeClock, engine: str
) -> None:
    """Its owner is named by PID alone: in a SQLite file (one machine's) that PID is this
    host's, judged at once; in a PostgreSQL registry it may be another machine's, so it waits
    for its lease like any other host's."""
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)
    set_owner(service, intent_id, owner_pid=ended_pid(), owner_host=None)
    if engine == "sqlite":
        assert service.reconcile().rolled_back == (token_id,)
        return
    assert service.reconcile().waiting == (token_id,)
    clock.advance(STALE_INTENT + timedelta(seconds=1))
    assert service.reconcile().rolled_back == (token_id,)


def test_another_hosts_intent_is_left_alone_until_its_lease_runs_out(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    """Its PID means nothing here: that no process here has it says nothing of the owner."""
    issued = service.create_token("Production", "alice")
    token_id = issued.token.id
    intent_id = claim_refresh(service, token_id)
    set_owner(service, intent_id, owner_pid=ended_pid(), owner_host=OTHER_HOST)
    assert service.reconcile().waiting == (token_id,)
    clock.advance(STALE_INTENT)
    assert service.reconcile().waiting == (token_id,)  # the lease has not yet run out
    with pytest.raises(Conflict, match="being changed elsewhere"):
        service.refresh(token_id)
    clock.advance(timedelta(seconds=1))
    assert service.reconcile().rolled_back == (token_id,)  # undone, as any abandoned refresh
    assert service.reveal(token_id) == issued.secret
    assert service.refresh(token_id).token.generation == 1


def test_another_hosts_intent_with_this_processs_pid_is_not_this_processs(
    service: TokenService, clock: FakeClock
) -> None:
    """The same PID on another machine is another process: neither carried out here nor
    judged abandoned because this process is not carrying it out."""
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)
    set_owner(service, intent_id, owner_pid=os.getpid(), owner_host=OTHER_HOST)
    assert service.reconcile().waiting == (token_id,)
    clock.advance(STALE_INTENT + timedelta(seconds=1))
    assert service.reconcile().rolled_back == (token_id,)


def test_a_committed_change_of_another_host_is_finished_after_its_lease(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    """The owner on another machine committed the new generation and died before removing
    the old entry: recovery here finishes it once the lease has run out, as it would its own."""
    handle = service.unit_of_work.database.handle
    token_id = service.create_token("Production", "alice").token.id
    row = Token.select().where(Token.id == token_id).get(handle)
    secret = tokens.generate()
    owner = TokenService(service._context.database, memory_store, clock=clock).journal
    with service.unit_of_work.transaction():
        claim = owner.claim(row, "refresh", "refresh", to_generation=1, secret=secret)
    with owner.carrying(claim):
        put_checked(memory_store, secret_key(row.uuid, 1), secret)
        owner.commit_refresh(claim.intent_id, service.person)
    set_owner(service, claim.intent_id, owner_pid=ended_pid(), owner_host=OTHER_HOST)
    assert service.reconcile().waiting == (token_id,)
    assert memory_store.keys() == sorted([secret_key(row.uuid, 0), secret_key(row.uuid, 1)])
    clock.advance(STALE_INTENT + timedelta(seconds=1))
    assert service.reconcile().rolled_forward == (token_id,)
    assert memory_store.keys() == [secret_key(row.uuid, 1)]
    assert service.reveal(token_id) == secret
    assert Intent.select().bind(handle).count() == 0


def test_the_owners_host_recovers_a_dead_owner_at_once(service: TokenService) -> None:
    """On the owner's own host the PID decides, lease or not (an intent from before hosts
    were named: see the test above)."""
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)
    set_owner(service, intent_id, owner_pid=ended_pid(), owner_host=own_host())
    assert service.reconcile().rolled_back == (token_id,)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start times from /proc")
def test_a_reused_pid_does_not_keep_a_dead_owners_change_waiting(service: TokenService) -> None:
    """The owner's PID now names another live process, started at another time than the one
    on record: the owner is gone, and recovery does not wait."""
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)  # on record: this process's start time
    with live_process() as other:  # started now, long after this one
        set_owner(service, intent_id, owner_pid=other)
        assert service.reconcile().rolled_back == (token_id,)
    assert service.refresh(token_id).token.generation == 1  # not refused as "being changed"


def test_an_intent_without_a_start_time_keeps_the_pid_rule(service: TokenService) -> None:
    """Written before start times were recorded (or where the system gives none): a live PID
    still counts as the owner."""
    token_id = service.create_token("Production", "alice").token.id
    intent_id = claim_refresh(service, token_id)
    set_owner(service, intent_id, owner_pid=os.getppid(), owner_started=None)
    assert service.reconcile().waiting == (token_id,)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="start times from /proc")
def test_a_process_start_time_names_one_process() -> None:
    own = process_start_time(os.getpid())
    assert isinstance(own, int) and own == own_start_time()
    with live_process() as pid:
        started = process_start_time(pid)
        assert started is not None and started >= own
        assert owner_alive(pid, started)
        assert not owner_alive(pid, started + 1)  # the same PID, another process
        assert owner_alive(pid, None)  # PID only
    assert process_start_time(pid) is None
    assert not owner_alive(pid, started)


@contextmanager
def live_process() -> Iterator[int]:
    """A child that runs until the block ends (and is reaped then): its PID."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        yield child.pid
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()


# ----------------------------------------------------------------- an owner that resumes

WAIT = 60  # a safety net against a hung thread, never a timing assertion


class Stopped(DelegatingStore):
    """The owner's keyring: once the new entry is written and read back (the owner's last
    keyring call before its commit), the owner stops there, as a suspended laptop or a
    SIGSTOPped process does, until it is told to go on."""

    def __init__(self, inner: InMemorySecretStore) -> None:
        super().__init__(inner)
        self.written: str | None = None
        self.stopped = threading.Event()
        self.go_on = threading.Event()

    def put(self, key: str, secret: str) -> None:
        self.inner.put(key, secret)
        self.written = key

    def get(self, key: str) -> str | None:
        value = self.inner.get(key)
        if key == self.written and not self.stopped.is_set():
            self.stopped.set()
            assert self.go_on.wait(WAIT)
        return value


class Owner:
    """Another process carrying out one change (a thread here, on its own connection and with
    a journal of its own): what it returned, or what it raised."""

    def __init__(self, service: TokenService, work: Callable[[TokenService], object]) -> None:
        self.store = Stopped(cast(InMemorySecretStore, service._context.store))
        self.service = TokenService(service._context.database, self.store, clock=service.clock)
        self.outcome: object = None
        self._thread = threading.Thread(target=self._run, args=(work,))

    def _run(self, work: Callable[[TokenService], object]) -> None:
        with self.service.connection():
            try:
                self.outcome = work(self.service)
            except Exception as error:  # what the person running it would see
                self.outcome = error

    def start_and_stop(self) -> None:
        """Start, and return once the owner has stopped just before its commit."""
        self._thread.start()
        assert self.store.stopped.wait(WAIT)

    def resume(self) -> None:
        """Let the owner go on, and wait until its change is done (or refused)."""
        self.store.go_on.set()
        self._thread.join(WAIT)
        assert not self._thread.is_alive()


class OwnerResumes(DelegatingStore):
    """Recovery's keyring: the stopped owner goes on just as recovery, having decided what to
    do, touches the keyring for the first time."""

    def __init__(self, inner: InMemorySecretStore, owner: Owner) -> None:
        super().__init__(inner)
        self._owner = owner

    def delete(self, key: str) -> None:
        if not self._owner.store.go_on.is_set():
            self._owner.resume()
        self.inner.delete(key)


def recover_after_the_owner_looks_stale(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock, owner: Owner
) -> int:
    """The owner is another live process: recovery leaves its change alone until it is older
    than STALE_INTENT, then takes it for abandoned. The token's id."""
    handle = service.unit_of_work.database.handle
    intent = Intent.select().get(handle)
    parent = os.getppid()  # alive, and not this process
    set_owner(service, intent.id, owner_pid=parent, owner_started=process_start_time(parent))
    assert service.reconcile().waiting == (intent.token_id,)
    clock.advance(STALE_INTENT + timedelta(seconds=1))
    recovery = TokenService(
        service._context.database, OwnerResumes(memory_store, owner), clock=clock
    )
    recovery.reconcile()
    assert owner.store.go_on.is_set()  # the owner did go on in the middle of recovery
    return intent.token_id


def test_a_stale_refresh_is_committed_by_its_owner_or_undone_by_recovery_never_both(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    """Undoing a refresh its owner then commits would leave the token pointing at a secret
    no keyring entry holds: recovery takes the change over first, and the owner, no longer
    holding it, must not commit."""
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    token_id = issued.token.id
    uuid = Token.select().where(Token.id == token_id).get(handle).uuid
    owner = Owner(service, lambda other: other.refresh(token_id))
    owner.start_and_stop()
    assert recover_after_the_owner_looks_stale(service, memory_store, clock, owner) == token_id
    assert service.reveal(token_id) == issued.secret  # the token's secret is in the keyring
    assert isinstance(owner.outcome, Conflict)
    assert "undone by recovery" in str(owner.outcome)
    assert service.token(token_id).generation == 0
    assert memory_store.keys() == [secret_key(uuid, 0)]
    assert Intent.select().bind(handle).count() == 0
    assert [event.action for event in service.audit(token_id)] == ["create"]
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200


def test_a_stale_create_is_committed_by_its_owner_or_undone_by_recovery_never_both(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    """The same for a create: a token shown to the person must have its secret in the
    keyring, so once recovery has taken the create over, its owner refuses to finish it."""
    handle = service.unit_of_work.database.handle
    owner = Owner(service, lambda other: other.create_token("Production", "alice"))
    owner.start_and_stop()
    recover_after_the_owner_looks_stale(service, memory_store, clock, owner)
    assert isinstance(owner.outcome, Conflict)
    assert "undone by recovery" in str(owner.outcome)
    assert (
        Token.select().bind(handle).count(),
        memory_store.keys(),
        Intent.select().bind(handle).count(),
    ) == (0, [], 0)


def test_a_recovery_stopped_after_its_takeover_is_finished_by_the_next(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    """Recovery owns the change from its takeover on: its former owner can no longer commit,
    and if recovery itself ends midway, the next one takes the change over and finishes it."""
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    token_id = issued.token.id
    row = Token.select().where(Token.id == token_id).get(handle)
    secret = tokens.generate()
    owner = TokenService(service._context.database, memory_store, clock=clock).journal
    with service.unit_of_work.transaction():
        claim = owner.claim(row, "refresh", "refresh", to_generation=1, secret=secret)
    put_checked(memory_store, secret_key(row.uuid, 1), secret)
    set_owner(service, claim.intent_id, owner_pid=os.getppid(), owner_started=None)
    clock.advance(STALE_INTENT + timedelta(seconds=1))

    class Killed(DelegatingStore):
        def delete(self, key: str) -> None:
            raise KeyboardInterrupt  # recovery ends between its takeover and its undo

    with pytest.raises(KeyboardInterrupt):
        TokenService(service._context.database, Killed(memory_store), clock=clock).reconcile()
    taken = Intent.select().get(handle)
    assert taken.id != claim.intent_id and taken.owner_pid == os.getpid()
    with pytest.raises(Conflict, match="undone by recovery"), owner.carrying(claim):
        owner.commit_refresh(claim.intent_id, "alice@laptop")  # the owner resumes: too late
    with subprocess.Popen([sys.executable, "-c", "pass"]) as ended:
        pass  # the recovering process has ended
    set_owner(service, taken.id, owner_pid=ended.pid)
    assert service.reconcile().rolled_back == (token_id,)
    assert service.reveal(token_id) == issued.secret
    assert memory_store.keys() == [secret_key(row.uuid, 0)]
    assert Intent.select().bind(handle).count() == 0
