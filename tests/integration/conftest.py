"""The integration tests meet the real Secret Service, and start subprocesses that do too. Each
test that opens a registry (through ``data_dir``, ``context`` or ``registry``) runs on both
engines: an SQLite file, then a PostgreSQL database on the private server."""

from __future__ import annotations

import pytest

from tests.helpers.postgres import parametrize_engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)


@pytest.fixture(autouse=True)
def _real_keyring(private_keyring: str | None) -> None:
    """Every test here runs with the private keyring started (its address exported)."""
