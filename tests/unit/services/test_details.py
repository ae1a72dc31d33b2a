"""One token's details: what decides what it may do, read together, and its latest events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.domain.errors import NotFound
from desktop.services.details import RECENT_EVENTS
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock


def test_an_eligible_token_in_an_open_environment(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", label="dashboard", rotation="weekly")

    details = service.token_details(issued.token.id)

    assert details.token == service.token(issued.token.id)
    assert details.api_enabled
    assert details.eligible and details.agent_refusal is None
    assert details.refusal is None
    assert details.permissions == ("GET /Customers", "GET /Loans")
    assert [(e.action, e.actor, e.token_id) for e in details.recent] == [
        ("create", service.actor, issued.token.id)
    ]


def test_what_takes_a_token_out_of_use_is_said(service: TokenService) -> None:
    token_id = service.create_token("Production", "alice").token.id
    service.set_status(token_id, False)
    assert service.token_details(token_id).refusal == "token is inactive"
    service.update_agent("alice", has_logged_in=False)
    service.set_role_permissions("Reader", [])

    details = service.token_details(token_id)
    assert not details.eligible
    assert details.agent_refusal == "agent 'alice' has not logged in"
    assert details.refusal == details.agent_refusal  # the agent is checked before the status
    assert details.permissions == ()

    service.set_api_enabled("Production", False)
    details = service.token_details(token_id)
    assert not details.api_enabled
    assert details.refusal == "API access is disabled for this environment"

    service.set_agent_disabled("alice", True)
    assert service.token_details(token_id).agent_refusal == "agent 'alice' is disabled"


def test_the_role_is_read_as_it_is_now(service: TokenService) -> None:
    token_id = service.create_token("Production", "alice").token.id
    service.set_role_permissions("Reader", ["DELETE /Loans", "* /Payments", "GET /Loans"])
    service.add_role("Writer", ["POST /Loans"])

    assert service.token_details(token_id).permissions == (
        "* /Payments",
        "DELETE /Loans",
        "GET /Loans",
    )
    service.update_agent("alice", role="Writer")
    details = service.token_details(token_id)
    assert (details.token.role, details.permissions) == ("Writer", ("POST /Loans",))


def test_a_running_grace_is_there_until_it_ends(service: TokenService, clock: FakeClock) -> None:
    token_id = service.create_token("Production", "alice").token.id
    assert service.token_details(token_id).token.grace_until is None

    service.refresh(token_id, grace="1h")
    until = service.token_details(token_id).token.grace_until
    assert until == clock.now() + timedelta(hours=1)

    clock.advance(timedelta(hours=1))
    assert service.token_details(token_id).token.grace_until is None


def test_the_newest_events_come_first_and_only_a_few(
    service: TokenService, clock: FakeClock
) -> None:
    token_id = service.create_token("Production", "alice").token.id
    other = service.create_token("Production", "alice").token.id
    for n in range(RECENT_EVENTS + 2):
        clock.advance(timedelta(minutes=1))
        service.set_label(token_id, f"label {n}")
    service.set_label(other, "not this one")

    recent = service.token_details(token_id).recent

    assert len(recent) == RECENT_EVENTS
    assert [e.details for e in recent] == [
        f"label 'label {n}'" for n in reversed(range(2, RECENT_EVENTS + 2))
    ]
    assert all(e.token_id == token_id for e in recent)
    assert [e.at for e in recent] == sorted((e.at for e in recent), reverse=True)
    assert len(service.token_details(token_id, events=2).recent) == 2
    assert service.token_details(token_id, events=0).recent == ()


def test_a_token_that_is_not_there_is_not_found(service: TokenService) -> None:
    token_id = service.create_token("Production", "alice").token.id
    service.delete(token_id)
    for missing in (token_id, 999):
        with pytest.raises(NotFound, match=f"unknown token {missing}"):
            service.token_details(missing)


def test_the_details_never_hold_the_secret(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", label="dashboard")
    service.refresh(issued.token.id, grace="1h")
    secret = service.reveal(issued.token.id)

    details = service.token_details(issued.token.id)

    for text in (repr(details), str(details)):
        assert secret not in text
        assert issued.secret not in text
        assert secret[4:-4] not in text
