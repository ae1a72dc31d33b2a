"""``tokendesk role``: add and list, as text and as JSON."""

from __future__ import annotations

from tests.unit.cli.conftest import Cli


def test_add_and_list(cli: Cli) -> None:
    assert cli.ok("role", "list").out == "No roles.\n"
    added = cli.ok("role", "add", "Reader", "--allow", "get /Loans", "--allow", "GET /Customers")
    assert added.out == "Added role 'Reader', allowing GET /Customers, GET /Loans.\n"
    assert cli.ok("role", "add", "Nothing").out == "Added role 'Nothing', allowing nothing.\n"
    assert cli.ok("role", "list").out.splitlines() == [
        "NAME     PERMISSIONS",
        "Nothing  -",
        "Reader   GET /Customers, GET /Loans",
    ]
    assert cli.ok("role", "list", "--json").json() == [
        {"name": "Nothing", "permissions": []},
        {"name": "Reader", "permissions": ["GET /Customers", "GET /Loans"]},
    ]


def test_refusals(cli: Cli) -> None:
    cli.ok("role", "add", "Reader")
    assert "already exists" in cli.refused("role", "add", "Reader").err
    assert "invalid method" in cli.refused("role", "add", "W", "--allow", "FETCH /Loans").err
    assert "invalid endpoint" in cli.refused("role", "add", "W", "--allow", "GET /Loans/5").err


def test_an_endpoint_without_its_slash_is_refused_not_read_as_one(cli: Cli) -> None:
    assert cli.ok("role", "list").out == "No roles.\n"
    refused = cli.refused("role", "add", "W", "--allow", "GET Loans")
    assert refused.err == (
        "tokendesk: error: invalid endpoint 'Loans': an endpoint starts with /, such as /Loans\n"
    )
    assert cli.ok("role", "list").out == "No roles.\n"
