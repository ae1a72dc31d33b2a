"""``tokendesk audit``: newest first, filtered by token, limited, never a secret."""

from __future__ import annotations

import re

from tests.unit.cli.conftest import Cli, Seed


def test_table_and_json(cli: Cli, seeded: Seed) -> None:
    lines = cli.ok("audit").out.splitlines()
    assert lines[0].split() == ["AT", "ACTOR", "ACTION", "TOKEN", "DETAILS"]
    assert re.match(rf"\d{{4}}-\S+Z +\S+ +create +{seeded.token_id} ", lines[1])
    assert lines[-1].split()[2:4] == ["env-add", "-"]
    assert seeded.secret not in "\n".join(lines)
    events = cli.ok("audit", "--json").json()
    assert events[0]["action"] == "create"
    assert len(events) == len(lines) - 1


def test_filter_and_limit(cli: Cli, seeded: Seed) -> None:
    cli.ok("token", "label", str(seeded.token_id), "renamed")
    only = cli.ok("audit", "--token", str(seeded.token_id), "--json").json()
    assert {e["token"] for e in only} == {seeded.token_id}
    assert [e["action"] for e in cli.ok("audit", "--limit", "1", "--json").json()] == ["label"]
    assert "invalid count" in cli.refused("audit", "--limit", "0").err


def test_an_empty_log(cli: Cli) -> None:
    assert cli.ok("audit").out == "No audit events.\n"
