"""Demo data a newcomer can explore: environments, roles, eligible and ineligible agents, tokens,
and when each token was last used (as a forward-auth server would have recorded it), one of them
long ago, so the Last used column and the offer to deactivate unused tokens have something to
show."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from desktop.services.tokens import TokenService

if TYPE_CHECKING:
    from desktop.domain.clock import Clock
    from desktop.storage.database import Database

ROLES: dict[str, list[str]] = {
    "Read-only servicing": ["GET /Loans", "GET /Customers"],
    "Collections": ["GET /Loans", "POST /Payments", "GET /Payments", "PUT /Customers"],
    "Integrations admin": ["* /Loans", "* /Customers", "* /Payments", "GET /Reports"],
}

# name, role, has logged in, signed the agreement
AGENTS: list[tuple[str, str, bool, bool]] = [
    ("Ada Servicing Bot", "Read-only servicing", True, True),
    ("Collections Sync", "Collections", True, True),
    ("Data Warehouse ETL", "Integrations admin", True, True),
    ("New Vendor (no login yet)", "Read-only servicing", False, False),
    ("Partner Portal (agreement pending)", "Collections", True, False),
]


# How long before now the demo's oldest tokens were made: before the 90 days after which an
# active token nobody uses is offered for deactivation.
LONG_AGO = timedelta(days=150)
# How long before now the tokens in daily use were made: before the uses the demo gives them.
LATELY = timedelta(days=2)


class _Earlier:
    """A clock *by* behind another: the demo's old tokens are made as if back then, so their
    creation, audit events and last use tell one story."""

    def __init__(self, clock: Clock, by: timedelta) -> None:
        self._clock, self._by = clock, by

    def now(self) -> datetime:
        return self._clock.now() - self._by


def _made(service: TokenService, ago: timedelta) -> TokenService:
    """*service* as it was *ago*: what it makes is dated then (its audit events too)."""
    return TokenService(
        service.unit_of_work.database,
        service.store,
        clock=_Earlier(service.clock, ago),
        actor=service.actor,
        person=service.person,
    )


def seed(service: TokenService, database: Database | None = None) -> None:
    """Fill an empty data dir. Creates real tokens, so the keyring must be available. With the
    service's *database*, also two tokens made months ago and when each token was last used."""
    # API access starts off in a new environment: the two that hold tokens turn it on.
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Staging", api_enabled=True)
    service.add_environment("Sandbox")
    for name, permissions in ROLES.items():
        service.add_role(name, permissions)
    for name, role, logged_in, signed in AGENTS:
        service.add_agent(name, role, has_logged_in=logged_in, signed_agreement=signed)
    # With uses to show, the tokens in use were made before them.
    lately = service if database is None else _made(service, LATELY)
    lately.create_token(
        "Production",
        "Ada Servicing Bot",
        label="Servicing dashboard",
        rotation="monthly",
        grace="1h",
    )
    lately.create_token(
        "Production", "Collections Sync", label="Nightly payments import", rotation="weekly"
    )
    if database is None:  # else made months ago, with the uses below
        service.create_token("Production", "Data Warehouse ETL", label="Warehouse loader")
    legacy = service.create_token("Staging", "Collections Sync", label="Legacy import (retired)")
    service.set_status(legacy.token.id, False)
    service.create_token("Staging", "Data Warehouse ETL", label="QA replays", rotation="daily")
    if database is not None:
        _seed_usage(service, database)


def _seed_usage(service: TokenService, database: Database) -> None:
    """Uses as forward-auth servers record them: the dashboard a moment ago, the nightly import
    last night, QA replays never; and three tokens made months ago: the warehouse loader, last
    used weeks ago, a retired one, and a report export nobody has used for four months (it is
    offered for deactivation)."""
    from desktop.storage import repository
    from desktop.storage.states import naive

    back_then = _made(service, LONG_AGO)
    back_then.create_token("Production", "Data Warehouse ETL", label="Warehouse loader")
    export = back_then.create_token(
        "Production", "Data Warehouse ETL", label="Quarterly report export"
    ).token.id
    old = back_then.create_token("Staging", "Collections Sync", label="Pilot import (retired)")
    back_then.set_status(old.token.id, False)
    now = service.clock.now()
    ago = {
        "Servicing dashboard": (timedelta(minutes=2), 18_204),
        "Nightly payments import": (timedelta(hours=9), 412),
        "Warehouse loader": (timedelta(days=23), 57),
    }
    uses = {
        token.id: (naive(now - ago[token.label][0]), ago[token.label][1])
        for token in service.tokens()
        if token.label in ago
    }
    uses[export] = (naive(now - timedelta(days=120)), 3)
    uses[old.token.id] = (naive(now - timedelta(days=130)), 9_731)
    with database.transaction():
        repository.record_uses(database, uses)
