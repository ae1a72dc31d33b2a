"""The two-store journal and its reconciler (the README's Crash safety section).

SQLite and the keyring cannot share a transaction, so every change that touches both writes an
intent first (in the same transaction as the token row it is about), carries the keyring side
out, and then commits the outcome and drops the intent:

* create:  commit row (phase ``creating``) + intent → write ``g0`` → read back and check the
  fingerprint → commit ``ready`` and drop the intent → only then return the secret.
* refresh / rotate:  commit intent (n → n+1, new fingerprint) → write ``g{n+1}`` → check →
  commit generation n+1 (compare-and-swap on n; the replaced secret becomes a
  ``PreviousSecret`` row with its own deadline) → delete ``g{n}`` → drop the intent.
* delete:  commit a tombstone (phase ``deleting``) + intent → delete the keyring entry →
  delete the row (the intent goes with it).

The database commit is the commit point. Until a change's outcome is committed it never
happened: nobody has seen a new secret (the caller gets it only after the commit), so
:meth:`Journal.reconcile` undoes it, removing a new keyring entry, and the old secret stays the
one clients hold (a scheduled rotation undone this way is still due, and happens at the next
pass). Once committed (a refresh's new generation, a delete's tombstone) it is finished,
whatever the keyring still holds. Rolling an uncommitted refresh forward instead would make the
secret clients use fail at once for one nobody was ever shown.

The unique intent per token doubles as a lock: two processes can never change one token's
secret at once. An intent this process is still carrying out is *in flight*; recovery leaves it
alone, and so it does an intent whose owner process still runs (named by host, PID and start
time, so a PID the system has since given to another process does not keep a dead owner's
change waiting), unless that intent is older than :data:`STALE_INTENT`.

On a registry shared on PostgreSQL the owner may run on another machine, whose PIDs mean
nothing here: only the owner's host judges whether the owner is gone. Every other host treats
the intent as a lease of :data:`STALE_INTENT` from when it was written, and leaves it alone until
the lease runs out. The lease is never renewed: a journaled change holds its intent for one
keyring write and two commits, seconds, and one that outlives its lease is at worst taken over
and reported as a conflict to its owner (see below), never committed twice. Ten minutes are far
more than the skew between clocks that NTP keeps in step, which the lease is measured across.

So a live owner (a suspended laptop, a stopped process) can be taken for gone, and resume.
Recovery therefore takes an intent over before it touches the keyring: in one write
transaction it reads the intent and the token again and writes the intent anew, under a new id
and as its own. From then on the owner finds its intent gone and cannot commit; whichever
commits first, the owner's change or recovery's takeover, decides, and an undo never follows a
commit. A recovery stopped midway leaves an intent owned by a process that ended, which the
next recovery takes over in turn.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from desktop.domain import tokens
from desktop.domain.clock import isoformat
from desktop.domain.errors import Conflict, SecretMismatch, SecretStoreUnavailable
from desktop.services.context import ServiceContext
from desktop.services.display import format_duration
from desktop.services.views import ReconcileReport
from desktop.storage import queries
from desktop.storage.lazy import deferred

if TYPE_CHECKING:
    from desktop.secrets.store import SecretStore
    from desktop.storage import repository
    from desktop.storage.models import Intent, Token
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

log = logging.getLogger(__name__)

# An intent whose owner is still alive is left alone, unless it is older than this; an intent
# of another host is left alone until it is older than this (its lease).
STALE_INTENT = timedelta(minutes=10)

MAX_HOST = 255  # a host name is at most 255 characters (POSIX HOST_NAME_MAX)

# What recovery did with one intent: finished it, undid it, left it to the live process that
# carries it out, or found it gone (finished meanwhile by its owner or another recovery).
Outcome = Literal["forward", "back", "waiting", "gone"]


def secret_key(token_uuid: str, generation: int) -> str:
    """The keyring entry of one generation of one token; never reused, never overwritten."""
    return f"{token_uuid}:g{generation}"


def process_start_time(pid: int) -> int | None:
    """When process *pid* started, in clock ticks since boot (field 22 of Linux's
    ``/proc/<pid>/stat``), or None when that cannot be read: no such process, or a system
    without ``/proc`` (macOS, Windows), where an owner is named by its PID alone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The name (field 2) may hold spaces and parentheses: count from after its ")".
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[22 - 3])
    except (OSError, IndexError, ValueError):
        return None


def own_host() -> str:
    """The host an intent's owner runs on: the full :func:`socket.gethostname`, not the first
    label the audit log shows (``laptop``), since two machines sharing a short name would each
    judge the other's PIDs as their own. An empty one (no name configured) is still a name:
    every such machine is one host, as it is to the audit log."""
    try:
        return socket.gethostname()[:MAX_HOST]
    except OSError:
        return ""


