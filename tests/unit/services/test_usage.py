"""When each token was last used, as the services read it: every view of a token carries it,
and a window reads later uses on its own (usage never reaches the change log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from desktop.app import Context
from desktop.services.tokens import TokenService
from desktop.storage import repository
from desktop.storage.states import naive
from tests.helpers.clock import FakeClock


def record(context: Context, uses: dict[int, tuple[datetime, int]]) -> None:
    """What a forward-auth server writes (``repository.record_uses``, in a transaction)."""
    database = context.database
    with database.transaction():
        repository.record_uses(database, {key: (naive(at), n) for key, (at, n) in uses.items()})


def test_every_view_of_a_token_says_when_it_was_last_used(
    service: TokenService, memory_context: Context, clock: FakeClock
) -> None:
    used, unused = (service.create_token("Production", "alice").token.id for _ in range(2))
    at = clock.now() - timedelta(hours=3)
    record(memory_context, {used: (at, 1204)})
    views = {view.id: view for view in service.tokens()}
    assert (views[used].last_used_at, views[used].use_count) == (at, 1204)
    assert (views[unused].last_used_at, views[unused].use_count) == (None, 0)
    assert service.token(used) == views[used]
    assert service.token_details(used).token == views[used]
    assert views[used].to_json()["last_used_at"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert views[unused].to_json()["last_used_at"] is None


def test_usage_is_read_since_a_moment_and_leaves_the_change_log_alone(
    service: TokenService, memory_context: Context, clock: FakeClock
) -> None:
    first, second = (service.create_token("Production", "alice").token.id for _ in range(2))
    cursor = service.change_cursor()
    now = clock.now()
    record(memory_context, {first: (now - timedelta(minutes=10), 2), second: (now, 5)})
    assert service.changes_since(cursor).tokens == frozenset()  # no window is woken
    seconds = int(now.timestamp())
    assert sorted(service.usage_since(None)) == [(first, seconds - 600, 2), (second, seconds, 5)]
    assert service.usage_since(seconds - 60) == [(second, seconds, 5)]
    assert service.usage_since(seconds) == []
    assert datetime.fromtimestamp(seconds, UTC) == now.replace(microsecond=0)
