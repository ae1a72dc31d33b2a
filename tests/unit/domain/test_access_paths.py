"""Paths and endpoints that must not be read more generously than a web server reads them."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.access import (
    Grant,
    Permission,
    agent_refusal,
    ambiguous_path,
    decide,
    endpoint_segment,
    has_dot_segment,
)
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


@pytest.mark.parametrize(
    "path",
    [
        "/Loans/%252e%252e/Admin",  # ".." to a server that decodes twice
        "/Loans/%25%32%65%25%32%65/Admin",
        "/Loans/%c0%ae%c0%ae/Admin",  # overlong "."
        "/Loans/%e0%80%ae",  # overlong, three bytes
        "/Loans/%ff",  # not UTF-8 at all
        "/Loans/%ed%a0%80",  # an encoded surrogate
        "/Loans/\ud800",  # a lone surrogate in the text itself
        "/Loans/a b",
        "/Loans%20/5",
        "/Loans/5%09",
        "/Loans/5\t",
        "/Loans/%0a",
        "/Loans/%00",
        "/Loans/5\x7f",
        "/Loans/%e2%80%8b5",  # a zero-width space
        "/Loans/\u00a05",  # a no-break space
        " /Loans",
        "/Loans/5 ",
        "/%c0%ae%c0%ae/Admin",
        "/Loans/\uff0e\uff0e/Admin",  # fullwidth full stops: ".." once normalized
        "/Loans/%EF%BC%8E%EF%BC%8E/Admin",  # the same, escaped
        "/Loans/\uff0fAdmin",  # a fullwidth solidus: "/"
        "/\uff2coans",  # a fullwidth L
        "/Loans/cafe\u0301",  # decomposed: a server that normalizes reads another name
    ],
)
def test_paths_a_server_may_read_differently_are_refused(path: str) -> None:
    decision = decide(LOANS_ONLY, "GET", path, 0)
    assert decision.status == 403
    assert decision.reason.startswith("ambiguous path"), decision.reason
    assert ambiguous_path(path) is not None


@pytest.mark.parametrize(
    "path",
    [
        "/Loans",
        "/Loans(5)",
        "/Loans/%41bc",  # one decoding leaves no escape
        "/Loans/caf%c3%a9",  # valid UTF-8
        "/Loans/café",
        "/Loans/100%",  # a percent sign that escapes nothing
        "/Loans?$filter=Name%20eq%20'a%2520b'",  # the query string is the API's business
        "/Loans?x=%c0%ae",
    ],
)
def test_plain_paths_are_not_ambiguous(path: str) -> None:
    assert ambiguous_path(path) is None
    assert decide(LOANS_ONLY, "GET", path, 0).status == 200


def test_an_ineligible_agent_is_refused_before_anything_else() -> None:
    refusal = agent_refusal("Ada", disabled=True, has_logged_in=True, signed_agreement=True)
    assert refusal == "agent 'Ada' is disabled"
    gone = Grant(7, True, True, frozenset({("GET", "loans")}), None, refusal)
    for path in ("/Loans", "/Users", "/Loans/%252e%252e/Admin"):
        assert decide(gone, "GET", path, 0) == (401, "agent 'Ada' is disabled", 7)
    assert decide(replace(gone, valid_until=1.0), "GET", "/Loans", 5.0).status == 401
    assert agent_refusal("Ada", disabled=False, has_logged_in=False, signed_agreement=True) == (
        "agent 'Ada' has not logged in"
    )
    assert agent_refusal("Ada", disabled=False, has_logged_in=True, signed_agreement=False) == (
        "agent 'Ada' has not signed the usage agreement"
    )
    assert agent_refusal("Ada", disabled=False, has_logged_in=False, signed_agreement=False) == (
        "agent 'Ada' has not logged in and has not signed the usage agreement"
    )
    assert agent_refusal("Ada", disabled=False, has_logged_in=True, signed_agreement=True) is None


_PATH_CHARACTERS = "/%2eEc0aAf5 \t\x00é?L\ue000\u200b\u0378\uff0e\u0301"


@settings(max_examples=1_000)
@given(st.text(alphabet=st.sampled_from(_PATH_CHARACTERS), max_size=16))
def test_the_quick_ambiguity_check_agrees_with_the_definition(path: str) -> None:
    """The quick answer for printable paths without escapes or spaces is the full one."""
    from urllib.parse import unquote_to_bytes

    part = path.split("?", 1)[0]
    try:
        decoded = unquote_to_bytes(part).decode("utf-8")
    except UnicodeError:
        expected = True
    else:
        expected = "%" in decoded and any(
            all(c in "0123456789abcdefABCDEF" for c in decoded[n + 1 : n + 3])
            and len(decoded[n + 1 : n + 3]) == 2
            for n, c in enumerate(decoded)
            if c == "%"
        )
        expected = expected or any(not c.isprintable() or c.isspace() for c in decoded)
        expected = expected or unicodedata.normalize("NFKC", decoded) != decoded
    assert (ambiguous_path(path) is not None) == expected
