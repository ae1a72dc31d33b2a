"""Rotation, the scheduled part of a token's life: coalescing, the next due time, grace periods
and the clock going backwards, by time travel on the service clock, on a
real SQLite file and the in-memory secret store. What a failing keyring does to a rotation:
tests/integration/test_rotation.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.app import Context
from desktop.domain.access import IneligibleAgent
from desktop.domain.errors import RuleViolation
from desktop.secrets.store import SecretStore
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport
from desktop.storage.models import PreviousSecret
from tests.helpers.clock import FakeClock
from tests.helpers.rotation import assert_keyring_matches, audit, status, three_due

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def service(memory_context: Context) -> TokenService:
    service = memory_context.service
    service.add_environment("Prod", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("bot", "Reader", has_logged_in=True, signed_agreement=True)
    return service


def test_missed_rotations_coalesce_into_one(
    service: TokenService, clock: FakeClock, memory_store: SecretStore
) -> None:
    issued = service.create_token("Prod", "bot", rotation="1d")
    token_id = issued.token.id
    clock.advance(5 * DAY + 3 * HOUR)  # five rotations missed while the app was closed
    report = service.rotate_due()
    assert report.rotated == (token_id,)
    assert report.failed == () and report.skipped == ()
    view = service.token(token_id)
    assert view.generation == 1
    assert len(audit(service, token_id, "rotate")) == 1
    assert audit(service, token_id, "rotate")[0].actor == "scheduler"
    # Next due one interval after the rotation completed, not after the missed schedule.
    assert view.last_rotated_at == clock.now()
    assert view.next_rotation_at == clock.now() + DAY
    assert service.rotate_due().rotated == ()  # and nothing more now
    assert status(service, issued.secret) == 401
    assert_keyring_matches(service, memory_store, token_id)


def test_next_due_is_completion_plus_interval(service: TokenService, clock: FakeClock) -> None:
    start = clock.now()
    token_id = service.create_token("Prod", "bot", rotation="1d").token.id
    assert service.token(token_id).next_rotation_at == start + DAY
    clock.advance(DAY - timedelta(seconds=1))
    assert service.rotate_due().rotated == ()
    clock.advance(timedelta(seconds=1))
    assert service.rotate_due().rotated == (token_id,)
    assert service.token(token_id).next_rotation_at == start + 2 * DAY
    clock.advance(DAY + 3 * HOUR)  # late by three hours: the schedule moves with it
    assert service.rotate_due().rotated == (token_id,)
    assert service.token(token_id).next_rotation_at == start + 3 * DAY + 3 * HOUR
    assert service.token(token_id).generation == 2


def test_refresh_restarts_the_schedule(service: TokenService, clock: FakeClock) -> None:
    token_id = service.create_token("Prod", "bot", rotation="1d").token.id
    clock.advance(20 * HOUR)
    service.refresh(token_id)
    assert service.token(token_id).next_rotation_at == clock.now() + DAY
    clock.advance(5 * HOUR)  # past the original due time, not past the new one
    assert service.due_token_ids() == []
    assert service.rotate_due().rotated == ()


def test_inactive_token_is_not_rotated_until_activated(
    service: TokenService, clock: FakeClock
) -> None:
    token_id = service.create_token("Prod", "bot", rotation="1d").token.id
    service.set_status(token_id, False)
    clock.advance(3 * DAY)
    assert service.due_token_ids() == []
    assert service.rotate_due().rotated == ()
    assert service.token(token_id).generation == 0
    service.set_status(token_id, True)
    # The missed rotation happens at the next run after activation, once.
    report = service.rotate_due()
    assert report.rotated == (token_id,)
    assert service.token(token_id).generation == 1
    assert service.token(token_id).next_rotation_at == clock.now() + DAY
    assert service.rotate_due().rotated == ()


def test_clock_moved_backwards_does_not_rotate_again(
    service: TokenService, clock: FakeClock
) -> None:
    start = clock.now()
    token_id = service.create_token("Prod", "bot", rotation="1d").token.id
    clock.advance(30 * DAY)  # a wrong clock, far ahead
    assert service.rotate_due().rotated == (token_id,)
    clock.set(start + 2 * DAY)  # corrected: the clock goes back four weeks
    assert service.rotate_due().rotated == ()
    # Even a schedule set while the clock is behind the last rotation does not repeat it.
    service.set_rotation(token_id, "1h")
    clock.advance(2 * HOUR)
    assert service.due_token_ids() == []
    assert service.rotate_due().rotated == ()
    assert service.token(token_id).generation == 1
    # Once time is past the last rotation again, rotation resumes.
    clock.set(start + 30 * DAY + HOUR)
    assert service.rotate_due().rotated == (token_id,)
    assert len(audit(service, token_id, "rotate")) == 2


def test_set_rotation_none_stops_rotation(service: TokenService, clock: FakeClock) -> None:
    token_id = service.create_token("Prod", "bot", rotation="1d").token.id
    assert service.next_due_at() == clock.now() + DAY
    view = service.set_rotation(token_id, None)
    assert view.rotation is None and view.next_rotation_at is None
    assert service.next_due_at() is None
    clock.advance(10 * DAY)
    assert service.due_token_ids() == []
    assert service.rotate_due().rotated == ()
    assert service.token(token_id).generation == 0
    assert audit(service, token_id, "schedule")[-1].details == "rotation off"


def test_refresh_uses_the_configured_grace_unless_one_is_given(
    service: TokenService, clock: FakeClock
) -> None:
    first = service.create_token("Prod", "bot", grace="2h")
    token_id = first.token.id
    assert first.token.grace == 2 * HOUR
    second = service.refresh(token_id)  # the token's own grace: two hours
    assert second.token.grace_until == clock.now() + 2 * HOUR
    assert status(service, first.secret) == 200
    assert status(service, second.secret) == 200
    clock.advance(2 * HOUR - timedelta(seconds=1))
    assert status(service, first.secret) == 200
    assert service.access_index().verify("Prod", first.secret, "GET", "/Loans").status == 200
    clock.advance(timedelta(seconds=1))
    decision = service.verify("Prod", first.secret, "GET", "/Loans")
    assert decision.status == 401 and "grace" in decision.reason
    assert service.access_index().verify("Prod", first.secret, "GET", "/Loans").status == 401
    third = service.refresh(token_id, grace=timedelta(hours=5))  # given: overrides, once
    assert third.token.grace_until == clock.now() + 5 * HOUR
    assert third.token.grace == 2 * HOUR
    clock.advance(4 * HOUR)
    assert status(service, second.secret) == 200
    assert status(service, first.secret) == 401  # its own two hours are over
    fourth = service.refresh(token_id, grace="0")
    assert status(service, third.secret) == 401
    assert status(service, fourth.secret) == 200


def test_grace_zero_invalidates_the_old_secret_at_once(
    service: TokenService, clock: FakeClock
) -> None:
    handle = service.unit_of_work.database.handle
    first = service.create_token("Prod", "bot", rotation="1d")  # no grace configured: 0
    assert first.token.grace == timedelta(0)
    second = service.refresh(first.token.id)
    assert second.token.grace_until is None and second.previous_valid_until is None
    assert PreviousSecret.select().bind(handle).count() == 0
    assert status(service, first.secret) == 401
    assert status(service, second.secret) == 200
    clock.advance(DAY)
    service.rotate_due()  # a scheduled rotation follows the same rule
    assert status(service, second.secret) == 401
    assert service.reveal(first.token.id) != second.secret


def both_ways(service: TokenService, secret: str) -> tuple[int, int]:
    """The status by SQL and by a fresh in-memory index: they must always agree."""
    index = service.access_index().verify("Prod", secret, "GET", "/Loans").status
    return status(service, secret), index


def test_two_refreshes_in_one_grace_keep_each_previous_secret_until_its_own_deadline(
    service: TokenService, clock: FakeClock
) -> None:
    start = clock.now()
    first = service.create_token("Prod", "bot", grace="2h")
    token_id = first.token.id
    second = service.refresh(token_id)  # first: valid until start + 2h
    assert second.previous_valid_until == start + 2 * HOUR
    clock.advance(HOUR)
    third = service.refresh(token_id)  # second: valid until start + 3h
    assert third.previous_valid_until == start + 3 * HOUR
    assert third.token.grace_until == start + 3 * HOUR  # the last promise to end
    details = audit(service, token_id, "refresh")[-1].details
    assert "earlier secret still valid until" in details
    for secret in (first.secret, second.secret, third.secret):
        assert both_ways(service, secret) == (200, 200)
    clock.set(start + 2 * HOUR - timedelta(seconds=1))
    assert both_ways(service, first.secret) == (200, 200)
    clock.set(start + 2 * HOUR)
    assert both_ways(service, first.secret) == (401, 401)
    assert both_ways(service, second.secret) == (200, 200)
    clock.set(start + 3 * HOUR)
    assert both_ways(service, second.secret) == (401, 401)
    assert both_ways(service, third.secret) == (200, 200)
    assert service.token(token_id).grace_until is None  # no promise left to show


def test_an_inactive_token_refuses_its_previous_secrets_too(
    service: TokenService, clock: FakeClock
) -> None:
    first = service.create_token("Prod", "bot", grace="2h")
    token_id = first.token.id
    second = service.refresh(token_id)
    third = service.refresh(token_id)
    service.set_status(token_id, False)
    for secret in (first.secret, second.secret, third.secret):
        assert both_ways(service, secret) == (401, 401)
        assert "inactive" in service.verify("Prod", secret, "GET", "/Loans").reason
    service.set_status(token_id, True)  # within the grace again: each works once more
    for secret in (first.secret, second.secret, third.secret):
        assert both_ways(service, secret) == (200, 200)


def test_expired_previous_secrets_are_pruned_and_go_with_their_token(
    service: TokenService, clock: FakeClock
) -> None:
    handle = service.unit_of_work.database.handle
    kept = service.create_token("Prod", "bot", grace="2h").token.id
    gone = service.create_token("Prod", "bot", grace="5h").token.id
    service.refresh(kept)
    service.refresh(gone)
    assert PreviousSecret.select().bind(handle).count() == 2
    clock.advance(3 * HOUR)
    service.rotate_due()  # the scheduler's pass forgets the expired one
    assert [row.token_id for row in PreviousSecret.select().bind(handle)] == [gone]
    service.refresh(kept, grace="0")
    service.delete(gone)
    assert PreviousSecret.select().bind(handle).count() == 0


def test_the_audit_log_words_a_refresh_grace_as_a_duration(service: TokenService) -> None:
    """The audit log reads "valid for 1 day", never the preset's name ("valid for daily")."""
    first = service.create_token("Prod", "bot")
    service.refresh(first.token.id, grace="daily")
    details = audit(service, first.token.id, "refresh")[0].details
    assert "previous secret valid for 1 day" in details


