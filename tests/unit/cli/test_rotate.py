"""``tokendesk rotate-due``: only due tokens are rotated; the report as text and as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from desktop.app import open_context
from desktop.cli.rotate import report_text
from desktop.services.views import RotationReport
from tests.helpers.clock import FakeClock
from tests.unit.cli.conftest import Cli, Seed


def test_rotates_only_what_is_due(cli: Cli, seeded: Seed) -> None:
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=cli.store, clock=past)
    try:
        due = context.service.create_token("Production", "Bot", rotation="daily")
        later = context.service.create_token("Production", "Bot", rotation="monthly")
    finally:
        context.close()

    result = cli.ok("rotate-due")
    assert result.out == f"rotated token {due.token.id}\n1 rotated, 0 skipped, 0 failed.\n"
    assert due.secret not in result.out
    shown = cli.ok("token", "show", str(due.token.id), "--reveal", "--json").json()
    assert shown["generation"] == 1 and shown["secret"] != due.secret
    assert cli.ok("token", "show", str(later.token.id), "--json").json()["generation"] == 0

    assert cli.ok("rotate-due").out == "No tokens are due for rotation.\n"
    assert cli.ok("rotate-due", "--json").json() == {"rotated": [], "skipped": [], "failed": []}


def test_refuses_without_the_keyring(cli: Cli, seeded: Seed) -> None:
    cli.store.available = False
    assert "unavailable" in cli.refused("rotate-due", status=3).err


def test_report_text_names_every_token_and_counts() -> None:
    report = RotationReport(rotated=(3,), failed=((5, "keyring\nlocked"),), skipped=(4,))
    assert report_text(report).splitlines() == [
        "rotated token 3",
        "skipped token 4 (no longer due, or being changed elsewhere)",
        "failed token 5: keyring locked",
        "1 rotated, 1 skipped, 1 failed.",
    ]
    assert report_text(RotationReport()) == "No tokens are due for rotation."


def test_rotate_due_is_the_scheduler_under_the_users_account(
    cli: Cli, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What cron runs rotates by the schedule: ``scheduler (alice)``, as the window's runner."""
    monkeypatch.setenv("LOGNAME", "alice")
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=cli.store, clock=past)
    try:
        due = context.service.create_token("Production", "Bot", rotation="daily")
    finally:
        context.close()
    cli.ok("rotate-due")
    events = cli.ok("audit", "--token", str(due.token.id), "--json").json()
    assert [(e["actor"], e["action"]) for e in events] == [
        ("scheduler (alice)", "rotate"),
        ("alice (command line)", "create"),
    ]
