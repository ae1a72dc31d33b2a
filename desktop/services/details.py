"""One token's details: what the window's details pane answers, "what may this token do?".

The table row says who holds a token and when it rotates; whether it may be used at all also
depends on its environment's API access, its agent's standing and its role's permissions, and
what happened to it lately is in the audit log. :meth:`TokenDetailsReader.token_details` reads
all of it in one snapshot, so the pane never shows a token beside another moment's permissions.
Never a secret: the token is named by id and masked hint only, as the table names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from desktop.domain import delivery
from desktop.domain.access import EXPIRED, Grant, agent_refusal
from desktop.services.context import ServiceContext
from desktop.services.delivery import Deliveries
from desktop.services.display import format_time
from desktop.services.lifecycle import Lifecycle, stored_token_view
from desktop.services.reads import Reads
from desktop.services.views import AuditView, TokenView
from desktop.storage import queries
from desktop.storage.lazy import deferred

if TYPE_CHECKING:
    from desktop.storage import repository
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

# How many of a token's audit events the details name: enough to see what happened lately;
# the whole history is one action away (History…).
RECENT_EVENTS = 5


@dataclass(frozen=True, slots=True)
class TokenDetails:
    """A token with everything that decides what it may do now, and its latest events."""

    token: TokenView
    api_enabled: bool  # its environment's API access: when off, every request gets 401
    # Why its agent may not use tokens now (disabled, not logged in, agreement not signed), as
    # every access decision words it; None when the agent is eligible.
    agent_refusal: str | None
    permissions: tuple[str, ...]  # what its role grants, "GET /Loans", in the role's order
    recent: tuple[AuditView, ...]  # its newest audit events, newest first
    read_at: datetime  # when it was read (UTC): what "expired" and "next" are measured from
    # When its latest delivery of a new secret ended (UTC) and whether it succeeded; None: none.
    last_delivery: tuple[datetime, bool] | None = None

    @property
    def eligible(self) -> bool:
        return self.agent_refusal is None

    @property
    def delivered_by(self) -> str | None:
        """The details pane's delivery line: ``umask 077; cat > … · last delivery 14:32 OK``
        (its time as the window shows times), or None when the token delivers to no command."""
        token = self.token
        if token.delivery_command is None:
            return None
        text = token.delivery_command
        if delivery.refusal(token.delivery_set_by, token.holder) is not None:
            text += f" (set by {token.delivery_set_by or 'someone unknown'}: not run)"
        if self.last_delivery is None:
            return f"{text} · not delivered yet"
        at, ok = self.last_delivery
        return f"{text} · last delivery {format_time(at)} {'OK' if ok else 'failed'}"

    @property
    def refusal(self) -> str | None:
        """Why every request with this token gets 401 now, whatever it asks, as the access
        decision words it and in its order (API access, then the agent, then the status, then
        the expiry); None when its role's permissions decide."""
        token = self.token
        grant = Grant(
            token.id, token.active, self.api_enabled, frozenset(), agent_refusal=self.agent_refusal
        )
        if grant.refusal is not None:
            return grant.refusal.reason
        return EXPIRED if token.expired(self.read_at) else None


class TokenDetailsReader:
    """Reads :class:`TokenDetails`; changes nothing."""

    def __init__(
        self, context: ServiceContext, lifecycle: Lifecycle, reads: Reads, deliveries: Deliveries
    ) -> None:
        self._context = context
        self._lifecycle = lifecycle
        self._reads = reads
        self._deliveries = deliveries

    def token_details(self, token_id: int, events: int = RECENT_EVENTS) -> TokenDetails:
        """The token's details and its newest *events* audit events, read in one snapshot;
        :class:`NotFound` when no such token is ready (deleted, or still being created)."""
        database = self._context.database
        read_at = self._context.clock.now()
        with database.snapshot():
            row = self._lifecycle.ready_row(token_id, joined=True)
            graces = queries.previous_deadlines(database, self._context.now(), row.id)
            grace = graces.get(row.id)
            agent, environment = row.agent, row.environment
            granted = repository.permissions(database, agent.role.id)
            usage = repository.token_uses(database, [row.id]).get(row.id)
            recent = self._reads.audit(row.id, events) if events > 0 else []
            delivered = self._deliveries.latest(row.id) if row.delivery_command else None
        refusal = agent_refusal(
            agent.name,
            disabled=agent.disabled,
            has_logged_in=agent.has_logged_in,
            signed_agreement=agent.signed_agreement,
        )
        return TokenDetails(
            token=stored_token_view(row, grace[1] if grace is not None else None, usage),
            api_enabled=bool(environment.api_enabled),
            agent_refusal=refusal,
            # Sorted as the role's own view sorts them (Agents & roles, `role list`).
            permissions=tuple(sorted(f"{method} {endpoint}" for method, endpoint in granted)),
            recent=tuple(recent),
            read_at=read_at,
            last_delivery=delivered,
        )


__all__ = ["RECENT_EVENTS", "TokenDetails", "TokenDetailsReader"]