def test_rotation_uses_the_configured_grace(service: TokenService, clock: FakeClock) -> None:
    first = service.create_token("Prod", "bot", rotation="1d", grace="3h")
    clock.advance(DAY)
    assert service.rotate_due().rotated == (first.token.id,)
    new = service.reveal(first.token.id)
    assert status(service, first.secret) == 200
    assert status(service, new) == 200
    clock.advance(3 * HOUR)
    assert status(service, first.secret) == 401
    assert status(service, new) == 200
    details = audit(service, first.token.id, "rotate")[0].details
    assert "previous secret valid for 3 hours" in details


def test_cancelled_pass_stops_between_tokens(service: TokenService, clock: FakeClock) -> None:
    a, b, c = three_due(service, clock)
    seen: list[tuple[int, int]] = []
    report = service.rotate_due(
        progress=lambda done, total: seen.append((done, total)), cancelled=lambda: bool(seen)
    )
    assert report.rotated == (a.token.id,)
    assert seen == [(1, 3)]
    assert service.rotate_due().rotated == (b.token.id, c.token.id)


def test_a_disabled_agents_token_cannot_be_refreshed(
    service: TokenService, memory_store: SecretStore
) -> None:
    issued = service.create_token("Prod", "bot", grace="1h")
    service.set_agent_disabled("bot", True)
    before = (service.token(issued.token.id), service.audit(issued.token.id))
    with pytest.raises(IneligibleAgent) as refused:
        service.refresh(issued.token.id)
    assert str(refused.value) == (
        f"agent 'bot' is disabled: token {issued.token.id} cannot be refreshed"
    )
    assert isinstance(refused.value, RuleViolation)
    assert (service.token(issued.token.id), service.audit(issued.token.id)) == before
    assert_keyring_matches(service, memory_store, issued.token.id)
    service.update_agent("bot", has_logged_in=False)
    service.set_agent_disabled("bot", False)
    with pytest.raises(IneligibleAgent, match="'bot' has not logged in"):
        service.refresh(issued.token.id)
    service.update_agent("bot", has_logged_in=True)
    assert service.refresh(issued.token.id).token.generation == 1


