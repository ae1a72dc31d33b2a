"""``tokendesk agent``: add, update and list, and what each says about eligibility."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli


def test_add_says_whether_the_agent_may_be_given_tokens(cli: Cli) -> None:
    cli.ok("role", "add", "Reader", "--allow", "GET /Loans")
    ready = cli.ok("agent", "add", "Bot", "--role", "Reader", "--logged-in", "--signed-agreement")
    assert ready.out == "Added agent 'Bot' with role 'Reader'; may be given tokens.\n"
    newbie = cli.ok("agent", "add", "Newbie", "--role", "Reader")
    assert newbie.out == (
        "Added agent 'Newbie' with role 'Reader'; may not be given tokens yet: has never logged "
        "in and has not signed the usage agreement.\n"
    )


def test_update_sets_clears_or_leaves_each_flag(cli: Cli) -> None:
    cli.ok("role", "add", "Reader", "--allow", "GET /Loans")
    cli.ok("role", "add", "Writer", "--allow", "POST /Loans")
    cli.ok("agent", "add", "Bot", "--role", "Reader", "--logged-in")
    updated = cli.ok("agent", "update", "Bot", "--signed-agreement", "--role", "Writer")
    assert updated.out == "Updated agent 'Bot' with role 'Writer'; may be given tokens.\n"
    left = cli.ok("agent", "update", "Bot", "--json").json()
    assert (left["has_logged_in"], left["signed_agreement"]) == (True, True)
    cleared = cli.ok("agent", "update", "Bot", "--not-logged-in", "--unsigned-agreement", "--json")
    assert cleared.json() == {
        "name": "Bot",
        "role": "Writer",
        "has_logged_in": False,
        "signed_agreement": False,
        "disabled": False,
        "eligible": False,
        "tokens": 0,
    }
    assert (
        "not allowed" in cli.refused("agent", "update", "Bot", "--logged-in", "--not-logged-in").err
    )


def test_list(cli: Cli) -> None:
    assert cli.ok("agent", "list").out == "No agents.\n"
    cli.ok("role", "add", "Reader", "--allow", "GET /Loans")
    cli.ok("agent", "add", "Bot", "--role", "Reader", "--logged-in", "--signed-agreement")
    cli.ok("agent", "add", "Newbie", "--role", "Reader", "--logged-in")
    cli.ok("agent", "add", "Gone", "--role", "Reader", "--logged-in", "--signed-agreement")
    cli.ok("agent", "disable", "Gone")
    assert cli.ok("agent", "list").out.splitlines() == [
        "NAME    ROLE    LOGGED IN  SIGNED AGREEMENT  DISABLED  ELIGIBLE  TOKENS",
        "Bot     Reader  yes        yes               no        yes       0",
        "Gone    Reader  yes        yes               yes       no        0",
        "Newbie  Reader  yes        no                no        no        0",
    ]
    listed = cli.ok("agent", "list", "--json").json()
    assert [(a["disabled"], a["eligible"]) for a in listed] == [
        (False, True),
        (True, False),
        (False, False),
    ]


def test_disable_and_enable(cli: Cli) -> None:
    cli.ok("role", "add", "Reader", "--allow", "GET /Loans")
    cli.ok("agent", "add", "Bot", "--role", "Reader", "--logged-in", "--signed-agreement")
    assert cli.ok("agent", "disable", "Bot").out == (
        "Disabled agent 'Bot': its tokens are refused (401) until it is enabled.\n"
    )
    assert cli.ok("agent", "disable", "bot", "--json").json()["disabled"] is True  # no change
    assert "is disabled: its tokens are refused" in cli.ok("agent", "update", "Bot").out
    assert cli.ok("agent", "enable", "Bot").out == (
        "Enabled agent 'Bot' with role 'Reader'; may be given tokens.\n"
    )
    assert cli.ok("agent", "enable", "Bot", "--json").json()["eligible"] is True
    assert "unknown agent" in cli.refused("agent", "disable", "Nobody").err


def test_agents_are_one_name_whatever_the_case_beyond_ascii(cli: Cli) -> None:
    cli.ok("role", "add", "Reader")
    cli.ok("agent", "add", "Straße", "--role", "reader")
    refused = cli.refused("agent", "add", "STRASSE", "--role", "Reader")
    assert refused.err.startswith("tokendesk: error: an agent named 'Straße' already exists;")
    updated = cli.ok("agent", "update", "STRASSE", "--logged-in", "--json").json()
    assert (updated["name"], updated["has_logged_in"]) == ("Straße", True)
