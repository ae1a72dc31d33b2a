from __future__ import annotations

from typing import TypedDict, Unpack

import pytest

from desktop.domain import tokens
from desktop.domain.access import (
    Grant,
    Permission,
    cached_route,
    decide,
    decide_route,
    endpoint_segment,
    precheck,
    route,
)
from desktop.domain.errors import InvalidInput

READ_LOANS = frozenset({("GET", "loans"), ("GET", "customers"), ("*", "payments")})


class GrantFields(TypedDict, total=False):
    """The fields of :class:`Grant` a test may set."""

    token_id: int
    active: bool
    api_enabled: bool
    permissions: frozenset[tuple[str, str]]
    valid_until: float | None


def grant(**changes: Unpack[GrantFields]) -> Grant:
    values: GrantFields = {
        "token_id": 7,
        "active": True,
        "api_enabled": True,
        "permissions": READ_LOANS,
    }
    values.update(changes)
    return Grant(**values)


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/Loans", "loans"),
        ("/loans/5", "loans"),
        ("/Loans(5)", "loans"),
        ("/odata.svc/Loans(5)/Payments", "loans"),
        ("/ODATA.SVC/Customers", "customers"),
        ("Loans", "loans"),
        ("/Loans?$top=5", "loans"),
        ("/", None),
        ("", None),
        ("/odata.svc", None),
        ("/odata.svc/", None),
        ("//Loans", None),
    ],
)
def test_endpoint_segment(path: str, segment: str | None) -> None:
    assert endpoint_segment(path) == segment


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/Loans", 200),
        ("get", "/Loans/12", 200),
        ("GET", "/Loans(12)", 200),
        ("GET", "/odata.svc/Loans(12)/Notes", 200),
        ("GET", "/LOANS", 200),
        ("POST", "/Loans", 403),
        ("DELETE", "/Customers(1)", 403),
        ("GET", "/LoansArchive", 403),
        ("GET", "/Reports", 403),
        ("PATCH", "/Payments/3", 200),  # * means any method
        ("GET", "/", 403),
    ],
)
def test_role_matching(method: str, path: str, status: int) -> None:
    assert decide(grant(), method, path, now=0).status == status


def test_401_reasons_come_before_403() -> None:
    assert decide(None, "GET", "/Loans", 0).status == 401
    inactive = decide(grant(active=False), "POST", "/Nope", 0)
    assert (inactive.status, inactive.reason) == (401, "token is inactive")
    disabled = decide(grant(api_enabled=False), "GET", "/Loans", 0)
    assert disabled.status == 401 and "disabled" in disabled.reason


def test_previous_secret_is_valid_only_until_its_grace_ends() -> None:
    previous = grant(valid_until=1000.0)
    assert decide(previous, "GET", "/Loans", now=999.0).status == 200
    ended = decide(previous, "GET", "/Loans", now=1000.0)
    assert ended.status == 401 and "grace" in ended.reason


def test_precheck_rejects_empty_oversized_and_malformed() -> None:
    # precheck returns None only for a token it lets through; none of these is one.
    assert precheck("").status == 401  # type: ignore[union-attr]
    assert "too long" in precheck("x" * 10_000).reason  # type: ignore[union-attr]
    assert "malformed" in precheck("tdk_nope").reason  # type: ignore[union-attr]
    assert precheck(tokens.generate()) is None


@pytest.mark.parametrize(
    ("text", "method", "endpoint"),
    [
        ("GET /Loans", "GET", "/Loans"),
        ("get /Loans", "GET", "/Loans"),
        ("* /Payments/", "*", "/Payments"),
    ],
)
def test_permission_parse(text: str, method: str, endpoint: str) -> None:
    permission = Permission.parse(text)
    assert (permission.method, permission.endpoint) == (method, endpoint)


@pytest.mark.parametrize("text", ["GET Loans", "get Loans/", "* //Loans"])
def test_an_endpoint_without_its_leading_slash_is_refused_not_guessed(text: str) -> None:
    """ "GET Loans" may be a typo for another endpoint: it is not silently read as /Loans."""
    with pytest.raises(InvalidInput, match=r"an endpoint starts with /, such as /Loans$"):
        Permission.parse(text)


@pytest.mark.parametrize("shape", ["GET /{}", "{} /Loans", "GET /Loans{}", "GET {}"])
def test_a_permission_holding_a_secret_is_refused_without_repeating_it(shape: str) -> None:
    """A secret pasted as an endpoint would be stored, listed and audited in full."""
    secret = tokens.generate()
    with pytest.raises(InvalidInput) as refused:
        Permission.parse(shape.format(secret))
    assert str(refused.value) == "a permission must not contain a token secret"


@pytest.mark.parametrize(
    "text", ["GET", "FETCH /Loans", "GET /Loans/5", "GET /Loans(5)", "GET /", "GET /a b"]
)
def test_permission_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidInput):
        Permission.parse(text)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Loans(5)"),
        ("POST", "/Loans"),
        ("DELETE", "/Payments/3"),
        ("GET", "/Loans/../Users"),
        ("GET", "/"),
    ],
)
def test_a_cached_route_allows_exactly_what_decide_allows(method: str, path: str) -> None:
    found = route(method, path)
    assert cached_route((method, path)) is found  # worked out once, then looked up
    allowed = decide(grant(), method, path, 0).status == 200
    assert (not found.granted_by.isdisjoint(grant().permissions)) is allowed


@pytest.mark.parametrize(
    "changes",
    [{}, {"active": False}, {"api_enabled": False}, {"valid_until": 1000.0}],
    ids=["plain", "inactive", "disabled", "previous"],
)
@pytest.mark.parametrize("now", [999.0, 1000.0])
@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/Loans(5)"), ("POST", "/Loans"), ("GET", "/Loans/../Users")]
)
def test_deciding_against_a_route_is_deciding(
    changes: GrantFields, now: float, method: str, path: str
) -> None:
    """decide is decide_route once the route is known: what the in-process index calls."""
    found = grant(**changes)
    assert decide_route(found, route(method, path), now) == decide(found, method, path, now)


def test_a_route_never_seen_is_not_cached() -> None:
    assert cached_route(("GET", "/NeverAskedFor/4711")) is None


def test_a_route_is_granted_by_its_method_or_any_method() -> None:
    assert route("GET", "/Loans(5)").granted_by == {("GET", "loans"), ("*", "loans")}
    assert route("get", "/odata.svc/Loans").granted_by == {("GET", "loans"), ("*", "loans")}
    assert route("GET", "/Loans/../Users").granted_by == frozenset()
    assert route("GET", "/").granted_by == frozenset()


@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "*", "", "TDK_B8B7TC"])
def test_any_method_means_each_a_permission_can_name(method: str) -> None:
    """A role's ``*`` allows the methods a permission can name, never one a forward-auth
    server read from a header that no permission can name; the method is not quoted back."""
    refused = decide(grant(), method, "/Payments/3", 0)
    assert (refused.status, refused.reason) == (
        403,
        "the method is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
    )
    assert route(method, "/Payments/3").granted_by == frozenset()