_own_start: tuple[int, int | None] | None = None  # (pid, start) of this process, once read


def own_start_time() -> int | None:
    """This process's :func:`process_start_time`, read once (again in a forked child)."""
    global _own_start
    pid = os.getpid()
    if _own_start is None or _own_start[0] != pid:
        _own_start = pid, process_start_time(pid)
    return _own_start[1]


def owner_alive(pid: int, started: int | None) -> bool:
    """Whether the process that wrote an intent still runs. With its start time on record, a
    process now holding that PID but started at another time is someone else: the owner is
    gone. Without one (an older intent, or a system that does not say), the PID alone decides."""
    if not pid_alive(pid):
        return False
    if started is None:
        return True
    now_started = process_start_time(pid)
    # Unreadable now (it just exited, or /proc is hidden from us): trust the PID, as before.
    return now_started is None or now_started == started


def pid_alive(pid: int) -> bool:
    """Whether process *pid* still runs (a zombie has ended, whatever the process table says)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; it just has not been reaped yet
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class Claim:
    """An intent this process wrote and is still carrying out."""

    intent_id: int
    token_id: int
    token_uuid: str
    from_generation: int
    to_generation: int


def put_checked(store: SecretStore, key: str, secret: str) -> None:
    """Write a new entry and read it back: a keyring that drops or mangles it is caught
    before the database points at it."""
    if store.get(key) is not None:
        # Only an orphan can be here (journaled changes delete theirs before giving up).
        store.delete(key)
    store.put(key, secret)
    stored = store.get(key)
    if stored is None or tokens.fingerprint(stored) != tokens.fingerprint(secret):
        store.delete(key)
        raise SecretMismatch("the keyring did not return the secret just stored; nothing changed")


def discard(store: SecretStore, key: str) -> None:
    """Best effort: an entry nothing points at. If the keyring is gone, it stays an orphan
    that the next write of the same key replaces (see :func:`put_checked`)."""
    try:
        store.delete(key)
    except SecretStoreUnavailable:
        log.warning("could not remove an unused keyring entry (keyring unavailable)")


class Journal:
    """Claims, their outcome, and recovery of the ones nobody is carrying out any more."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._database = context.database
        self._work = context.work
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- claims

    def claim(
        self,
        row: Token,
        kind: str,
        action: str,
        *,
        to_generation: int,
        secret: str | None = None,
        grace_seconds: int = 0,
        actor: str | None = None,
    ) -> Claim:
        """Write the intent (inside the caller's transaction). A second writer for the same
        token gets :class:`Conflict` here."""
        intent = repository.insert_intent(
            self._database,
            token=row.id,
            kind=kind,
            from_generation=row.generation,
            to_generation=to_generation,
            new_fingerprint=tokens.fingerprint(secret) if secret else None,
            new_hint=tokens.hint(secret) if secret else None,
            grace_seconds=grace_seconds,
            action=action,
            actor=actor or self._context.actor,
            owner_pid=os.getpid(),
            owner_started=own_start_time(),
            owner_host=own_host(),
            created_at=self._context.now(),
        )
        if intent is None:
            raise Conflict(f"token {row.id} is being changed elsewhere; try again")
        # In flight from before the commit: recovery on another thread of this process must
        # never see the intent without knowing it is being carried out.
        with self._lock:
            self._in_flight.add(intent.id)
        return Claim(intent.id, row.id, row.uuid, row.generation, to_generation)

    @contextmanager
    def carrying(self, claim: Claim) -> Iterator[None]:
        """Until the block ends the claim counts as in flight (it has since :meth:`claim`)."""
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.discard(claim.intent_id)

    def require_claim(self, claim: Claim) -> Intent:
        """The claim's intent, or :class:`Conflict` when recovery elsewhere removed it."""
        intent = repository.intent(self._database, claim.intent_id)
        if intent is None:
            raise Conflict(f"the change to token {claim.token_id} was undone by recovery")
        return intent

    # ----------------------------------------------------------------- outcomes

    def abandon(self, claim: Claim) -> None:
        """Undo a change that failed before its commit. If even that fails (keyring gone), the
        intent stays for :meth:`reconcile` and the token keeps its old state meanwhile."""
        store = self._context.store
        try:
            if store is not None:
                store.delete(secret_key(claim.token_uuid, claim.to_generation))
        except SecretStoreUnavailable:
            log.warning("token %s: change left for recovery (keyring unavailable)", claim.token_id)
            return
        self.roll_back(claim.intent_id)

    def roll_back(self, intent_id: int) -> int | None:
        """Drop the intent (a token still being created goes with it); the token's id, or None
        when the intent was gone already."""
        with self._work.transaction():
            intent = repository.intent(self._database, intent_id)
            if intent is None:
                return None
            token_id: int = intent.token_id
            if intent.kind == "create":
                repository.delete_token(self._database, token_id)  # the intent cascades
            else:
                repository.delete_intent(self._database, intent.id)
        return token_id

    def commit_refresh(self, intent_id: int, holder: str) -> datetime | None:
        """Point the token at the new generation: a compare-and-swap on the old one, and at
        *holder*, whose keyring the new secret was written to. The replaced secret is kept, with
        its own deadline, beside any replaced before it whose grace has not ended: every grace
        promised is kept. Returns that deadline (naive UTC), or None when the replaced secret
        stopped working at once."""
        with self._work.transaction() as audit:
            intent = repository.intent(self._database, intent_id)
            if intent is None:
                raise Conflict("the change was undone by recovery")
            row = repository.token_by_id(self._database, intent.token_id)
            if row is None:
                raise Conflict("the change was undone by recovery")
            now = self._context.now()
            changes: dict[str, object] = {
                "generation": intent.to_generation,
                "fingerprint": intent.new_fingerprint,
                "hint": intent.new_hint,
                "last_rotated_at": now,
                "last_error": None,
                "updated_at": now,
                "holder": holder,
                # Delivered once committed (desktop.services.delivery): due now, if at all.
                "delivery_due_at": now if row.delivery_command else None,
                "delivery_attempts": 0,
            }
            if row.rotation_seconds:
                changes["next_rotation_at"] = now + timedelta(seconds=row.rotation_seconds)
            updated = repository.update_token_at_generation(
                self._database, row.id, intent.from_generation, changes
            )
            if updated != 1:
                raise Conflict(f"token {row.id} changed while its secret was being replaced")
            repository.prune_previous_secrets(self._database, now, row.id)
            earlier = queries.previous_deadlines(self._database, now, row.id).get(row.id)
            details = f"generation {intent.to_generation}"
            replaced_until = None
            if intent.grace_seconds:
                grace = timedelta(seconds=intent.grace_seconds)
                replaced_until = now + grace
                repository.add_previous_secret(
                    self._database, row.id, row.fingerprint, replaced_until
                )
                details += f", previous secret valid for {format_duration(grace)}"
            else:
                details += ", previous secret invalid at once"
            if earlier is not None:
                count, until = earlier
                secrets = "secret" if count == 1 else f"{count} secrets"
                details += f"; earlier {secrets} still valid until {isoformat(until)}"
            if holder != row.holder:
                details += f"; holder changed from {row.holder or 'nobody'} to {holder}"
            audit(intent.action, row.id, details, actor=intent.actor)
        return replaced_until

    def finish_refresh(self, store: SecretStore, intent_id: int) -> None:
        """After the commit: remove the old generation's entry, then the intent."""
        intent = repository.intent(self._database, intent_id)
        if intent is None:
            return
        token = repository.token_by_id(self._database, intent.token_id)
        if token is None:
            return
        try:
            store.delete(secret_key(token.uuid, intent.from_generation))
        except SecretStoreUnavailable:
            log.warning("token %s: old secret left for recovery (keyring unavailable)", token.id)
            return
        with self._work.transaction():
            repository.delete_intent(self._database, intent_id)

    def finish_delete(self, store: SecretStore, claim: Claim) -> None:
        """After the tombstone: the keyring entry goes, then the row (and its intent)."""
        store.delete(secret_key(claim.token_uuid, claim.from_generation))
        with self._work.transaction():
            repository.delete_token(self._database, claim.token_id)

    # ----------------------------------------------------------------- recovery

    def reconcile(self) -> ReconcileReport:
        """Finish or undo every change a crash left behind. Idempotent; safe to run at any time.

        Never deletes or regenerates anything because the keyring is unavailable: such changes
        stay journaled (and the tokens keep their old state) until the keyring is back.
        """
        if not queries.any_intent(self._database):  # the usual start: nothing to recover
            return ReconcileReport((), (), (), None)
        forward: list[int] = []
        back: list[int] = []
        waiting: list[int] = []
        problem: str | None = None
        now = self._context.now()
        store = self._context.store
        with self._work.change() as change:
            for intent in repository.intents(self._database):
                token_id = intent.token_id
                if not self.abandoned(intent, now):
                    waiting.append(token_id)
                    continue
                if store is None:
                    waiting.append(token_id)
                    problem = problem or "the system keyring is unavailable"
                    continue
                try:
                    outcome = self._reconcile_one(store, intent.id, now)
                except SecretStoreUnavailable as error:
                    waiting.append(token_id)
                    problem = problem or str(error)
                    break
                if outcome == "forward":
                    forward.append(token_id)
                elif outcome == "back":
                    back.append(token_id)
                elif outcome == "waiting":
                    waiting.append(token_id)
            if forward or back:
                change.mark()  # rolling back records no audit event of its own
        report = ReconcileReport(tuple(forward), tuple(back), tuple(waiting), problem)
        if forward or back or waiting:
            log.info(
                "recovery: %d rolled forward, %d rolled back, %d waiting",
                len(forward),
                len(back),
                len(waiting),
            )
        return report

    def abandoned(self, intent: Intent, now: datetime) -> bool:
        """True when no live process is carrying the intent out any more. An owner on this host
        is judged by its PID and start time; one on another host only by its lease running out.
        An intent from before hosts were named is this host's in a SQLite file (one machine's),
        but may be any machine's in a shared PostgreSQL registry: there it waits for its lease."""
        if intent.owner_host is None:
            on_this_host = self._database.engine != "postgresql"
        else:
            on_this_host = intent.owner_host == own_host()
        this_process = on_this_host and intent.owner_pid == os.getpid()
        if this_process:
            with self._lock:
                if intent.id in self._in_flight:
                    return False
        if now - intent.created_at > STALE_INTENT:
            return True  # its lease has run out, wherever its owner is
        if not on_this_host:
            return False  # another host's PIDs say nothing here
        return this_process or not owner_alive(intent.owner_pid, intent.owner_started)

    def _reconcile_one(self, store: SecretStore, intent_id: int, now: datetime) -> Outcome:
        """Take one abandoned intent over, then roll it forward or back.

        Deciding first and acting later is not enough: an owner taken for abandoned may still
        run (stopped longer than :data:`STALE_INTENT`, then resumed), and it could commit
        between recovery's decision and its undo, which would then delete the secret just
        committed. So the decision and the takeover are one write transaction, and only then
        does recovery touch the keyring: the owner, its intent gone, can no longer commit.
        Recovery stopped midway leaves an intent owned by a process that has ended, which the
        next recovery takes over in turn.
        """
        taken = self._take_over(intent_id, now)
        if isinstance(taken, str):
            return taken
        intent, token = taken
        try:
            claim = Claim(
                intent.id, token.id, token.uuid, intent.from_generation, intent.to_generation
            )
            if intent.kind == "delete":  # the tombstone committed it
                self.finish_delete(store, claim)
                return "forward"
            if intent.kind == "create":
                # The secret was never shown and the command reported failure: undo, so a
                # retry does not leave a second token nobody holds.
                store.delete(secret_key(token.uuid, 0))
                self.roll_back(intent.id)
                return "back"
            if token.generation == intent.to_generation:  # committed; the old entry may remain
                self.finish_refresh(store, intent.id)
                return "forward"
            # Not committed: undone, even when the new secret reached the keyring. Nobody was
            # shown it, and the old one is what clients hold (a due rotation stays due).
            store.delete(secret_key(token.uuid, intent.to_generation))
            self.roll_back(intent.id)
            return "back"
        finally:
            with self._lock:
                self._in_flight.discard(intent.id)

    def _take_over(self, intent_id: int, now: datetime) -> tuple[Intent, Token] | Outcome:
        """In one write transaction: read the intent and its token again and, if the intent is
        still there and still abandoned, make this process its owner under a new id (which
        counts as in flight from before the commit, as a claim does). The new intent and the
        token as they now stay until recovery acts: nobody else can change the token's secret
        while the intent exists, and its former owner cannot commit any more. Otherwise
        ``"gone"`` (its owner finished it meanwhile, or another recovery did) or ``"waiting"``
        (another recovery took it over first and is carrying it out)."""
        taken: Intent | None = None
        try:
            with self._work.transaction():
                intent = repository.intent(self._database, intent_id)
                if intent is None:
                    return "gone"
                if not self.abandoned(intent, now):
                    return "waiting"
                token = repository.token_by_id(self._database, intent.token_id)
                if token is None:  # the intent goes with its token: not reached
                    return "gone"
                # Taken over now: another recovery waits for this one as for any live owner.
                # Two recoveries of one change at once would both delete its new entry, the
                # slower one perhaps after a later change has written that key again.
                taken = repository.take_over_intent(
                    self._database,
                    intent,
                    owner_pid=os.getpid(),
                    owner_started=own_start_time(),
                    owner_host=own_host(),
                    created_at=now,
                )
                with self._lock:
                    self._in_flight.add(taken.id)
        except BaseException:
            if taken is not None:
                with self._lock:
                    self._in_flight.discard(taken.id)
            raise
        return taken, token
