"""Uses are counted in memory and written in batches; a write that fails keeps them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from desktop.app import Context
from desktop.server.app import AuthApplication
from desktop.server.usage import UsageCounter
from desktop.services import forward_auth
from desktop.services.tokens import TokenService
from desktop.storage import repository
from tests.unit.server.conftest import auth


def test_requests_that_matched_a_token_are_counted_and_written_once(
    application: AuthApplication, service: TokenService, memory_context: Context
) -> None:
    """200, 403 and a 401 that names the token count; a token that matched nothing does not.
    Fifty requests are one write."""
    used = service.create_token("Production", "alice")
    refused = service.create_token("Production", "alice")
    service.set_status(refused.token.id, False)
    idle = service.create_token("Production", "alice")
    application.follower.catch_up()
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    for _ in range(30):
        assert auth(application, "Production", used.secret).status == 200
    for _ in range(10):
        assert auth(application, "Production", used.secret, "POST").status == 403
    for _ in range(10):
        assert auth(application, "Production", refused.secret).status == 401
    auth(application, "Production", "tdk_nothing")
    application.follower.flush()
    assert application.follower.writes == 1
    recorded = repository.token_uses(memory_context.database)
    assert {token_id: count for token_id, (_, count) in recorded.items()} == {
        used.token.id: 40,
        refused.token.id: 10,
    }
    assert idle.token.id not in recorded
    assert recorded[used.token.id][0] >= before
    application.follower.flush()  # nothing new: no write
    assert application.follower.writes == 1


@pytest.mark.expect_log("were not written", level="WARNING")
def test_a_failed_write_keeps_the_counts_for_the_next(
    application: AuthApplication,
    service: TokenService,
    memory_context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = service.create_token("Production", "alice")
    follower = application.follower
    follower.catch_up()
    for _ in range(5):
        auth(application, "Production", issued.secret)

    def refuse(database: object, uses: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(forward_auth, "record_uses", refuse)
        follower.flush()
        follower.flush(final=True)  # says what is lost if it was the last try
    for _ in range(3):
        auth(application, "Production", issued.secret)
    follower.flush()
    recorded = repository.token_uses(memory_context.database)
    assert recorded[issued.token.id][1] == 8
    assert follower.writes == 1


def test_the_counter_is_bounded() -> None:
    counter = UsageCounter(max_pending=2)
    for token_id in (1, 2, 3, 1):
        counter.count(token_id, time.monotonic())
    assert counter.dropped == 1
    batch = counter.take()
    assert {token_id: count for token_id, (_, count) in batch.items()} == {1: 2, 2: 1}
    counter.count(5, time.monotonic())
    counter.count(6, time.monotonic())
    counter.give_back(batch)  # 1 and 2 no longer fit beside 5 and 6
    assert counter.dropped == 1 + 3
    assert len(counter) == 2
