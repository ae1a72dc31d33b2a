"""A service on a fresh registry (SQLite, then PostgreSQL: these tests run on both engines) and
the in-memory secret store, with a small directory."""

from __future__ import annotations

import pytest

from desktop.app import Context
from desktop.services.tokens import TokenService
from tests.helpers.admins import ALICE, BOB, admin
from tests.helpers.clock import FakeClock
from tests.helpers.postgres import parametrize_engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)


@pytest.fixture
def service(memory_context: Context) -> TokenService:
    """Production (API on), Sandbox (API off), a Reader role, and three agents of whom only
    alice may be given a token."""
    service = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_environment("Sandbox", api_enabled=False)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("newbie", "Reader", has_logged_in=False, signed_agreement=True)
    service.add_agent("unsigned", "Reader", has_logged_in=True, signed_agreement=False)
    return service


@pytest.fixture
def alice(service: TokenService, memory_context: Context, clock: FakeClock) -> TokenService:
    """alice@laptop's TokenDesk on the same registry as *service*."""
    return admin(memory_context, clock, ALICE)


@pytest.fixture
def bob(service: TokenService, memory_context: Context, clock: FakeClock) -> TokenService:
    """bob@desktop's TokenDesk on the same registry as *service*."""
    return admin(memory_context, clock, BOB)
