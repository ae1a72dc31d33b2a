"""``tokendesk verify``: the token is read from standard input, the answer is one line (or JSON)
and the exit status is 0 only for 200."""

from __future__ import annotations

import sys

import pytest

from tests.unit.cli.conftest import Cli, Seed


def test_allowed_forbidden_and_refused(cli: Cli, seeded: Seed) -> None:
    allowed = cli("verify", "--env", "Production", "GET", "/Loans(42)", stdin=seeded.secret + "\n")
    assert (allowed.code, allowed.out, allowed.err) == (0, "200 allowed\n", "")
    forbidden = cli("verify", "--env", "Production", "post", "/Loans", stdin=seeded.secret)
    assert forbidden.code == 1 and forbidden.out.startswith("403 ")
    unknown = cli(
        "verify",
        "--env",
        "Production",
        "GET",
        "/Loans",
        stdin="tdk_nope",
    )
    assert unknown.code == 1 and unknown.out.startswith("401 ")
    as_json = cli("verify", "--env", "Production", "GET", "/Loans", "--json", stdin=seeded.secret)
    assert (as_json.code, as_json.json()) == (0, {"status": 200, "reason": "allowed"})


def test_a_bad_method_is_refused_before_the_token_is_read(
    cli: Cli, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Untouchable:
        def __getattr__(self, name: str) -> object:
            raise AssertionError("standard input was read")

    monkeypatch.setattr(sys, "stdin", Untouchable())
    result = cli.refused("verify", "--env", "Production", "FETCH", "/Loans")
    assert "invalid method 'FETCH'" in result.err


def test_verify_never_needs_the_keyring(cli: Cli, seeded: Seed) -> None:
    cli.store.available = False
    result = cli("verify", "--env", "Production", "GET", "/Loans", stdin=seeded.secret)
    assert (result.code, result.out) == (0, "200 allowed\n")


def test_a_disabled_agents_token_is_refused_and_not_refreshed(cli: Cli, seeded: Seed) -> None:
    cli.ok("agent", "disable", "Bot")
    assert cli.verify(seeded.secret).out == "401 agent 'Bot' is disabled\n"
    refused = cli.refused("token", "refresh", str(seeded.token_id))
    assert "agent 'Bot' is disabled" in refused.err
    cli.ok("agent", "update", "Bot", "--not-logged-in")
    cli.ok("agent", "enable", "Bot")
    assert cli.verify(seeded.secret).out == "401 agent 'Bot' has not logged in\n"
    cli.ok("agent", "update", "Bot", "--logged-in")
    assert cli.verify(seeded.secret).out == "200 allowed\n"


@pytest.mark.parametrize("path", ["/Loans/%252e%252e/Admin", "/Loans/%c0%ae", "/Loans/a%20b"])
def test_an_ambiguous_path_is_forbidden(cli: Cli, seeded: Seed, path: str) -> None:
    answer = cli.verify(seeded.secret, path=path)
    assert answer.out.startswith(f"403 ambiguous path {path!r}")


def test_a_secret_in_the_path_is_concealed_even_percent_encoded(cli: Cli, seeded: Seed) -> None:
    body = seeded.secret[4:]
    for path in (f"/tdk%5F{body}", f"/x/../tdk%5F{body}", f"/a b/tdk%255f{body}"):
        refused = cli("verify", "--env", "Production", "GET", path, stdin=seeded.secret)
        assert refused.code == 1 and refused.out.startswith("403 "), path
        assert body[:20] not in refused.out and f"••{seeded.secret[-4:]}" in refused.out, path
