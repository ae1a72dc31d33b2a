"""What the rotation tests set up and check around time travel, shared by the unit tests (the
in-memory store) and the tests on the real keyring. :func:`status`, :func:`three_due` and
:func:`assert_keyring_matches` assume an environment ``Prod``, a role allowing ``GET /Loans``
and an eligible agent ``bot``; :func:`rotating` the directory of
:func:`tests.helpers.directories.seed_three_agents`."""

from __future__ import annotations

from datetime import timedelta

from desktop.domain import tokens
from desktop.secrets.store import SecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.services.views import IssuedSecret
from desktop.storage.models import AuditEvent, Intent, Token
from tests.helpers.clock import FakeClock
from tests.helpers.directories import THREE_AGENTS

DAY = timedelta(days=1)


def status(service: TokenService, secret: str) -> int:
    """The HTTP status a request with *secret* gets for ``GET /Loans`` in Prod."""
    return service.verify("Prod", secret, "GET", "/Loans").status


def audit(service: TokenService, token_id: int, action: str) -> list[AuditEvent]:
    """The token's audit events of one kind, read straight from the service's database."""
    query = AuditEvent.select().where(AuditEvent.token_id == token_id, AuditEvent.action == action)
    return list(query.bind(service.unit_of_work.database.handle))


def assert_keyring_matches(service: TokenService, store: SecretStore, token_id: int) -> None:
    """The current generation is in the keyring and matches; its neighbours are gone."""
    handle = service.unit_of_work.database.handle
    row = Token.select().where(Token.id == token_id).get(handle)
    current = store.get(secret_key(row.uuid, row.generation))
    assert current is not None and tokens.fingerprint(current) == row.fingerprint
    for other in range(row.generation + 2):
        if other != row.generation:
            assert store.get(secret_key(row.uuid, other)) is None
    assert service.reveal(token_id) == current
    assert Intent.select().bind(handle).count() == 0


def three_due(service: TokenService, clock: FakeClock) -> list[IssuedSecret]:
    """Three daily tokens, due in creation order."""
    issued = []
    for n in range(3):
        issued.append(service.create_token("Prod", "bot", label=f"t{n}", rotation="1d"))
        clock.advance(timedelta(minutes=1))
    clock.advance(DAY)
    return issued


def rotating(service: TokenService, count: int, interval: str = "daily") -> list[int]:
    """*count* tokens in Production on the given schedule, dealt to the three agents in turn."""
    return [
        service.create_token(
            "Production", THREE_AGENTS[n % 3], label=f"job {n}", rotation=interval
        ).token.id
        for n in range(count)
    ]
