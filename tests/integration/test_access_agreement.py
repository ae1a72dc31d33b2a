"""The SQL lookup (``TokenService.verify``) and the in-memory ``AccessIndex`` answer alike, also
for environment names that differ only in non-ASCII case and for text that is not a token."""

from __future__ import annotations

import pytest

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.errors import RuleViolation


def test_environments_differing_in_non_ascii_case_are_one(context: Context) -> None:
    """SQLite's NOCASE folds ASCII only, so "ZÜRICH" was once a second environment; now it is
    the same name, and the SQL lookup and the in-memory index find it by any spelling."""
    service = context.service
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("bot", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_environment("Zürich", api_enabled=True)
    with pytest.raises(RuleViolation, match="an environment named 'Zürich' already exists"):
        service.add_environment("ZÜRICH", api_enabled=True)
    service.add_environment("Prod", api_enabled=True)
    zurich = service.create_token("ZÜRICH", "bot").secret
    prod = service.create_token("Prod", "bot").secret
    index = service.access_index()
    spellings = ["Zürich", "ZÜRICH", "zürich", "zÜrich", "ZüRICH", "Zu\u0308rich", "Prod", "PROD"]
    for env in spellings:
        for secret in (zurich, prod):
            sql = service.verify(env, secret, "GET", "/Loans")
            memory = index.verify(env, secret, "GET", "/Loans")
            assert (sql.status, sql.reason) == (memory.status, memory.reason), (env, secret[-4:])
            assert sql.allowed == (env.casefold().startswith("p") == (secret == prod))


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
