"""``tokendesk token deliver`` and what follows it: ``token refresh`` delivers the new secret
before it ends and says how in one line, ``rotate-due`` delivers what it rotated, and ``show``
and ``list --json`` name the command. The commands are real shell processes."""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.app import open_context
from desktop.domain.people import person
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock
from tests.unit.cli.conftest import Cli, Seed


@pytest.fixture(autouse=True)
def commands_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands inherit TokenDesk's environment, as hooks do: the shell's tools must be on
    its PATH (the unit suite may run with an empty one)."""
    monkeypatch.setenv("PATH", os.defpath)


def writes_to(path: Path) -> str:
    """A delivery command that writes the secret it reads to *path*, owner-only."""
    return f"umask 077; cat > {shlex.quote(str(path))}"


def test_deliver_sets_shows_and_clears_the_command(cli: Cli, seeded: Seed, tmp_path: Path) -> None:
    tid = str(seeded.token_id)
    command = writes_to(tmp_path / "token")
    set_ = cli.ok("token", "deliver", tid, "--command", command)
    assert set_.out == f"Token {tid} delivers each new secret to: {command}\n"
    shown = cli.ok("token", "show", tid).out
    assert shown.splitlines()[-1].split(None, 1) == ["delivery:", f"{command} (set by {person()})"]
    (listed,) = cli.ok("token", "list", "--json").json()
    assert (listed["delivery_command"], listed["delivery_set_by"]) == (command, person())

    off = cli.ok("token", "deliver", tid, "--off", "--json").json()
    assert off["delivery_command"] is None
    assert cli.ok("token", "show", tid).out.splitlines()[-1].split() == ["delivery:", "-"]
    events = [e["action"] for e in cli.ok("audit", "--token", tid, "--json").json()]
    assert events[:2] == ["deliver-set", "deliver-set"]


def test_a_bad_command_is_refused_and_changes_nothing(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    refused = cli.refused("token", "deliver", tid, "--command", "x" * 1001)
    assert "delivery command is too long" in refused.err
    secret = cli.refused("token", "deliver", tid, "--command", f"echo {seeded.secret}")
    assert seeded.secret not in secret.err + secret.out
    assert cli.ok("token", "show", tid, "--json").json()["delivery_command"] is None
    assert (
        "one of the arguments --command --off is required"
        in cli.refused("token", "deliver", tid).err
    )


def test_refresh_delivers_the_new_secret_and_says_so_in_one_line(
    cli: Cli, seeded: Seed, tmp_path: Path
) -> None:
    tid = str(seeded.token_id)
    target = tmp_path / "token"
    cli.ok("token", "deliver", tid, "--command", writes_to(target))
    result = cli("token", "refresh", tid, "--grace", "1h")
    assert result.code == 0
    secret = cli.ok("token", "show", tid, "--reveal", "--json").json()["secret"]
    assert target.read_text() == secret
    assert target.stat().st_mode & 0o777 == 0o600
    assert result.err == f"delivery: token {tid}: delivered (exit status 0)\n"

    record = cli("token", "refresh", tid, "--json").json()
    assert record["delivery"]["ok"] is True and record["delivery"]["generation"] == 2
    assert target.read_text() == record["secret"]


def test_a_failed_delivery_is_one_line_and_the_refresh_still_succeeds(
    cli: Cli, seeded: Seed
) -> None:
    """Status 0: the new secret is issued (and printed); refreshing again would make another,
    while the failed delivery is tried again within the grace."""
    tid = str(seeded.token_id)
    cli.ok("token", "deliver", tid, "--command", 'read s; echo "refused $s" >&2; exit 4')
    result = cli("token", "refresh", tid, "--grace", "1h")
    assert result.code == 0
    (line,) = result.err.splitlines()
    assert line.startswith(
        f"delivery: token {tid}: delivery failed: exit status 4 (refused •••); next try at "
    )
    secret = cli.ok("token", "show", tid, "--reveal", "--json").json()["secret"]
    assert secret in result.out  # the secret issued, as ever
    assert secret not in result.err
    history = cli.ok("audit", "--token", tid).out
    assert secret not in history and "refused •••" in history
    logs = list(cli.data_dir.rglob("*.log"))
    logged = "".join(path.read_text() for path in logs)
    assert f"token {tid}: delivery failed: exit status 4 (refused •••)" in logged
    for stored in cli.data_dir.rglob("*"):  # the database, its WAL, the log: none holds it
        if stored.is_file():
            assert secret.encode() not in stored.read_bytes(), stored


def test_a_command_set_by_someone_else_is_not_run_by_the_refresh(
    cli: Cli, seeded: Seed, tmp_path: Path
) -> None:
    target = tmp_path / "token"
    context = open_context(cli.data_dir, store=InMemorySecretStore())
    try:  # another admin, on a registry shared with them
        other = TokenService(
            context.database, InMemorySecretStore(), actor="bob@desk", person="bob@desk"
        )
        other.set_delivery(seeded.token_id, writes_to(target))
    finally:
        context.close()
    tid = str(seeded.token_id)
    assert "not run, the holder did not set it" in cli.ok("token", "show", tid).out
    result = cli("token", "refresh", tid, "--grace", "1h")
    assert result.code == 0
    me = person()
    assert result.err == (
        f"delivery: token {tid}: delivery not run: delivery command set by bob@desk, not by the "
        f"holder {me}: not run; set it again from {me}\n"
    )
    assert not target.exists()


def test_rotate_due_delivers_and_a_failed_delivery_is_a_failure(
    cli: Cli, seeded: Seed, tmp_path: Path
) -> None:
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=cli.store, clock=past)
    try:
        good = context.service.create_token("Production", "Bot", rotation="daily", grace="1h")
        bad = context.service.create_token("Production", "Bot", rotation="daily", grace="1h")
        context.service.set_delivery(good.token.id, writes_to(tmp_path / "good"))
        context.service.set_delivery(bad.token.id, "exit 1")
    finally:
        context.close()

    result = cli("rotate-due")
    assert result.code == 1
    lines = result.out.splitlines()
    assert f"delivery: token {good.token.id}: delivered (exit status 0)" in lines
    assert any(
        line.startswith(f"delivery: token {bad.token.id}: delivery failed: exit status 1; ")
        for line in lines
    )
    assert lines[-1] == "2 rotated, 0 skipped, 0 failed."
    secret = cli.ok("token", "show", str(good.token.id), "--reveal", "--json").json()["secret"]
    assert (tmp_path / "good").read_text() == secret

    document = cli("rotate-due", "--json").json()  # nothing due again yet: nothing tried
    assert document["deliveries"] == []
