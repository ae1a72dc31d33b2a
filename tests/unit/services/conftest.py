"""A service on a fresh registry (SQLite, then PostgreSQL: these tests run on both engines) and
the in-memory secret store, with a small directory."""

from __future__ import annotations

import pytest

from desktop.app import Context
from desktop.services.tokens import TokenService
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
