"""Read-only records handed to callers (command line, window). They never hold a secret,
except :class:`IssuedSecret`, whose repr hides it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from desktop.domain import holders, tokens
from desktop.domain.access import agent_refusal
from desktop.domain.clock import isoformat
from desktop.domain.table import Names as Names
from desktop.domain.table import TokenRow as TokenRow
from desktop.storage.states import ACTIVE, INACTIVE


@dataclass(frozen=True, slots=True)
class EnvironmentView:
    id: int
    name: str
    api_enabled: bool
    token_count: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "api_enabled": self.api_enabled, "tokens": self.token_count}


@dataclass(frozen=True, slots=True)
class RoleView:
    id: int
    name: str
    permissions: tuple[str, ...]  # "GET /Loans", sorted

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "permissions": list(self.permissions)}


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    name: str
    role: str
    has_logged_in: bool
    signed_agreement: bool
    token_count: int
    disabled: bool = False

    @property
    def eligible(self) -> bool:
        """Only agents who are not disabled, have logged in and signed the usage agreement may
        get a token, or use the ones they hold: the rule every access decision applies
        (:func:`desktop.domain.access.agent_refusal`)."""
        return (
            agent_refusal(
                self.name,
                disabled=self.disabled,
                has_logged_in=self.has_logged_in,
                signed_agreement=self.signed_agreement,
            )
            is None
        )

    def ineligible_reason(self) -> str | None:
        if self.disabled:
            return "is disabled"
        missing = []
        if not self.has_logged_in:
            missing.append("has never logged in")
        if not self.signed_agreement:
            missing.append("has not signed the usage agreement")
        return " and ".join(missing) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "has_logged_in": self.has_logged_in,
            "signed_agreement": self.signed_agreement,
            "disabled": self.disabled,
            "eligible": self.eligible,
            "tokens": self.token_count,
        }


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    environment: str
    agent: str
    label: str
    role: str
    status: str  # as stored: desktop.storage.models.ACTIVE or INACTIVE
    hint: str
    generation: int
    rotation: str | None
    rotation_interval: timedelta | None
    grace: timedelta
    next_rotation_at: datetime | None
    last_rotated_at: datetime | None
    # The latest deadline of the replaced secrets still accepted (each keeps its own), or None.
    grace_until: datetime | None
    last_error: str | None
    created_at: datetime
    # From then on every request with the token gets 401 and it is not rotated; None: never.
    expires_at: datetime | None = None
    # Whose keyring holds the current secret (alice@laptop): see desktop.domain.holders.
    holder: str = ""
    # When a forward-auth server last saw it presented, and how often in all: None and 0, never.
    last_used_at: datetime | None = None
    use_count: int = 0
    # The command that delivers each new secret, and who set it (see
    # desktop.domain.delivery); None for none. Read with the token, not with the table's rows.
    delivery_command: str | None = None
    delivery_set_by: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def expired(self, now: datetime) -> bool:
        """Whether the token has expired at *now* (its Status is still Active or Inactive)."""
        return self.expires_at is not None and now >= self.expires_at

    def rotation_overdue(self, now: datetime) -> bool:
        """Whether its scheduled rotation is late by more than a day at *now*: its holder's
        TokenDesk, the only one that performs it, has not run (see
        :func:`desktop.domain.holders.overdue`)."""
        return holders.overdue(
            _seconds(self.next_rotation_at),
            now.timestamp(),
            active=self.active,
            expires=_seconds(self.expires_at),
        )

    @property
    def masked(self) -> str:
        return tokens.mask(self.hint)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "environment": self.environment,
            "agent": self.agent,
            "label": self.label,
            "role": self.role,
            "status": self.status,
            "rotation": self.rotation,
            "next_rotation_at": isoformat(self.next_rotation_at),
            "last_rotated_at": isoformat(self.last_rotated_at),
            "grace_seconds": int(self.grace.total_seconds()),
            "grace_until": isoformat(self.grace_until),
            "hint": self.hint,
            "masked": self.masked,
            "generation": self.generation,
            "last_error": self.last_error,
            "created_at": isoformat(self.created_at),
            "expires_at": isoformat(self.expires_at),
            "holder": self.holder,
            "last_used_at": isoformat(self.last_used_at),
            "use_count": self.use_count,
            "delivery_command": self.delivery_command,
            "delivery_set_by": self.delivery_set_by,
        }


def _seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _time(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def token_view(row: TokenRow, names: Names) -> TokenView:
    """The full record of one table row (built only for the rows someone acts on)."""
    return TokenView(
        id=row.id,
        environment=names.environment(row),
        agent=names.agent(row),
        label=row.label,
        role=names.role(row),
        status=ACTIVE if row.active else INACTIVE,
        hint=row.hint,
        generation=row.generation,
        rotation=row.rotation,
        rotation_interval=(
            timedelta(seconds=row.rotation_seconds) if row.rotation_seconds else None
        ),
        grace=timedelta(seconds=row.grace_seconds),
        next_rotation_at=_time(row.next_rotation),
        last_rotated_at=_time(row.last_rotated),
        grace_until=_time(row.grace_until),
        last_error=row.last_error,
        created_at=_time(row.created) or datetime.fromtimestamp(0, UTC),
        expires_at=_time(row.expires),
        holder=row.holder,
        last_used_at=_time(row.last_used),
        use_count=row.use_count,
    )


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed since a reader last looked (see :meth:`TokenService.changes_since`)."""

    cursor: int  # pass it to the next call
    tokens: frozenset[int] = frozenset()  # inserted, updated or deleted tokens
    names: bool = False  # agent or role names shown beside tokens changed: read every row again
    directory: bool = False  # environments, agents, roles or permissions changed
    complete: bool = True  # False: the log was pruned past the reader; read everything again


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A token with its secret, shown to the person who created or refreshed it as it is
    issued (it stays in their keyring)."""

    token: TokenView
    secret: str = field(repr=False)
    warnings: tuple[str, ...] = ()
    # After a refresh or rotation: until when the secret this one replaced still works (None:
    # it stopped at once, or nothing was replaced). Secrets replaced earlier keep their own
    # deadlines; TokenView.grace_until is the latest of them all.
    previous_valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    token_id: int | None
    details: str

    def to_json(self) -> dict[str, Any]:
        return {
            "at": isoformat(self.at),
            "actor": self.actor,
            "action": self.action,
            "token": self.token_id,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What one pass over the due tokens did."""

    rotated: tuple[int, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()  # (token id, why)
    skipped: tuple[int, ...] = ()  # someone else rotated it first, or it stopped being due
    # Those of failed that the rules refused (the agent may not hold tokens): trying again
    # sooner changes nothing until someone acts, so they never delay other rotations.
    refused: tuple[int, ...] = ()
    # The keyring could not be used (locked, stopped, not answering): the run stopped at the
    # last of failed, since every other rotation would fail the same way, and the tokens not
    # tried wait for the next run. Whoever ran it is told so, not that one rotation failed.
    keyring_unavailable: bool = False
    # The deliveries of new secrets tried in the same pass: of the tokens it rotated, and those
    # whose earlier delivery failed and is due again.
    deliveries: tuple[DeliveryOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """How one try to deliver a token's new secret ended (see :mod:`desktop.services.delivery`).
    Never the secret, nor the command's output beyond a masked last line in :attr:`text`."""

    token_id: int
    generation: int
    ok: bool
    # What happened, as the audit log words it: "delivered (exit status 0)", "exit status 2
    # (no such file); tried again at …", or why the command was not run at all.
    text: str
    refused: bool = False  # not run: set by someone other than the holder (never retried)
    retry_at: datetime | None = None  # when it is tried again; None: not again
    attempts: int = 1  # the tries for this secret so far, this one included

    @property
    def summary(self) -> str:
        """One line for people: ``token 3: delivered (exit status 0)``."""
        if self.ok:
            return f"token {self.token_id}: {self.text}"
        verb = "delivery not run" if self.refused else "delivery failed"
        return f"token {self.token_id}: {verb}: {self.text}"

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token_id,
            "generation": self.generation,
            "ok": self.ok,
            "refused": self.refused,
            "details": self.text,
            "retry_at": isoformat(self.retry_at),
            "attempts": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    rolled_forward: tuple[int, ...] = ()
    rolled_back: tuple[int, ...] = ()
    waiting: tuple[int, ...] = ()  # could not finish (keyring unavailable or owner still running)
    problem: str | None = None
