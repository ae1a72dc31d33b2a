"""The forward-auth application answers as ``tokendesk verify`` does (the SQL lookup), with the
contract's headers and bodies, and refuses to answer from memory once it cannot vouch for it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest

from desktop.cli.common import conceal
from desktop.domain import tokens
from desktop.server.app import AuthApplication
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock
from tests.unit.server.conftest import auth, call

REQUESTS = [
    ("GET", "/Loans(42)"),
    ("get", "/odata.svc/Loans"),
    ("POST", "/Loans"),
    ("GET", "/Customers/7"),
    ("GET", "/Loans/../Users"),
    ("GET", "/Loans/%252e%252e/Admin"),
    ("GET", "/Loans/%c0%ae"),
    ("GET", "/"),
    ("DELETE", "/Customers"),
]


def test_every_answer_is_verifys(
    application: AuthApplication, service: TokenService, clock: FakeClock
) -> None:
    """Current and replaced secrets, through and past a grace and an expiry, an inactive
    token, an environment with its API off, an agent no longer eligible, unknown and malformed
    tokens: status and reason as the SQL lookup gives them, at every moment."""
    granted = service.create_token("Production", "alice", grace="1h")
    replaced = granted.secret
    fresh = service.refresh(granted.token.id).secret
    expiring = service.create_token("Production", "alice", expires=clock.now() + timedelta(hours=2))
    inactive = service.create_token("Production", "alice")
    service.set_status(inactive.token.id, False)
    sandboxed = service.create_token("Production", "alice")
    service.add_agent("bob", "Reader", has_logged_in=True, signed_agreement=True)
    unsigned = service.create_token("Production", "bob")
    service.update_agent("bob", signed_agreement=False)
    unknown = tokens.generate()
    malformed = fresh[:-1] + ("A" if fresh[-1] != "A" else "B")
    secrets = [replaced, fresh, expiring.secret, inactive.secret, sandboxed.secret]
    secrets += [unsigned.secret, unknown, malformed, "x" * 5000, "not a token"]
    assert application.follower.catch_up()
    for hours in (0, 1.5, 3):
        clock.set(clock.now() + timedelta(hours=hours))
        for environment in ("Production", "production", "Sandbox", "Nowhere"):
            for secret in secrets:
                for method, path in REQUESTS:
                    for forwarded in (False, True):
                        answer = auth(
                            application, environment, secret, method, path, forwarded=forwarded
                        )
                        expected = service.verify(environment, secret, method.upper(), path)
                        case = (hours, environment, secret[-4:], method, path)
                        assert answer.reason == (expected.status, expected.reason), case
                        assert secret not in answer.body.decode()
                        if expected.status == 200:
                            token_id = answer.headers["x-tokendesk-token-id"]
                            assert token_id == str(expected.token_id)
                            assert answer.headers["x-tokendesk-agent"] == "alice"
                        elif expected.status == 401:
                            realm = f'Bearer realm="{environment}"'
                            assert answer.headers["www-authenticate"] == realm


def test_the_query_string_is_not_the_path(
    application: AuthApplication, service: TokenService
) -> None:
    issued = service.create_token("Production", "alice")
    application.follower.catch_up()
    answer = auth(application, "Production", issued.secret, "GET", "/Loans?filter=../Users")
    assert answer.reason == (200, "allowed")
    refused = auth(application, "Production", issued.secret, "GET", "/Users?x=/Loans")
    assert refused.reason == (403, "role does not allow GET on /users")


def test_what_a_gateway_left_out(application: AuthApplication, service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    application.follower.catch_up()
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    no_method = call(application, "/v1/auth/Production", {**bearer, "X-Original-URI": "/Loans"})
    assert no_method.reason == (400, "missing X-Original-Method or X-Forwarded-Method header")
    no_uri = call(application, "/v1/auth/Production", {**bearer, "X-Forwarded-Method": "GET"})
    assert no_uri.reason == (400, "missing X-Original-URI or X-Forwarded-Uri header")
    assert auth(application, "Production", None).reason == (401, "no bearer token")
    basic = call(
        application,
        "/v1/auth/Production",
        {"X-Original-Method": "GET", "X-Original-URI": "/Loans", "Authorization": "Basic eDp5"},
    )
    assert basic.reason == (401, "no bearer token")
    assert basic.headers["www-authenticate"] == 'Bearer realm="Production"'
    # Both families naming two requests: test_headers_that_name_two_requests_are_refused.
    assert call(application, "/elsewhere").status == 404


def test_an_agent_name_beyond_ascii_is_percent_encoded(
    application: AuthApplication, service: TokenService
) -> None:
    service.add_agent("Zoë 100%", "Reader", has_logged_in=True, signed_agreement=True)
    issued = service.create_token("Production", "Zoë 100%")
    application.follower.catch_up()
    answer = auth(application, "Production", issued.secret)
    assert answer.headers["x-tokendesk-agent"] == "Zo%C3%AB 100%25"


def test_a_change_is_answered_once_the_follower_has_caught_up(
    application: AuthApplication, service: TokenService
) -> None:
    issued = service.create_token("Production", "alice")
    follower = application.follower
    follower.catch_up()
    assert call(application, "/healthz").json()["changes"] == service.change_cursor()
    service.set_status(issued.token.id, False)
    assert auth(application, "Production", issued.secret).reason == (200, "allowed")  # not yet
    assert follower.catch_up()
    assert auth(application, "Production", issued.secret).reason == (401, "token is inactive")
    health = call(application, "/healthz")
    assert health.status == 200
    assert health.json()["changes"] == service.change_cursor()
    assert health.json()["status"] == "ok"


@pytest.mark.expect_log("registry unreachable for", level="WARNING")
def test_past_the_staleness_bound_every_answer_is_503(
    application: AuthApplication, service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry stops answering (fault injected): the last index answers until the bound,
    then every /v1/auth request and /healthz are 503, until it answers again."""
    issued = service.create_token("Production", "alice")
    follower = application.follower
    follower.catch_up()
    from desktop.storage import queries

    def unreachable(database: object) -> int:
        raise OSError("connection refused")

    with monkeypatch.context() as patched:
        patched.setattr(queries, "change_cursor", unreachable)
        assert not follower.catch_up()
        assert auth(application, "Production", issued.secret).status == 200
        follower.confirmed_at -= 31  # time travel: 31 s without an answer
        assert not follower.catch_up()
        for secret in (issued.secret, "nonsense", None):
            answer = auth(application, "Production", secret)
            status, reason = answer.reason
            assert status == 503
            assert reason.startswith("registry unreachable for 31")
        assert auth(application, "Production", issued.secret, forwarded=True).status == 503
        health = call(application, "/healthz")
        assert health.status == 503
        assert health.json()["status"] == "unavailable"
    assert follower.catch_up()  # it answers again
    assert auth(application, "Production", issued.secret).reason == (200, "allowed")
    assert call(application, "/healthz").status == 200


