"""A token's life: create, activate or deactivate, label, schedule, refresh, rotate (one, or
every due one), delete, and reveal its secret.

Every change that touches the keyring goes through the journal (:mod:`desktop.services.journal`);
the others are one transaction each. Listeners hear of a change once it is complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from desktop.domain import tokens
from desktop.domain.access import IneligibleAgent, agent_refusal
from desktop.domain.clock import isoformat, utc
from desktop.domain.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    RuleViolation,
    SecretMismatch,
    SecretStoreUnavailable,
)
from desktop.domain.expiry import check_expiry
from desktop.domain.intervals import format_interval, parse_grace, parse_interval
from desktop.domain.validation import clean_label
from desktop.services.context import ServiceContext
from desktop.services.directory import Directory, agent_view
from desktop.services.journal import Journal, discard, put_checked, secret_key
from desktop.services.views import IssuedSecret, RotationReport, TokenView
from desktop.storage import queries
from desktop.storage.lazy import deferred
from desktop.storage.states import ACTIVE, CREATING, DELETING, INACTIVE, READY, naive

if TYPE_CHECKING:
    from desktop.storage import repository
    from desktop.storage.models import Token
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

log = logging.getLogger(__name__)

Interval = timedelta | str | None


def rotation_refusal(refusal: str) -> str:
    """What a scheduled rotation of a token records when its agent may not have it rotated
    (*refusal*, from :func:`~desktop.domain.access.agent_refusal`): the token's ``last_error``,
    which the window shows beside its next rotation."""
    return f"{refusal}, so its tokens are not rotated"[:500]


def as_interval(value: Interval, *, grace: bool = False) -> tuple[timedelta | None, str | None]:
    """Accept a timedelta (from the window) or text (from the command line): the interval and
    how the schedule shows it."""
    if value is None:
        return None, None
    if isinstance(value, str):
        parsed = parse_grace(value) if grace else parse_interval(value)
        return parsed, value.strip().lower()
    if value < timedelta(0) or (value == timedelta(0) and not grace):
        raise InvalidInput("an interval must be positive")
    if value.total_seconds() % 3600:
        raise InvalidInput("an interval must be a whole number of hours")
    return value, format_interval(value)


def stored_token_view(
    row: Token, grace_until: datetime | None = None, usage: tuple[datetime, int] | None = None
) -> TokenView:
    """A token (read with environment, agent and role) as callers see it; *grace_until*: the
    latest deadline of its replaced secrets still valid (naive UTC), if any; *usage*: when it
    was last used (naive UTC) and how often, if ever."""
    last_used, count = usage if usage is not None else (None, 0)
    return TokenView(
        id=row.id,
        environment=row.environment.name,
        agent=row.agent.name,
        label=row.label,
        role=row.agent.role.name,
        status=row.status,
        hint=row.hint,
        generation=row.generation,
        rotation=row.rotation,
        rotation_interval=(
            timedelta(seconds=row.rotation_seconds) if row.rotation_seconds else None
        ),
        grace=timedelta(seconds=row.grace_seconds),
        next_rotation_at=utc(row.next_rotation_at) if row.next_rotation_at else None,
        last_rotated_at=utc(row.last_rotated_at) if row.last_rotated_at else None,
        grace_until=utc(grace_until) if grace_until else None,
        last_error=row.last_error,
        created_at=utc(row.created_at),
        expires_at=utc(row.expires_at) if row.expires_at else None,
        holder=row.holder,
        last_used_at=utc(last_used) if last_used else None,
        use_count=count,
        delivery_command=row.delivery_command,
        delivery_set_by=row.delivery_set_by,
    )


def _latest(grace: tuple[int, datetime] | None) -> datetime | None:
    return None if grace is None else grace[1]


class Lifecycle:
    """Creates, changes, rotates and deletes tokens; reveals their secrets."""

    def __init__(
        self,
        context: ServiceContext,
        directory: Directory,
        journal: Journal,
        prune_changes: Callable[[], None],
    ) -> None:
        self._context = context
        self._database = context.database
        self._work = context.work
        self._directory = directory
        self._journal = journal
        self._prune_changes = prune_changes

    # ----------------------------------------------------------------- reads

    def ready_row(self, token_id: int, *, joined: bool = False) -> Token:
        """A token users can see, or :class:`NotFound`."""
        row = repository.ready_token(self._database, token_id, joined=joined)
        if row is None:
            raise NotFound(f"unknown token {token_id}")
        return row

    def token(self, token_id: int) -> TokenView:
        row = self.ready_row(token_id, joined=True)
        graces = queries.previous_deadlines(self._database, self._context.now(), row.id)
        usage = repository.token_uses(self._database, [row.id]).get(row.id)
        return stored_token_view(row, _latest(graces.get(row.id)), usage)

    def tokens(self, environment: str | None = None) -> list[TokenView]:
        environment_id = self._directory.environment_id(environment)
        rows = repository.ready_tokens(self._database, environment_id)
        graces = queries.previous_deadlines(self._database, self._context.now())
        uses = repository.token_uses(self._database)
        return [
            stored_token_view(row, _latest(graces.get(row.id)), uses.get(row.id)) for row in rows
        ]

    def reveal(self, token_id: int) -> str:
        """The current secret, read from the keyring and checked against its fingerprint. Only
        its holder's keyring has it: anyone else is refused, and told to refresh the token
        (which makes them the holder), before their keyring is even asked."""
        row = self.ready_row(token_id)
        if row.holder != self._context.person:
            raise RuleViolation(
                f"the secret of token {token_id} is in {row.holder or 'another'}'s keyring; "
                "refresh the token to get a new one in yours"
            )
        store = self._context.require_store()
        secret = store.get(secret_key(row.uuid, row.generation))
        if secret is None:
            raise SecretMismatch(
                f"the secret of token {token_id} is missing from the keyring "
                f"({store.backend_name}); refresh the token to issue a new one"
            )
        if tokens.fingerprint(secret) != row.fingerprint:
            raise SecretMismatch(
                f"the keyring holds a different secret for token {token_id} than the one on "
                "record; refresh the token to issue a new one"
            )
        return secret

    # ----------------------------------------------------------------- create

    def create_token(
        self,
        environment: str,
        agent: str,
        *,
        label: str | None = None,
        rotation: Interval = None,
        grace: Interval = None,
        expires: datetime | None = None,
    ) -> IssuedSecret:
        """A new token and its secret; *expires* (timezone-aware, in the future) is when it
        stops being accepted, None for never."""
        label = clean_label(label)
        interval, rotation_text = as_interval(rotation)
        grace_value, _ = as_interval(grace, grace=True)
        if expires is not None:
            expires = check_expiry(expires, self._context.clock.now())
        store = self._context.require_store()
        store.check()  # fail before the intent, not after: a failed undo would leave it behind
        secret = tokens.generate()
        import uuid  # here: it imports platform, which the window's first paint does not need

        token_uuid = str(uuid.uuid4())
        journal = self._journal
        with self._work.change():
            with self._work.transaction():
                env = self._directory.environment_row(environment)
                if not env.api_enabled:
                    raise RuleViolation(
                        f"environment {env.name!r} has API access disabled; enable it before "
                        "creating tokens"
                    )
                agent_row = self._directory.agent_row(agent)
                view = agent_view(agent_row, 0)
                if view.disabled:
                    raise IneligibleAgent(
                        f"agent {agent_row.name!r} is disabled; enable it before creating tokens"
                    )
                if not view.eligible:
                    raise IneligibleAgent(
                        f"agent {agent_row.name!r} {view.ineligible_reason()}: only agents who "
                        "have logged in and signed the usage agreement can be given a token"
                    )
                warnings = self._directory.creation_warnings(agent_row.name)
                now = self._context.now()
                row = repository.insert_token(
                    self._database,
                    uuid=token_uuid,
                    environment=env.id,
                    agent=agent_row.id,
                    label=label,
                    status=ACTIVE,
                    phase=CREATING,
                    generation=0,
                    fingerprint=tokens.fingerprint(secret),
                    hint=tokens.hint(secret),
                    rotation=rotation_text,
                    rotation_seconds=int(interval.total_seconds()) if interval else None,
                    grace_seconds=int(grace_value.total_seconds()) if grace_value else 0,
                    next_rotation_at=now + interval if interval else None,
                    created_at=now,
                    updated_at=now,
                    expires_at=naive(expires) if expires is not None else None,
                    holder=self._context.person,
                )
                claim = journal.claim(row, "create", "create", to_generation=0, secret=secret)
            with journal.carrying(claim):
                try:
                    put_checked(store, secret_key(token_uuid, 0), secret)
                except BaseException:
                    journal.abandon(claim)
                    raise
                details = f"environment {env.name}, agent {agent_row.name}"
                if label:
                    details += f", label {label!r}"
                if rotation_text:
                    details += f", rotate {rotation_text}"
                if expires is not None:
                    details += f", expires {isoformat(expires)}"
                try:
                    with self._work.transaction() as audit:
                        journal.require_claim(claim)
                        repository.update_token(self._database, row.id, phase=READY)
                        repository.delete_intent(self._database, claim.intent_id)
                        audit("create", row.id, details)
                except Conflict:
                    # Recovery in another process took this change for abandoned (a keyring
                    # prompt can keep a write waiting that long) and undid it: take our entry
                    # back out.
                    discard(store, secret_key(token_uuid, 0))
                    raise
        return IssuedSecret(self.token(row.id), secret, tuple(warnings))

    # ----------------------------------------------------------------- plain changes

    def set_status(self, token_id: int, active: bool) -> TokenView:
        status = ACTIVE if active else INACTIVE
        with self._work.write() as audit:
            row = self.ready_row(token_id)
            if row.status != status:
                repository.update_token(
                    self._database, row.id, status=status, updated_at=self._context.now()
                )
                audit("activate" if active else "deactivate", row.id, f"status {status}")
        return self.token(token_id)

    def set_label(self, token_id: int, label: str) -> TokenView:
        label = clean_label(label)
        with self._work.write() as audit:
            row = self.ready_row(token_id)
            if row.label != label:
                repository.update_token(
                    self._database, row.id, label=label, updated_at=self._context.now()
                )
                audit("label", row.id, f"label {label!r}" if label else "label cleared")
        return self.token(token_id)

    def set_rotation(self, token_id: int, interval: Interval, grace: Interval = None) -> TokenView:
        """Set (or with None, clear) the rotation schedule; next due = now + interval."""
        value, text = as_interval(interval)
        grace_value, grace_text = as_interval(grace, grace=True)
        with self._work.write() as audit:
            row = self.ready_row(token_id)
            now = self._context.now()
            changes: dict[str, object] = {
                "rotation": text,
                "rotation_seconds": int(value.total_seconds()) if value else None,
                "next_rotation_at": now + value if value else None,
                "last_error": None,
                "updated_at": now,
            }
            if grace_value is not None:
                changes["grace_seconds"] = int(grace_value.total_seconds())
            repository.update_token(self._database, row.id, **changes)
            details = f"rotate {text}" if text else "rotation off"
            if grace_text is not None:
                details += f", grace {grace_text}"
            audit("schedule", row.id, details)
        return self.token(token_id)

    def set_expiry(self, token_id: int, expires: datetime | None) -> TokenView:
        """Set when the token expires (timezone-aware, in the future), or with None that it
        never does. A later expiry gives an expired token back its use; an expiry in the past
        is refused (see :func:`~desktop.domain.expiry.check_expiry`)."""
        if expires is not None:
            expires = check_expiry(expires, self._context.clock.now())
        stored = naive(expires) if expires is not None else None
        with self._work.write() as audit:
            row = self.ready_row(token_id)
            if row.expires_at != stored:
                repository.update_token(
                    self._database, row.id, expires_at=stored, updated_at=self._context.now()
                )
                when = isoformat(expires)
                audit("expiry", row.id, f"expires {when}" if when else "never expires")
        return self.token(token_id)

    # ----------------------------------------------------------------- new secrets

    def refresh(self, token_id: int, *, grace: Interval = None) -> IssuedSecret:
        """A new secret for the same token, agent and label, in this person's keyring: they
        hold it from now on, whoever held the one it replaces. The old one stays valid for the
        grace (the token's configured grace unless one is given here; 0 = invalid at once)."""
        grace_value, _ = as_interval(grace, grace=True)
        issued = self._replace_secret(token_id, "refresh", grace_value, self._context.actor)
        if issued is None:  # only a scheduled rotation can lose the race; a refresh cannot
            raise Conflict(f"token {token_id} is being changed elsewhere; try again")
        return issued

    def rotate_if_due(
        self, token_id: int, *, actor: str = "scheduler", check: bool = True
    ) -> IssuedSecret | None:
        """Rotate one token if it is still due and held by this person; None when it no longer
        is (or never was), or another admin holds it (their TokenDesk rotates it). ``check=False``
        skips the keyring check up front (a pass over many tokens checks once)."""
        return self._replace_secret(token_id, "rotate", None, actor, check=check)

    def _replace_secret(
        self, token_id: int, action: str, grace: timedelta | None, actor: str, *, check: bool = True
    ) -> IssuedSecret | None:
        store = self._context.require_store()
        if check:  # fail before the intent, not after: a failed undo would leave it behind
            store.check()
        secret = tokens.generate()
        journal = self._journal
        with self._work.transaction():
            if action == "rotate":
                if not queries.is_due(self._database, token_id, self._context.now()):
                    return None
                if repository.intent_of_token(self._database, token_id) is not None:
                    return None  # another process is rotating it right now
            row = self.ready_row(token_id)
            if action == "rotate" and row.holder != self._context.person:
                return None  # refreshed elsewhere since it was found due: no longer ours
            if row.expires_at is not None and row.expires_at <= self._context.now():
                if action == "rotate":
                    return None  # not due (see queries.is_due): an expired token is not rotated
                raise RuleViolation(
                    f"token {token_id} expired at {isoformat(row.expires_at)} and gets no new "
                    "secret: set a later expiry, or none, first"
                )
            refusal = self._agent_refusal(row.agent_id)
            if refusal is not None:
                if action == "rotate":
                    raise IneligibleAgent(rotation_refusal(refusal))
                raise IneligibleAgent(f"{refusal}: token {token_id} cannot be refreshed")
            grace_seconds = int(grace.total_seconds()) if grace is not None else row.grace_seconds
            claim = journal.claim(
                row,
                "refresh",
                action,
                to_generation=row.generation + 1,
                secret=secret,
                grace_seconds=grace_seconds,
                actor=actor,
            )
        with self._work.change(), journal.carrying(claim):
            new_key = secret_key(claim.token_uuid, claim.to_generation)
            try:
                put_checked(store, new_key, secret)
            except BaseException:
                journal.abandon(claim)
                raise
            try:
                replaced_until = journal.commit_refresh(claim.intent_id, self._context.person)
            except Conflict:
                # Recovery elsewhere took this change for abandoned while the keyring write was
                # still waiting, and undid it (it never finishes a change that is not
                # committed): take the new entry back out.
                discard(store, new_key)
                raise
            journal.finish_refresh(store, claim.intent_id)
        previous_until = utc(replaced_until) if replaced_until is not None else None
        return IssuedSecret(self.token(token_id), secret, previous_valid_until=previous_until)

    # ----------------------------------------------------------------- scheduled rotation

    def _agent_refusal(self, agent_id: int) -> str | None:
        """Why the agent may not have its tokens used, refreshed or rotated, or None."""
        _, name, disabled, logged_in, signed = queries.agent_standing(self._database, agent_id)
        return agent_refusal(
            name, disabled=disabled, has_logged_in=logged_in, signed_agreement=signed
        )

    def due_token_ids(self) -> list[int]:
        """The tokens this person holds that are due for rotation now, earliest first: another
        admin's are rotated by their TokenDesk, never here (it would put the new secret in a
        keyring its holder cannot read). A token whose agent may not have it rotated is due
        until that refusal is recorded on it (see :meth:`rotate_due`), and then waits quietly:
        the audit log holds the refusal once, not once a tick, and the scheduler does not start
        a run for it. Once the agent is eligible again it is due."""
        due: list[int] = []
        for token_id, name, disabled, logged_in, signed, last_error in queries.due_rotations(
            self._database, self._context.now(), self._context.person
        ):
            refusal = agent_refusal(
                name, disabled=disabled, has_logged_in=logged_in, signed_agreement=signed
            )
            if refusal is None or last_error != rotation_refusal(refusal):
                due.append(token_id)
        return due

    def expiring_token_ids(self, within: timedelta) -> list[int]:
        """The active tokens that expire within *within* from now (not those expired
        already), soonest first."""
        now = self._context.now()
        return queries.expiring_between(self._database, now, now + within)

    def next_due_at(self, environment: str | None = None) -> datetime | None:
        """The earliest scheduled rotation of an active token (in one environment, or in any),
        for the window to show."""
        environment_id = self._directory.environment_id(environment)
        value = queries.next_due_at(self._database, environment_id, now=self._context.now())
        return utc(value) if value is not None else None

    def rotate_due(
        self,
        *,
        actor: str = "scheduler",
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> RotationReport:
        """Rotate every due token once. Missed rotations coalesce: one rotation per token,
        however many intervals passed; the next one is due an interval after it completes."""
        self._prune_previous_secrets()
        due = self.due_token_ids()
        rotated: list[int] = []
        failed: list[tuple[int, str]] = []
        refused: list[int] = []
        skipped: list[int] = []
        keyring_unavailable = False
        for index, token_id in enumerate(due):
            if cancelled is not None and cancelled():
                break
            try:
                result = self.rotate_if_due(token_id, actor=actor, check=index == 0)
            except SecretStoreUnavailable as error:
                # The keyring is down: every other rotation would fail the same way. Wait.
                failed.append((token_id, str(error)))
                self._record_failure(token_id, str(error), actor)
                keyring_unavailable = True
                break
            except DatabaseUnavailable:
                raise  # a full disk or read-only file fails every rotation, and records none
            except IneligibleAgent as error:
                # Not performed, and recorded as a failure the window shows; tried again
                # once the agent may hold tokens again (see due_token_ids).
                failed.append((token_id, str(error)))
                refused.append(token_id)
                self._record_failure(token_id, str(error), actor)
            except Exception as error:
                log.exception("rotation of token %s failed", token_id)
                failed.append((token_id, str(error)))
                self._record_failure(token_id, str(error), actor)
            else:
                (rotated if result is not None else skipped).append(token_id)
            if progress is not None:
                progress(index + 1, len(due))
        if rotated:
            self._prune_changes()
        return RotationReport(
            tuple(rotated),
            tuple(failed),
            tuple(skipped),
            tuple(refused),
            keyring_unavailable=keyring_unavailable,
        )

    def _prune_previous_secrets(self) -> None:
        """Forget replaced secrets whose grace has ended (verification refuses them anyway).
        Each pass of the scheduler looks; it writes only when there is something to forget."""
        now = self._context.now()
        if queries.any_expired_previous(self._database, now):
            with self._work.transaction():
                repository.prune_previous_secrets(self._database, now)

    def _record_failure(self, token_id: int, message: str, actor: str) -> None:
        with self._work.write() as audit:
            repository.update_token(self._database, token_id, last_error=message[:500])
            audit("rotate-failed", token_id, message[:500], actor=actor)

    # ----------------------------------------------------------------- delete

    def delete(self, token_id: int) -> None:
        """Permanent: the row, every keyring entry and the journal go; the audit event stays."""
        store = self._context.require_store()
        store.check()  # fail before the tombstone, not after, when the keyring is down
        journal = self._journal
        with self._work.change():
            with self._work.transaction() as audit:
                row = self.ready_row(token_id, joined=True)
                if repository.intent_of_token(self._database, row.id) is not None:
                    raise Conflict(f"token {token_id} is being changed elsewhere; try again")
                repository.update_token(
                    self._database, row.id, phase=DELETING, updated_at=self._context.now()
                )
                claim = journal.claim(row, "delete", "delete", to_generation=row.generation)
                audit("delete", row.id, f"agent {row.agent.name}, label {row.label!r}")
            with journal.carrying(claim):
                try:
                    journal.finish_delete(store, claim)
                except SecretStoreUnavailable:
                    # The delete is committed (the token answers 401 and is gone from every
                    # list); recovery removes the keyring entry once the keyring is back.
                    log.warning("token %s deleted; its keyring entry is removed later", token_id)
