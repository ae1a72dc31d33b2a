"""``tokendesk audit``: newest first, filtered by token, limited, never a secret."""

from __future__ import annotations

import re
import socket

import pytest

from desktop.services import actors
from tests.unit.cli.conftest import Cli, Seed


def test_table_and_json(cli: Cli, seeded: Seed) -> None:
    lines = cli.ok("audit").out.splitlines()
    assert lines[0].split() == ["AT", "ACTOR", "ACTION", "TOKEN", "DETAILS"]
    actor = re.escape(actors.command_line())
    assert re.match(rf"\d{{4}}-\S+Z +{actor} +create +{seeded.token_id} ", lines[1])
    assert re.match(rf"\S+ +{actor} +env-add +- ", lines[-1])
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


def test_the_command_line_names_the_user_who_ran_it(
    cli: Cli, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop.example.org")
    cli.ok("token", "label", str(seeded.token_id), "renamed")
    cli.ok("env", "add", "Staging")
    events = cli.ok("audit", "--limit", "2", "--json").json()
    assert [(e["actor"], e["action"]) for e in events] == [
        ("alice@laptop (command line)", "env-add"),
        ("alice@laptop (command line)", "label"),
    ]


def test_the_table_shows_a_long_user_name_and_how_it_worked_in_full(
    cli: Cli, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "margaret.hamilton")
    monkeypatch.setattr(socket, "gethostname", lambda: "apollo-guidance")
    cli.ok("env", "add", "Staging")
    newest = cli.ok("audit", "--limit", "1").out.splitlines()[1]
    assert " margaret.hamilton@apollo-guidance (command line)  env-add " in newest
