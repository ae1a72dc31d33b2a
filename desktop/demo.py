"""Demo data a newcomer can explore: environments, roles, eligible and ineligible agents, tokens."""

from __future__ import annotations

from desktop.services.tokens import TokenService

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


def seed(service: TokenService) -> None:
    """Fill an empty data dir. Creates real tokens, so the keyring must be available."""
    # API access starts off in a new environment: the two that hold tokens turn it on.
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Staging", api_enabled=True)
    service.add_environment("Sandbox")
    for name, permissions in ROLES.items():
        service.add_role(name, permissions)
    for name, role, logged_in, signed in AGENTS:
        service.add_agent(name, role, has_logged_in=logged_in, signed_agreement=signed)
    service.create_token(
        "Production",
        "Ada Servicing Bot",
        label="Servicing dashboard",
        rotation="monthly",
        grace="1h",
    )
    service.create_token(
        "Production", "Collections Sync", label="Nightly payments import", rotation="weekly"
    )
    service.create_token("Production", "Data Warehouse ETL", label="Warehouse loader")
    legacy = service.create_token("Staging", "Collections Sync", label="Legacy import (retired)")
    service.set_status(legacy.token.id, False)
    service.create_token("Staging", "Data Warehouse ETL", label="QA replays", rotation="daily")
