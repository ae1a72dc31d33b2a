"""Environments, roles and agents: unique names, audited changes, counts."""

from __future__ import annotations

import pytest

from desktop.domain.errors import InvalidInput, NotFound, RuleViolation
from desktop.services.tokens import MULTIPLE_TOKENS_WARNING, TokenService


def test_disabling_the_environment_gives_401_for_every_token(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    service.set_api_enabled("Production", False)
    decision = service.verify("Production", issued.secret, "GET", "/Loans")
    assert decision.status == 401 and "disabled" in decision.reason
    index = service.access_index()
    assert index.verify("Production", issued.secret, "GET", "/Loans") == decision


def test_role_change_applies_to_existing_tokens(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    assert service.verify("Production", issued.secret, "POST", "/Payments").status == 403
    service.add_role("Payments", ["POST /Payments"])
    service.update_agent("alice", role="Payments")
    assert service.verify("Production", issued.secret, "POST", "/Payments").status == 200
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 403
    assert service.token(issued.token.id).role == "Payments"


def test_duplicate_and_bad_names_are_refused(service: TokenService) -> None:
    with pytest.raises(RuleViolation, match="already exists"):
        service.add_environment("production", api_enabled=True)
    with pytest.raises(InvalidInput, match="empty"):
        service.add_agent("  ", "Reader")
    with pytest.raises(NotFound, match="unknown role"):
        service.add_agent("carol", "Writer")
    with pytest.raises(InvalidInput, match="METHOD /Endpoint"):
        service.add_role("Broken", ["GET"])
    assert [role.name for role in service.roles()] == ["Reader"]


def test_names_are_found_without_regard_to_case_or_spaces(service: TokenService) -> None:
    assert service.environment("  production ").name == "Production"
    assert service.role("reader").name == "Reader"
    assert service.agent(" ALICE").name == "alice"
    with pytest.raises(NotFound, match="unknown environment 'Staging'"):
        service.environment(" Staging ")


def test_environments_and_agents_count_their_tokens(service: TokenService) -> None:
    service.create_token("Production", "alice")
    service.create_token("Production", "alice")
    counts = {env.name: env.token_count for env in service.environments()}
    assert counts == {"Production": 2, "Sandbox": 0}
    assert [env.token_count for env in service.environments(counted=False)] == [0, 0]
    assert service.environment("Production").token_count == 2
    assert {agent.name: agent.token_count for agent in service.agents()} == {
        "alice": 2,
        "newbie": 0,
        "unsigned": 0,
    }
    assert service.agent("alice").token_count == 2


def test_creation_warnings_name_the_tokens_held(service: TokenService) -> None:
    assert service.creation_warnings("alice") == []
    service.create_token("Production", "alice")
    assert service.creation_warnings("alice") == [
        MULTIPLE_TOKENS_WARNING.format(agent="alice", tokens="a token")
    ]
    service.create_token("Production", "alice")
    assert "2 tokens" in service.creation_warnings("alice")[0]


def test_role_permissions_are_kept_once_each_and_sorted(service: TokenService) -> None:
    role = service.add_role("Writer", ["post /Loans", "GET /Loans", "POST /Loans"])
    assert role.permissions == ("GET /Loans", "POST /Loans")
    assert service.set_role_permissions("Writer", []).permissions == ()
    details = [event.details for event in service.audit() if event.action.startswith("role")]
    assert details[0] == "role Writer: no permissions"
    assert details[1] == "role Writer: POST /Loans, GET /Loans"


def test_agent_changes_are_audited_only_when_something_changed(service: TokenService) -> None:
    before = len(service.audit())
    view = service.update_agent("newbie", has_logged_in=False, role="reader")
    assert (view.has_logged_in, view.role) == (False, "Reader")
    assert len(service.audit()) == before
    view = service.update_agent("newbie", has_logged_in=True)
    assert view.eligible
    assert service.audit()[0].details == "agent newbie: logged in: yes"


def test_api_access_changes_are_audited_only_when_they_change(service: TokenService) -> None:
    before = len(service.audit())
    assert service.set_api_enabled("Production", True).api_enabled
    assert len(service.audit()) == before
    assert not service.set_api_enabled("production", False).api_enabled
    event = service.audit()[0]
    assert (event.action, event.details) == (
        "env-disable",
        "API access disabled for environment Production",
    )


def test_a_new_environment_starts_without_api_access(service: TokenService) -> None:
    assert service.add_environment("Preview").api_enabled is False
    assert service.add_environment("Live", api_enabled=True).api_enabled is True
    assert service.audit()[1].details == "environment Preview, API access disabled"
    with pytest.raises(RuleViolation, match="API access disabled"):
        service.create_token("Preview", "alice")


def test_disabling_an_agent_refuses_its_tokens_until_it_is_enabled(
    service: TokenService,
) -> None:
    issued = service.create_token("Production", "alice")
    view = service.set_agent_disabled("ALICE", True)
    assert (view.disabled, view.eligible, view.ineligible_reason()) == (True, False, "is disabled")
    index = service.access_index()
    for verify in (service.verify, index.verify):
        decision = verify("Production", issued.secret, "GET", "/Loans")
        assert decision == (401, "agent 'alice' is disabled", issued.token.id)
    event = service.audit()[0]
    assert (event.action, event.details) == (
        "agent-disable",
        "agent alice disabled; 1 token refused until it is enabled",
    )
    before = len(service.audit())
    service.set_agent_disabled("alice", True)  # already so: nothing to record
    assert len(service.audit()) == before
    with pytest.raises(RuleViolation, match="agent 'alice' is disabled; enable it"):
        service.create_token("Production", "alice")

    assert not service.set_agent_disabled("alice", False).disabled
    assert service.audit()[0].action == "agent-enable"
    for verify in (service.verify, service.access_index().verify):
        assert verify("Production", issued.secret, "GET", "/Loans").status == 200
    with pytest.raises(NotFound):
        service.set_agent_disabled("nobody", True)


def test_an_agent_whose_flags_are_cleared_is_refused_too(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    service.update_agent("alice", signed_agreement=False)
    decision = service.verify("Production", issued.secret, "GET", "/Loans")
    assert decision.reason == "agent 'alice' has not signed the usage agreement"
    service.update_agent("alice", signed_agreement=True, has_logged_in=False)
    decision = service.access_index().verify("Production", issued.secret, "GET", "/Loans")
    assert decision.reason == "agent 'alice' has not logged in"
    service.update_agent("alice", has_logged_in=True)
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
