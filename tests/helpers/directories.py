"""Small directories (environments, roles, agents) that tests in more than one suite start from,
so a unit test and its integration or window counterpart speak of the same names."""

from __future__ import annotations

from desktop.services.tokens import TokenService


def seed_alice(service: TokenService) -> TokenService:
    """Production and Staging, a Reader and a Writer role, and one eligible agent: alice."""
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Staging", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_role("Writer", ["POST /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service


def seed_ada_and_wes(service: TokenService) -> TokenService:
    """Two environments (Sandbox without API access), two roles and three agents: Ada and Wes
    may get tokens, Newbie has neither logged in nor signed the agreement."""
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Sandbox", api_enabled=False)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_role("Writer", ["* /Payments"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("Wes", "Writer", has_logged_in=True, signed_agreement=True)
    service.add_agent("Newbie", "Reader")
    return service


THREE_AGENTS = ("Alpha Bot", "Beta Sync", "Gamma ETL")


def seed_three_agents(service: TokenService) -> TokenService:
    """Production and Staging, a Reader role and three eligible agents; no tokens."""
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Staging", api_enabled=True)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    for name in THREE_AGENTS:
        service.add_agent(name, "Reader", has_logged_in=True, signed_agreement=True)
    return service
