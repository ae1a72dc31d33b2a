"""Two administrators sharing one registry, each with a TokenDesk of their own: the people the
tests of holders and delivery speak of."""

from __future__ import annotations

from desktop.app import Context
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock

ALICE = "alice@laptop"
BOB = "bob@desktop"


def admin(context: Context, clock: FakeClock, person: str) -> TokenService:
    """*person*'s TokenDesk on the shared registry: their own keyring, the same clock."""
    return TokenService(
        context.database, InMemorySecretStore(), clock=clock, actor=person, person=person
    )
