"""Access decisions by SQL and from the in-memory index: the same answer for every request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.access import Grant, agent_refusal, decide
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock


def test_verify_answers_like_the_api(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    secret = issued.secret
    cases = {
        ("Production", secret, "GET", "/Loans(4)"): 200,
        ("production", secret, "GET", "/odata.svc/Customers"): 200,
        ("Production", secret, "POST", "/Loans"): 403,
        ("Production", secret, "GET", "/Payments"): 403,
        ("Production", tokens.generate(), "GET", "/Loans"): 401,
        ("Production", secret[:-1] + ("A" if secret[-1] != "A" else "B"), "GET", "/Loans"): 401,
        ("Production", "", "GET", "/Loans"): 401,
        ("Production", "x" * 1_000_000, "GET", "/Loans"): 401,
        ("Staging", secret, "GET", "/Loans"): 401,
        ("Sandbox", secret, "GET", "/Loans"): 401,
    }
    index = service.access_index()
    for (environment, presented, method, path), status in cases.items():
        by_sql = service.verify(environment, presented, method, path)
        by_index = index.verify(environment, presented, method, path)
        assert by_sql.status == status, (environment, method, path, by_sql)
        assert by_index == by_sql


def test_the_index_holds_a_grant_per_secret_that_may_be_used(service: TokenService) -> None:
    assert len(service.access_index()) == 0
    issued = service.create_token("Production", "alice", grace="1h")
    service.refresh(issued.token.id)
    assert len(service.access_index()) == 2  # the new secret, and the old one in its grace


def test_a_previous_secret_ends_with_its_grace_in_both(
    service: TokenService, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", grace="1h")
    fresh = service.refresh(issued.token.id)
    index = service.access_index()
    for verify in (service.verify, index.verify):
        assert verify("Production", issued.secret, "GET", "/Loans").status == 200
        assert verify("Production", issued.secret, "POST", "/Loans").status == 403
    clock.advance(timedelta(hours=1))
    for verify in (service.verify, index.verify):
        decision = verify("Production", issued.secret, "GET", "/Loans")
        assert (decision.status, decision.token_id) == (401, issued.token.id)
        assert "grace period has ended" in decision.reason
        assert verify("Production", fresh.secret, "GET", "/Loans").status == 200


def test_a_token_answers_only_in_its_own_environment(service: TokenService) -> None:
    service.add_environment("Staging", api_enabled=True)
    issued = service.create_token("Production", "alice")
    index = service.access_index()
    for verify in (service.verify, index.verify):
        decision = verify("Staging", issued.secret, "GET", "/Loans")
        assert (decision.status, decision.reason) == (401, "unknown token")


def test_a_lone_surrogate_is_refused_not_raised(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    mangled = issued.secret[:-1] + "\ud800"
    index = service.access_index()
    assert index.verify("Production", mangled, "GET", "/Loans").status == 401
    assert service.verify("Production", mangled, "GET", "/Loans").status == 401


STANDINGS = {  # agent name: (disabled, has logged in, signed the agreement)
    "eligible": (False, True, True),
    "disabled": (True, True, True),
    "no-login": (False, False, True),
    "unsigned": (False, True, False),
    "neither": (False, False, False),
    "disabled-neither": (True, False, False),
}
REQUESTS = [
    ("GET", "/Loans(4)"),
    ("POST", "/Loans"),
    ("GET", "/Loans/%252e%252e/Admin"),
    ("GET", "/Loans/%c0%ae"),
    ("GET", "/Loans/a b"),
    ("GET", "/Loans/../Users"),
]


@pytest.mark.parametrize("expired", [False, True], ids=["in-time", "expired"])
def test_sql_index_and_domain_decide_agent_standing_and_paths_alike(
    memory_context: Context, clock: FakeClock, expired: bool
) -> None:
    """Every agent standing, for the current secret and a previous one in its grace: the SQL
    lookup, the in-memory index and the domain's decision on the same grant agree; also once
    the token has expired (after the index was taken: it notices by itself)."""
    service = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    secrets: list[tuple[str, str, int]] = []  # agent, secret, token id
    expires = clock.now() + timedelta(minutes=30)  # inside the previous secrets' grace
    for name in STANDINGS:
        service.add_agent(name, "Reader", has_logged_in=True, signed_agreement=True)
        issued = service.create_token("Production", name, grace="1h", expires=expires)
        fresh = service.refresh(issued.token.id)
        secrets += [(name, issued.secret, issued.token.id), (name, fresh.secret, issued.token.id)]
    for name, (disabled, logged_in, signed) in STANDINGS.items():
        service.update_agent(name, has_logged_in=logged_in, signed_agreement=signed)
        service.set_agent_disabled(name, disabled)
    index = service.access_index()
    if expired:
        clock.set(expires)
    now = clock.now().timestamp()
    for name, secret, token_id in secrets:
        disabled, logged_in, signed = STANDINGS[name]
        refusal = agent_refusal(
            name, disabled=disabled, has_logged_in=logged_in, signed_agreement=signed
        )
        for method, path in REQUESTS:
            by_sql = service.verify("Production", secret, method, path)
            domain = decide(
                Grant(
                    token_id,
                    True,
                    True,
                    frozenset({("GET", "loans")}),
                    None,
                    refusal,
                    expires.timestamp(),
                ),
                method,
                path,
                now,
            )
            assert index.verify("Production", secret, method, path) == by_sql
            assert by_sql == domain, (name, method, path)
    assert service.verify("Production", secrets[2][1], "GET", "/Loans").reason == (
        "agent 'disabled' is disabled"
    )
    eligible = service.verify("Production", secrets[0][1], "GET", "/Loans/%c0%ae")
    assert (eligible.status, eligible.reason == "token expired") == (
        (401, True) if expired else (403, False)
    )
