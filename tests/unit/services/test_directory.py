"""Environments, roles and agents: unique names, audited changes, counts."""

from __future__ import annotations

import unicodedata

import pytest

from desktop.domain.errors import DatabaseError, InvalidInput, NotFound, RuleViolation
from desktop.domain.validation import name_key
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


def test_names_that_read_alike_are_one_name(service: TokenService) -> None:
    """Once three rows could all read "Prod uction": a special space or an invisible one made
    them different names. Now the first is the name, and the others are refused."""
    service.add_environment("Prod uction")
    with pytest.raises(InvalidInput, match=r"U\+00A0 NO-BREAK SPACE\); use an ordinary space$"):
        service.add_environment("Prod\u00a0uction")
    with pytest.raises(InvalidInput, match=r"invisible character \(U\+200B ZERO WIDTH SPACE\)$"):
        service.add_environment("Prod\u200b uction")
    with pytest.raises(InvalidInput, match="two spaces in a row"):
        service.add_environment("Prod  uction")
    with pytest.raises(
        RuleViolation, match=r"^an environment named 'Prod uction' already exists; 'PROD UCTION'"
    ):
        service.add_environment("PROD UCTION")
    names = [env.name for env in service.environments()]
    assert names.count("Prod uction") == 1 and len(names) == 3


def test_case_beyond_ascii_and_normalization_make_no_new_name(service: TokenService) -> None:
    service.add_agent("Straße", "Reader")
    with pytest.raises(RuleViolation, match=r"^an agent named 'Straße' already exists; 'STRASSE'"):
        service.add_agent("STRASSE", "Reader")
    service.add_role("Gérance", [])
    with pytest.raises(RuleViolation, match=r"^a role named 'Gérance' already exists$"):
        service.add_role("Ge\u0301rance", [])  # decomposed: stored in NFC, the same text
    with pytest.raises(RuleViolation, match="a role named 'Gérance' already exists"):
        service.add_role("GÉRANCE", [])
    stored = service.add_agent("Rene\u0301", "Reader").name
    assert stored == "René" == unicodedata.normalize("NFC", "Rene\u0301")


def test_a_name_is_found_whatever_its_case_or_normalization(service: TokenService) -> None:
    service.add_agent("Zoë", "Reader", has_logged_in=True, signed_agreement=True)
    for spelling in ("Zoë", "ZOË", "Zoe\u0308", " zoe\u0308 ", "Zo\u200bë"):
        assert service.agent(spelling).name == "Zoë"
    assert service.environment("PRODUCTION\u00a0").name == "Production"
    issued = service.create_token("production", "ZOE\u0308")
    assert issued.token.agent == "Zoë"
    with pytest.raises(NotFound, match=r"^unknown environment 'Prod<U\+200B>'$"):
        service.environment("Prod\u200b")


def test_the_database_itself_refuses_a_second_row_of_one_name(service: TokenService) -> None:
    """Not a check in Python alone: a writer that skips the service meets the unique key."""
    database = service.unit_of_work.database
    refused = r"UNIQUE constraint failed: agent\.name_key|unique constraint \"agent_name_key\""
    with pytest.raises(DatabaseError, match=refused):
        database.execute(
            "INSERT INTO agent (name, name_key, role_id, has_logged_in, signed_agreement, "
            "created_at) VALUES ('ALICE', ?, 1, ?, ?, '2026-01-01')",
            (name_key("alice"), False, False),
        )


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("PRODUCTION", 200),
        ("production\u00a0", 200),
        ("Pro\u200bduction", 200),
        ("Pródúction", 401),
    ],
)
def test_verify_finds_the_environment_however_it_is_written(
    service: TokenService, spelling: str, status: int
) -> None:
    """The SQL lookup and the in-memory index compare environment names alike."""
    issued = service.create_token("Production", "alice")
    decision = service.verify(spelling, issued.secret, "GET", "/Loans")
    assert decision.status == status
    assert service.access_index().verify(spelling, issued.secret, "GET", "/Loans") == decision


def test_verify_finds_an_environment_named_beyond_ascii_in_either_case(
    service: TokenService,
) -> None:
    service.add_environment("Österreich", api_enabled=True)
    issued = service.create_token("Österreich", "alice")
    for spelling in ("ÖSTERREICH", "o\u0308sterreich"):
        assert service.verify(spelling, issued.secret, "GET", "/Loans").status == 200
        assert service.access_index().verify(spelling, issued.secret, "GET", "/Loans").allowed