def test_metrics_label_unknown_environments_as_one(
    application: AuthApplication, service: TokenService
) -> None:
    issued = service.create_token("Production", "alice")
    application.follower.catch_up()
    for name in ("Production", "PRODUCTION", "evil-1", "evil-2", "Sandbox"):
        auth(application, name, issued.secret)
    text = call(application, "/metrics").body.decode()
    assert 'environment="Production",outcome="allowed"} 2.0' in text
    assert 'environment="Sandbox",outcome="unauthorized"} 1.0' in text
    assert 'environment="(unknown)",outcome="unauthorized"} 2.0' in text
    assert "evil" not in text
    assert "tokendesk_auth_decision_seconds_count 5.0" in text
    assert 'tokendesk_auth_decision_seconds_bucket{le="+Inf"} 5.0' in text
    seconds = next(
        line for line in text.splitlines() if line.startswith("tokendesk_auth_decision_seconds_sum")
    )
    assert 0 < float(seconds.split()[1]) < 5


def test_headers_that_name_two_requests_are_refused(
    application: AuthApplication, service: TokenService
) -> None:
    """A deciding header given twice, or X-Original-* beside a different X-Forwarded-*, is never
    decided on one of the copies: Traefik and Caddy pass a client's X-Original-URI through and
    set X-Forwarded-Uri beside it, so a client allowed GET /Loans could otherwise send DELETE
    /Customers with X-Original-* saying GET /Loans. The token's own copies: 401."""
    secret = service.create_token("Production", "alice").secret
    assert application.follower.catch_up()
    bearer = ("Authorization", f"Bearer {secret}")
    get_loans = [("X-Original-Method", "GET"), ("X-Original-URI", "/Loans")]
    cases = {
        "smuggled through Traefik": (
            [("X-Forwarded-Method", "DELETE"), ("X-Forwarded-Uri", "/Customers"), *get_loans],
            (400, "X-Original-Method and X-Forwarded-Method differ"),
        ),
        "another path": (
            [*get_loans, ("X-Forwarded-Method", "GET"), ("X-Forwarded-Uri", "/Customers")],
            (400, "X-Original-URI and X-Forwarded-Uri differ"),
        ),
        "two URIs": (
            [*get_loans, ("X-Original-URI", "/Customers")],
            (400, "more than one X-Original-URI header"),
        ),
        "two methods": (
            [*get_loans, ("X-Original-Method", "DELETE")],
            (400, "more than one X-Original-Method header"),
        ),
        "two tokens": (
            [*get_loans, ("Authorization", "Bearer x")],
            (401, "more than one Authorization header"),
        ),
    }
    for case, (headers, expected) in cases.items():
        answer = call(application, "/v1/auth/Production", [bearer, *headers])
        assert answer.reason == expected, case
        assert "x-tokendesk-token-id" not in answer.headers, case
        if expected[0] == 401:
            assert answer.headers["www-authenticate"] == 'Bearer realm="Production"'
    # Both families naming the same request (the query aside), other headers repeated: decided.
    same = [*get_loans, ("X-Forwarded-Method", "get"), ("X-Forwarded-Uri", "/Loans?$top=1")]
    cookies = [("Cookie", "a=1"), ("Cookie", "b=2")]
    answer = call(application, "/v1/auth/Production", [bearer, *same, *cookies])
    assert answer.reason == (200, "allowed")


def test_a_secret_pasted_into_the_request_is_concealed_as_verify_conceals_it(
    application: AuthApplication, service: TokenService
) -> None:
    """In the environment (decoded from the path) or in X-Original-URI as it came, plain,
    lower-cased or percent-encoded: the reason is the one ``tokendesk verify`` prints, and no
    part of the secret's body reaches the body or a header."""
    secret = service.create_token("Production", "alice").secret
    assert application.follower.catch_up()
    body = secret[len(tokens.PREFIX) :]
    cases = [
        (secret, "/Loans"),
        ("Production", "/" + secret),
        ("Production", f"/tdk%5F{body}"),
        ("Production", f"/Loans/../tdk%255F{body}"),
        ("Production", f"/a b/{secret}"),
    ]
    for environment, path in cases:
        answer = auth(application, quote(environment, safe=""), secret, "GET", path)
        expected = service.verify(environment, secret, "GET", path)
        assert answer.reason == (expected.status, conceal(expected.reason)), path
        shown = answer.body.decode() + " ".join(answer.headers.values())
        assert body[:12] not in shown and body[-12:] not in shown, path
