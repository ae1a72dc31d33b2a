"""``tokendesk rotate-due``: only due tokens are rotated; the report as text and as JSON."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from desktop.app import open_context
from desktop.cli.rotate import report_text
from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport
from tests.helpers import cli as shared
from tests.helpers.clock import FakeClock
from tests.helpers.stores import DelegatingStore
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
    assert cli.ok("rotate-due", "--json").json() == {
        "rotated": [],
        "skipped": [],
        "failed": [],
        "deliveries": [],
    }


def test_refuses_without_the_keyring(cli: Cli, seeded: Seed) -> None:
    cli.store.available = False
    assert "unavailable" in cli.refused("rotate-due", status=3).err


class KeyringLostAfter(DelegatingStore):
    """*store*, until the keyring stops answering in the middle of a run: every write after
    the first *writes* fails, as a locked or stopped keyring's does."""

    def __init__(self, store: InMemorySecretStore, writes: int) -> None:
        super().__init__(store)
        self.writes_left = writes

    def put(self, key: str, secret: str) -> None:
        if self.writes_left == 0:
            raise SecretStoreUnavailable(
                f"cannot store a secret: the {self.backend_name} is locked"
            )
        self.writes_left -= 1
        super().put(key, secret)


def test_a_keyring_lost_during_the_run_stops_it_with_status_3(
    cli: Cli, seeded: Seed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status says the keyring could not be used, whether it was down when the run began
    or went down during it; what was rotated before is still reported."""
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=cli.store, clock=past)
    try:
        due = [context.service.create_token("Production", "Bot", rotation="daily") for _ in "abc"]
    finally:
        context.close()
    first, second, third = (issued.token.id for issued in due)

    flaky = shared.Cli(cli.data_dir, capsys, monkeypatch, KeyringLostAfter(cli.store, writes=1))
    result = flaky("rotate-due")
    assert result.code == 3, result.err
    assert result.out.splitlines()[0] == f"rotated token {first}"
    assert result.out.splitlines()[1].startswith(f"failed token {second}: cannot store a secret")
    assert result.out.splitlines()[-1] == "1 rotated, 0 skipped, 1 failed."
    assert str(third) not in result.out  # not tried: it waits for the next run
    (line,) = result.err.splitlines()
    assert line.startswith("tokendesk: error: the keyring could not be used, so the run stopped")
    assert line.endswith("is locked")

    flaky.store = KeyringLostAfter(cli.store, writes=0)
    report = flaky("rotate-due", "--json")
    assert report.code == 3
    assert report.json()["rotated"] == [] and report.json()["stopped"] == "keyring"
    assert [failure["token"] for failure in report.json()["failed"]] == [second]

    # Once the keyring answers, the tokens left rotate and the status is 0 again.
    assert cli.ok("rotate-due").out.endswith("2 rotated, 0 skipped, 0 failed.\n")


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
    """What cron runs rotates by the schedule: ``scheduler (alice@laptop)``, as the window's
    runner."""
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop")
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=cli.store, clock=past)
    try:
        due = context.service.create_token("Production", "Bot", rotation="daily")
    finally:
        context.close()
    cli.ok("rotate-due")
    events = cli.ok("audit", "--token", str(due.token.id), "--json").json()
    assert [(e["actor"], e["action"]) for e in events] == [
        ("scheduler (alice@laptop)", "rotate"),
        ("alice@laptop (command line)", "create"),
    ]


def test_another_admins_due_token_is_left_to_their_tokendesk(cli: Cli, seeded: Seed) -> None:
    """rotate-due on this machine rotates what its user holds: alice@laptop's token, due too,
    is neither rotated, nor skipped, nor failed here, and her own rotate-due rotates it."""
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=cli.store, clock=past)
    try:
        alice = TokenService(context.database, cli.store, clock=past, person="alice@laptop")
        hers = alice.create_token("Production", "Bot", rotation="daily")
        mine = context.service.create_token("Production", "Bot", rotation="daily")
    finally:
        context.close()

    result = cli.ok("rotate-due")
    assert result.out == f"rotated token {mine.token.id}\n1 rotated, 0 skipped, 0 failed.\n"
    assert cli.ok("token", "show", str(hers.token.id), "--json").json()["generation"] == 0
    assert "rotate-failed" not in cli.ok("audit", "--token", str(hers.token.id)).out

    context = open_context(cli.data_dir, store=cli.store)
    try:
        alice = TokenService(context.database, cli.store, person="alice@laptop")
        assert alice.rotate_due().rotated == (hers.token.id,)
    finally:
        context.close()
