"""The integration tests meet the real Secret Service, and start subprocesses that do too."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _real_keyring(private_keyring: str | None) -> None:
    """Every test here runs with the private keyring started (its address exported)."""
