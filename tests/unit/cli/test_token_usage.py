"""``token list`` says when each token was last used, and ``--unused`` finds the active tokens
nobody has used for 90 days (or as many as asked)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from desktop.app import open_context
from desktop.domain.clock import isoformat
from desktop.storage import repository
from desktop.storage.states import naive
from tests.helpers.clock import FakeClock
from tests.unit.cli.conftest import Cli


@pytest.fixture
def aged(cli: Cli) -> dict[str, int]:
    """Tokens made 200 days ago (the command line reads the real clock): one used an hour ago,
    one used 100 days ago, one never used, one never used and inactive; and one made today."""
    now = datetime.now(UTC)
    clock = FakeClock(now - timedelta(days=200))
    context = open_context(cli.data_dir, store=cli.store, clock=clock)
    try:
        service = context.service
        service.add_environment("Production", api_enabled=True)
        service.add_role("Reader", ["GET /Loans"])
        service.add_agent("Bot", "Reader", has_logged_in=True, signed_agreement=True)
        ids = {
            name: service.create_token("Production", "Bot", label=name).token.id
            for name in ("recent", "stale", "never", "off")
        }
        service.set_status(ids["off"], False)
        clock.set(now)
        ids["new"] = service.create_token("Production", "Bot", label="new").token.id
        database = context.database
        with database.transaction():  # what a forward-auth server writes
            repository.record_uses(
                database,
                {
                    ids["recent"]: (naive(now - timedelta(hours=1)), 1204),
                    ids["stale"]: (naive(now - timedelta(days=100)), 3),
                },
            )
    finally:
        context.close()
    return ids


def test_the_json_list_carries_the_last_use_and_count(cli: Cli, aged: dict[str, int]) -> None:
    listed = {token["label"]: token for token in cli.ok("token", "list", "--json").json()}
    recent = listed["recent"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", recent["last_used_at"])
    used_at = datetime.strptime(recent["last_used_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=59) < datetime.now(UTC) - used_at < timedelta(minutes=61)
    assert recent["use_count"] == 1204
    assert (listed["never"]["last_used_at"], listed["never"]["use_count"]) == (None, 0)
    shown = cli.ok("token", "show", str(aged["recent"]), "--json").json()
    assert shown["last_used_at"] == recent["last_used_at"]


def test_the_list_for_people_has_a_last_used_column(cli: Cli, aged: dict[str, int]) -> None:
    lines = cli.ok("token", "list").out.splitlines()
    assert lines[0].split()[-2:] == ["LAST", "USED"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows[str(aged["never"])].endswith(" never")
    assert re.search(r"\d\d:\d\d:\d\dZ$", rows[str(aged["recent"])])
    shown = cli.ok("token", "show", str(aged["recent"])).out
    assert re.search(r"last used: +\S+Z \(1,204 requests\)$", shown, re.MULTILINE)


def test_unused_lists_the_active_tokens_idle_for_90_days(cli: Cli, aged: dict[str, int]) -> None:
    """Stale (used 100 days ago) and never used (made 200 days ago); not the recent one, not
    the inactive one, not the one made today."""
    unused = cli.ok("token", "list", "--unused", "--json").json()
    assert [token["id"] for token in unused] == [aged["stale"], aged["never"]]
    longer = cli.ok("token", "list", "--unused", "150", "--json").json()
    assert [token["id"] for token in longer] == [aged["never"]]
    assert cli.ok("token", "list", "--unused", "300").out == (
        "No active token has gone unused for 300 days.\n"
    )
    assert [t["id"] for t in cli.ok("token", "list", "--unused", "1", "--json").json()] == [
        aged["stale"],
        aged["never"],
    ]


@pytest.mark.parametrize("days", ["0", "-3", "ninety", "36501", "٣"])
def test_unused_takes_a_number_of_days(cli: Cli, aged: dict[str, int], days: str) -> None:
    refused = cli("token", "list", f"--unused={days}")
    assert refused.code == 2 and "invalid number of days" in refused.err
    assert refused.out == ""


def test_times_in_the_list_are_utc(cli: Cli, aged: dict[str, int]) -> None:
    listed = cli.ok("token", "list", "--json").json()
    for token in listed:
        if token["last_used_at"] is not None:
            parsed = datetime.strptime(token["last_used_at"], "%Y-%m-%dT%H:%M:%SZ")
            assert isoformat(parsed.replace(tzinfo=UTC)) == token["last_used_at"]
