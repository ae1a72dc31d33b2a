"""What the rooms share: the store that may be missing, and the clock as the database keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop.app import Context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.services.context import ServiceContext
from desktop.storage.database import DB_FILENAME
from tests.helpers.clock import FakeClock


def test_a_missing_store_says_what_to_do(memory_context: Context, clock: FakeClock) -> None:
    context = ServiceContext(memory_context.database, None, clock, "cli")
    with pytest.raises(SecretStoreUnavailable, match="needs the system keyring"):
        context.require_store()


def test_now_is_naive_utc(memory_context: Context) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 30, tzinfo=UTC))
    context = ServiceContext(memory_context.database, None, clock, "ada")
    assert context.now() == datetime(2026, 3, 1, 12, 30)
    assert (context.clock, context.actor) == (clock, "ada")


def test_the_context_names_its_registry(memory_context: Context, engine: str) -> None:
    """What the window shows as the registry it has open: the file, or the server's database."""
    name = memory_context.registry_name
    if engine == "sqlite":
        assert name == str(memory_context.data_dir / DB_FILENAME)
    else:
        assert name.startswith("PostgreSQL postgres@/tmp/") and "/test_" in name