def test_a_due_rotation_of_an_ineligible_agents_token_is_recorded_once_then_waits(
    service: TokenService, clock: FakeClock, memory_store: SecretStore
) -> None:
    issued = service.create_token("Prod", "bot", rotation="1d")
    token_id = issued.token.id
    service.set_agent_disabled("bot", True)
    clock.advance(2 * DAY)
    report = service.rotate_due()
    why = "agent 'bot' is disabled, so its tokens are not rotated"
    assert (report.rotated, report.failed, report.refused) == ((), ((token_id, why),), (token_id,))
    token = service.token(token_id)
    assert (token.generation, token.last_error) == (0, why)
    assert [event.details for event in audit(service, token_id, "rotate-failed")] == [why]
    assert status(service, issued.secret) == 401

    # Recorded: later ticks neither start a run for it nor write the refusal again.
    clock.advance(HOUR)
    assert service.due_token_ids() == []
    assert service.rotate_due() == RotationReport()
    assert len(audit(service, token_id, "rotate-failed")) == 1

    # Eligible again: its secret works, and the rotation that was due happens at the next run.
    service.set_agent_disabled("bot", False)
    assert status(service, issued.secret) == 200
    assert service.due_token_ids() == [token_id]
    assert service.rotate_due().rotated == (token_id,)
    token = service.token(token_id)
    assert (token.generation, token.last_error) == (1, None)
    assert_keyring_matches(service, memory_store, token_id)


def test_a_token_whose_agent_lost_a_flag_is_not_rotated(
    service: TokenService, clock: FakeClock
) -> None:
    token_id = service.create_token("Prod", "bot", rotation="1d").token.id
    service.update_agent("bot", signed_agreement=False)
    clock.advance(2 * DAY)
    report = service.rotate_due()
    assert report.refused == (token_id,)
    assert service.token(token_id).last_error == (
        "agent 'bot' has not signed the usage agreement, so its tokens are not rotated"
    )
    # A different refusal later is recorded in its turn.
    service.set_agent_disabled("bot", True)
    assert service.due_token_ids() == [token_id]
    assert service.rotate_due().refused == (token_id,)
    assert len(audit(service, token_id, "rotate-failed")) == 2
