"""Paths and endpoints that must not be read more generously than a web server reads them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.access import Grant, Permission, decide, endpoint_segment, has_dot_segment
from desktop.domain.errors import InvalidInput

LOANS_ONLY = Grant(7, True, True, frozenset({("GET", "loans")}))


@pytest.mark.parametrize(
    "path",
    [
        "/Loans/../Users",
        "/Loans/./../Users",
        "/Loans/%2e%2e/Users",
        "/Loans%2F..%2FUsers",
        "/odata.svc/Loans(1)/../../Users",
        "/Loans/..;/Users",
        "/Loans/..?x=1",
    ],
)
def test_dot_segments_never_reach_another_endpoint(path: str) -> None:
    decision = decide(LOANS_ONLY, "GET", path, 0)
    assert decision.status == 403
    assert ".." in decision.reason or ". or .." in decision.reason


@pytest.mark.parametrize("path", ["/Loans/v1.2", "/Loans('a.b')", "/Loans?$filter=x..y"])
def test_dots_inside_a_segment_are_fine(path: str) -> None:
    assert decide(LOANS_ONLY, "GET", path, 0).status == 200


@pytest.mark.parametrize(
    "text",
    ["GET /Loans?x=1", "GET /Loans?", "GET /..", "GET /.", "GET /\u212aeys", "GET /odata.svc"],
)
def test_permission_that_could_never_match_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="invalid endpoint"):
        Permission.parse(text)


def test_only_ascii_letters_fold() -> None:
    assert endpoint_segment("/\u212aeys") is None  # KELVIN SIGN is not K
    assert endpoint_segment("/Ke\u017fs") is None  # LATIN SMALL LETTER LONG S is not s
    keys = Grant(7, True, True, frozenset({("GET", Permission.parse("GET /Keys").key[1])}))
    assert decide(keys, "GET", "/\u212aeys", 0).status == 403
    assert decide(keys, "GET", "/KEYS", 0).status == 200


def _dot_segment_reference(path: str) -> bool:
    """The plain definition: decode, cut the query, look at every segment."""
    from urllib.parse import unquote

    route = unquote(path.split("?", 1)[0])
    return any(part.split(";", 1)[0] in {".", ".."} for part in route.split("/"))


@settings(max_examples=2_000)
@given(st.text(alphabet="/.%2eE;?aL(1)", max_size=14))
def test_the_quick_dot_segment_check_agrees_with_the_definition(path: str) -> None:
    assert has_dot_segment(path) == _dot_segment_reference(path)
