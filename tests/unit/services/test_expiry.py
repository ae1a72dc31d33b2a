"""Token expiry: from the expiry instant on every secret of the token is refused (by SQL, by the
in-memory index and by the domain's decision alike), it is not rotated or refreshed, and every
change of it is checked and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.domain.access import EXPIRED, Grant, decide
from desktop.domain.errors import InvalidInput, RuleViolation
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock

HOUR = timedelta(hours=1)
REQUESTS = [("GET", "/Loans(4)"), ("POST", "/Loans"), ("GET", "/Loans/../Users")]


def test_an_expired_token_answers_401_with_either_secret_in_all_three(
    service: TokenService, clock: FakeClock
) -> None:
    """The current secret and a previous one still in its grace: the SQL lookup, an index taken
    before the expiry and the domain's decision on the same grant agree, before and after."""
    expires = clock.now() + 2 * HOUR
    issued = service.create_token("Production", "alice", grace="1d", expires=expires)
    fresh = service.refresh(issued.token.id)
    index = service.access_index()  # a snapshot: it must notice the expiry by itself
    token_id = issued.token.id
    grant = Grant(token_id, True, True, frozenset({("GET", "loans")}), None, None)
    timed = Grant(token_id, True, True, grant.permissions, None, None, expires.timestamp())
    for moment, status in ((expires - timedelta(seconds=1), 200), (expires, 401)):
        clock.set(moment)
        now = clock.now().timestamp()
        for secret in (issued.secret, fresh.secret):
            for method, path in REQUESTS:
                by_sql = service.verify("Production", secret, method, path)
                assert index.verify("Production", secret, method, path) == by_sql
                assert decide(timed, method, path, now) == by_sql, (moment, method, path)
            decision = service.verify("Production", secret, "GET", "/Loans")
            assert decision.status == status
        assert decide(grant, "GET", "/Loans", now).allowed  # no expiry: nothing ends
    assert service.verify("Production", fresh.secret, "GET", "/Loans").reason == EXPIRED


def test_refusals_come_in_a_stated_order(service: TokenService, clock: FakeClock) -> None:
    """Unknown first; then what someone chose whatever the time (inactive); then the expiry,
    before a previous secret's own grace (the whole token is gone, not only that secret)."""
    issued = service.create_token("Production", "alice", grace="1h", expires=clock.now() + HOUR)
    service.refresh(issued.token.id)
    clock.advance(2 * HOUR)  # past both the grace and the expiry
    index = service.access_index()
    for verify in (service.verify, index.verify):
        assert verify("Production", issued.secret, "GET", "/Loans").reason == EXPIRED
        assert verify("Staging", issued.secret, "GET", "/Loans").status == 401
    service.set_status(issued.token.id, False)
    for verify in (service.verify, service.access_index().verify):
        assert verify("Production", issued.secret, "GET", "/Loans").reason == "token is inactive"


def test_an_expiry_must_be_in_the_future_and_nothing_changes_otherwise(
    service: TokenService, clock: FakeClock
) -> None:
    with pytest.raises(InvalidInput, match="is not in the future"):
        service.create_token("Production", "alice", expires=clock.now())
    assert service.tokens() == []
    token = service.create_token("Production", "alice").token
    with pytest.raises(InvalidInput, match="deactivate it"):
        service.set_expiry(token.id, clock.now() - HOUR)
    assert service.token(token.id).expires_at is None


def test_setting_and_clearing_an_expiry_is_audited(service: TokenService, clock: FakeClock) -> None:
    at = clock.now() + timedelta(days=3, microseconds=500)
    issued = service.create_token("Production", "alice", expires=at)
    token_id = issued.token.id
    assert issued.token.expires_at == at.replace(microsecond=0)  # kept to the second
    assert "expires 2026-01-08T09:00:00Z" in service.audit(token_id)[0].details
    later = service.set_expiry(token_id, at + timedelta(days=1))
    assert later.expires_at == at.replace(microsecond=0) + timedelta(days=1)
    assert service.set_expiry(token_id, None).expires_at is None
    assert [(e.action, e.details) for e in service.audit(token_id)[:2]] == [
        ("expiry", "never expires"),
        ("expiry", "expires 2026-01-09T09:00:00Z"),
    ]
    service.set_expiry(token_id, None)  # no change: no event
    assert len(service.audit(token_id)) == 3


def test_a_later_expiry_gives_an_expired_token_back(
    service: TokenService, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", expires=clock.now() + HOUR)
    clock.advance(HOUR)
    assert service.verify("Production", issued.secret, "GET", "/Loans").reason == EXPIRED
    service.set_expiry(issued.token.id, clock.now() + HOUR)
    assert service.verify("Production", issued.secret, "GET", "/Loans").allowed


def test_an_expired_token_is_not_rotated_nor_refreshed(
    service: TokenService, clock: FakeClock
) -> None:
    rotating = service.create_token(
        "Production", "alice", rotation="1d", expires=clock.now() + timedelta(days=2)
    ).token
    late = service.create_token(
        "Production", "alice", rotation="1d", expires=clock.now() + timedelta(hours=12)
    ).token
    # The second one's rotation would come after its expiry: it never happens.
    assert service.next_due_at() == rotating.next_rotation_at
    clock.advance(timedelta(days=1))
    assert service.due_token_ids() == [rotating.id]
    assert service.rotate_due().rotated == (rotating.id,)
    clock.advance(timedelta(days=3))  # both expired now, and the first overdue
    assert service.due_token_ids() == []
    assert service.rotate_due().rotated == ()
    assert service.rotate_if_due(rotating.id) is None
    assert service.next_due_at() is None
    generation = service.token(late.id).generation
    with pytest.raises(RuleViolation, match="expired at 2026-01-05T21:00:00Z"):
        service.refresh(late.id)
    assert service.token(late.id).generation == generation


def test_tokens_about_to_expire_are_the_active_ones_within_the_window(
    service: TokenService, clock: FakeClock
) -> None:
    """What the window warns of: active tokens that expire within the given time, soonest
    first; not those expired already, inactive, further away, or without an expiry."""
    now = clock.now()
    later = service.create_token("Production", "alice", expires=now + 5 * 24 * HOUR).token
    sooner = service.create_token("Production", "alice", expires=now + 2 * HOUR).token
    far = service.create_token("Production", "alice", expires=now + 30 * 24 * HOUR).token
    paused = service.create_token("Production", "alice", expires=now + HOUR).token
    service.set_status(paused.id, False)
    service.create_token("Production", "alice")
    week = timedelta(days=7)
    assert service.expiring_token_ids(week) == [sooner.id, later.id]
    clock.advance(3 * HOUR)  # the sooner one has expired: nothing left to warn of
    assert service.expiring_token_ids(week) == [later.id]
    assert far.id not in service.expiring_token_ids(week)
    assert service.expiring_token_ids(timedelta(days=40)) == [later.id, far.id]
