"""Access decisions by SQL and from the in-memory index: the same answer for every request."""

from __future__ import annotations

from datetime import timedelta

from desktop.domain import tokens
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
