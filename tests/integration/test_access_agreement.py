"""The SQL lookup (``TokenService.verify``) and the in-memory ``AccessIndex`` answer alike, also
for environment names that differ only in non-ASCII case and for text that is not a token."""

from __future__ import annotations

import pytest

from desktop.app import Context
from desktop.domain import tokens


def test_environments_differing_in_non_ascii_case_stay_apart(context: Context) -> None:
    service = context.service
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("bot", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_environment("Zürich", api_enabled=True)
    service.add_environment(
        "ZÜRICH", api_enabled=True
    )  # SQLite's NOCASE folds ASCII only: a second environment
    service.add_environment("Prod", api_enabled=True)
    in_lower = service.create_token("Zürich", "bot").secret
    in_upper = service.create_token("ZÜRICH", "bot").secret
    prod = service.create_token("Prod", "bot").secret
    index = service.access_index()
    cases = [
        (env, secret)
        for env in ["Zürich", "ZÜRICH", "zürich", "zÜrich", "ZüRICH", "Prod", "PROD", " prod "]
        for secret in [in_lower, in_upper, prod]
    ]
    for env, secret in cases:
        sql = service.verify(env, secret, "GET", "/Loans")
        memory = index.verify(env, secret, "GET", "/Loans")
        assert (sql.status, sql.reason) == (memory.status, memory.reason), (env, secret[-4:])
    assert index.verify("ZÜRICH", in_lower, "GET", "/Loans").status == 401
    assert index.verify("zürich", in_lower, "GET", "/Loans").status == 200


@pytest.mark.parametrize(
    "presented",
    [
        "\udcff" * tokens.TOKEN_LENGTH,
        tokens.PREFIX + "\ud800" * (tokens.TOKEN_LENGTH - len(tokens.PREFIX)),
        "é" * tokens.TOKEN_LENGTH,
    ],
    ids=["surrogates", "prefix-and-surrogates", "accented"],
)
def test_text_that_is_not_a_token_gets_the_same_answer(context: Context, presented: str) -> None:
    service = context.service
    service.add_environment("Prod", api_enabled=True)
    index = service.access_index()
    sql = service.verify("Prod", presented, "GET", "/Loans")
    assert sql.status == 401
    assert index.verify("Prod", presented, "GET", "/Loans") == sql
