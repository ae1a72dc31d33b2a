"""``tokendesk env``: add, list, enable and disable, as text and as JSON."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli


def test_add_and_list(cli: Cli) -> None:
    assert cli.ok("env", "list").out == "No environments.\n"
    assert cli.ok("env", "add", "Production", "--api-enabled").out == (
        "Added environment 'Production' (API access enabled).\n"
    )
    assert cli.ok("env", "add", "Sandbox", "--json").json() == {
        "name": "Sandbox",
        "api_enabled": False,
        "tokens": 0,
    }
    assert cli.ok("env", "list").out.splitlines() == [
        "NAME        API ACCESS  TOKENS",
        "Production  enabled     0",
        "Sandbox     disabled    0",
    ]
    assert [env["name"] for env in cli.ok("env", "list", "--json").json()] == [
        "Production",
        "Sandbox",
    ]


def test_api_access_starts_disabled_unless_asked_for(cli: Cli) -> None:
    assert cli.ok("env", "add", "Production").out == (
        "Added environment 'Production' (API access disabled). "
        "Turn it on with: tokendesk env enable Production\n"
    )
    assert cli.ok("env", "add", "Pre prod").out.endswith("tokendesk env enable 'Pre prod'\n")
    assert cli.ok("env", "add", "Staging", "--api-enabled", "--json").json()["api_enabled"]
    # Scripts written when access started enabled may still say --disabled: the same thing.
    assert not cli.ok("env", "add", "Sandbox", "--disabled", "--json").json()["api_enabled"]
    assert "not allowed" in cli.refused("env", "add", "QA", "--api-enabled", "--disabled").err
    assert [env["api_enabled"] for env in cli.ok("env", "list", "--json").json()] == [
        False,
        False,
        False,
        True,
    ]


def test_enable_and_disable(cli: Cli) -> None:
    cli.ok("env", "add", "Production", "--api-enabled")
    assert cli.ok("env", "disable", "Production").out == (
        "API access disabled for environment 'Production'.\n"
    )
    assert cli.ok("env", "enable", "Production", "--json").json()["api_enabled"] is True
    cli.refused("env", "enable", "Nowhere")


def test_long_names_are_shortened_in_the_table_only(cli: Cli) -> None:
    name = "E" * 60
    cli.ok("env", "add", name)
    assert cli.ok("env", "list").out.splitlines()[1].startswith("E" * 39 + "… ")
    assert cli.ok("env", "list", "--json").json()[0]["name"] == name


def test_refusals(cli: Cli) -> None:
    cli.ok("env", "add", "Production")
    assert "already exists" in cli.refused("env", "add", "Production").err
    assert "must not be empty" in cli.refused("env", "add", "  ").err


def test_names_that_read_alike_make_one_row(cli: Cli) -> None:
    """``env list`` once showed three rows that all read "Prod uction"."""
    cli.ok("env", "add", "Prod uction")
    assert "U+00A0 NO-BREAK SPACE" in cli.refused("env", "add", "Prod\u00a0uction").err
    assert "U+200B ZERO WIDTH SPACE" in cli.refused("env", "add", "Prod\u200b uction").err
    assert "\u200b" not in cli.refused("env", "add", "Prod\u200b uction").err
    assert "two spaces in a row" in cli.refused("env", "add", "Prod  uction").err
    assert cli.refused("env", "add", "PROD UCTION").err.startswith(
        "tokendesk: error: an environment named 'Prod uction' already exists"
    )
    assert cli.ok("env", "list").out.splitlines()[1:] == ["Prod uction  disabled    0"]


def test_an_environment_is_found_whatever_its_case(cli: Cli) -> None:
    cli.ok("env", "add", "Österreich")
    assert cli.ok("env", "disable", "ÖSTERREICH", "--json").json()["name"] == "Österreich"
    assert cli.ok("env", "enable", "o\u0308sterreich", "--json").json()["api_enabled"] is True
