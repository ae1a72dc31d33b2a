"""``tokendesk token``: every action's text and JSON, where a secret may appear (create,
refresh, show --reveal) and where it never does; the actions that need the keyring refuse
without one and change nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from desktop.app import open_context
from desktop.domain import tokens
from desktop.domain.clock import isoformat
from desktop.domain.people import person
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock
from tests.helpers.locales import in_locale
from tests.unit.cli.conftest import Cli, Seed

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def secret_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if tokens.PREFIX in line]


def test_create_shows_the_secret_once(cli: Cli, seeded: Seed) -> None:
    cli.ok("agent", "add", "Carol", "--role", "Reader", "--logged-in", "--signed-agreement")
    result = cli.ok("token", "create", "--env", "Production", "--agent", "Carol")
    lines = result.out.splitlines()
    token_id = seeded.token_id + 1
    assert lines[0] == f"Created token {token_id} for agent 'Carol' in 'Production'. Its secret is:"
    (secret,) = secret_lines(result.out)
    assert tokens.is_well_formed(secret)
    assert lines[2] == f"    {secret}"
    assert f"'tokendesk token show {token_id} --reveal'" in lines[4]
    assert secret in [cli.store.get(key) for key in cli.store.keys()]  # noqa: SIM118


def test_create_json_carries_the_secret_and_the_warnings(cli: Cli, seeded: Seed) -> None:
    result = cli("token", "create", "--env", "Production", "--agent", "Bot", "--json")
    assert result.code == 0
    created = result.json()
    assert tokens.is_well_formed(created["secret"]) and created["hint"] == created["secret"][-4:]
    assert len(created["warnings"]) == 1
    assert result.err == f"warning: {created['warnings'][0]}\n"  # also on stderr, one line


def test_list_never_shows_a_secret(cli: Cli, seeded: Seed) -> None:
    cli.ok("token", "rotate", str(seeded.token_id), "--every", "weekly")
    lines = cli.ok("token", "list").out.splitlines()
    assert lines[0].split() == [
        "ID", "ENVIRONMENT", "AGENT", "LABEL", "STATUS", "TOKEN", "ROTATION", "NEXT", "ROTATION",
        "EXPIRES", "LAST", "USED",
    ]  # fmt: skip
    assert lines[1].split()[:4] == [str(seeded.token_id), "Production", "Bot", "nightly"]
    assert tokens.mask(seeded.secret[-4:]) in lines[1]
    assert re.search(f"weekly +{ISO} +never +never$", lines[1])
    assert seeded.secret not in cli.ok("token", "list").out
    listed = cli.ok("token", "list", "--json").json()
    assert [t["id"] for t in listed] == [seeded.token_id] and "secret" not in listed[0]
    assert cli.ok("token", "list", "--env", "Sandbox").out == "No tokens.\n"


def test_show_and_reveal(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    lines = cli.ok("token", "show", tid).out.splitlines()
    assert lines[0] == f"Token {tid}"
    fields = dict(line.strip().split(": ", 1) for line in lines[1:])
    assert list(fields) == [
        "environment",
        "agent",
        "role",
        "label",
        "status",
        "token",
        "rotation",
        "next rotation",
        "grace",
        "expires",
        "last rotated",
        "generation",
        "created",
        "holder",
        "last used",
        "delivery",
    ]
    assert fields["label"].strip() == "nightly import"
    assert fields["holder"].strip() == person()  # the one who created it, on this machine
    assert (fields["rotation"].strip(), fields["next rotation"].strip()) == ("never", "-")
    assert (fields["grace"].strip(), fields["generation"].strip()) == ("0", "0")
    assert fields["expires"].strip() == "never"
    assert fields["last used"].strip() == "never"
    assert re.fullmatch(ISO, fields["created"].strip())
    assert seeded.secret not in "\n".join(lines)

    revealed = cli.ok("token", "show", tid, "--reveal").out.splitlines()
    assert revealed[-1].split() == ["secret:", seeded.secret]
    assert cli.ok("token", "show", tid, "--reveal", "--json").json()["secret"] == seeded.secret
    assert "secret" not in cli.ok("token", "show", tid, "--json").json()


def test_activate_and_deactivate(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    assert cli.ok("token", "deactivate", tid).out == f"Token {tid} is Inactive.\n"
    assert cli.ok("token", "activate", tid, "--json").json()["status"] == "Active"


def test_refresh_with_and_without_grace(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    at_once = cli.ok("token", "refresh", tid)
    assert at_once.out.startswith(
        f"Token {tid} has a new secret; the previous secret is no longer valid. Its secret is:\n"
    )
    (first,) = secret_lines(at_once.out)
    assert first != seeded.secret and tokens.is_well_formed(first)

    graced = cli.ok("token", "refresh", tid, "--grace", "1h")
    assert re.match(
        f"Token {tid} has a new secret; the previous secret stays valid until {ISO}. ", graced.out
    )
    refreshed = cli.ok("token", "refresh", tid, "--json").json()
    assert refreshed["generation"] == 3 and tokens.is_well_formed(refreshed["secret"])
    assert (
        cli.ok("token", "show", tid, "--reveal", "--json").json()["secret"] == (refreshed["secret"])
    )


def test_rotate_on_and_off(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    on = cli.ok("token", "rotate", tid, "--every", "monthly", "--grace", "1h").out
    assert re.fullmatch(
        f"Token {tid} rotates monthly \\(every 30 days\\); next rotation at {ISO}, grace 1h\\.\n",
        on,
    )
    assert cli.ok("token", "rotate", tid, "--every", "12h", "--json").json()["rotation"] == "12h"
    assert cli.ok("token", "rotate", tid, "--off").out == (
        f"Token {tid} is no longer rotated automatically.\n"
    )
    assert (
        "--grace goes with --every"
        in cli.refused("token", "rotate", tid, "--off", "--grace", "1h").err
    )


def test_label_set_and_cleared(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    assert (
        cli.ok("token", "label", tid, "Dashboard").out == f"Token {tid} is labelled 'Dashboard'.\n"
    )
    assert cli.ok("token", "label", tid, "").out == f"Token {tid} has no label.\n"
    assert cli.ok("token", "label", tid, "x", "--json").json()["label"] == "x"
    assert "token secret" in cli.refused("token", "label", tid, f"see {seeded.secret}").err


def test_delete_asks_for_yes_then_removes_the_secret(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    assert "add --yes to confirm" in cli.refused("token", "delete", tid).err
    assert cli.ok("token", "delete", tid, "--yes").out == f"Deleted token {tid} and its secret.\n"
    assert cli.store.keys() == []
    assert "unknown token" in cli.refused("token", "show", tid).err


@pytest.mark.parametrize(
    "argv",
    [
        ["token", "create", "--env", "Production", "--agent", "Bot"],
        ["token", "refresh", "ID"],
        ["token", "show", "ID", "--reveal"],
        ["token", "delete", "ID", "--yes"],
    ],
)
def test_secret_commands_refuse_without_the_keyring(
    cli: Cli, seeded: Seed, argv: list[str]
) -> None:
    cli.store.available = False
    result = cli.refused(*[str(seeded.token_id) if a == "ID" else a for a in argv], status=3)
    assert "unavailable" in result.err


def test_read_only_commands_work_without_the_keyring(cli: Cli, seeded: Seed) -> None:
    cli.store.available = False
    assert [t["id"] for t in cli.ok("token", "list", "--json").json()] == [seeded.token_id]
    assert cli.ok("token", "show", str(seeded.token_id)).out.startswith("Token ")


def test_a_token_id_in_other_digits_selects_no_token(cli: Cli, seeded: Seed) -> None:
    """An Arabic-Indic one is not token 1: show, delete and the audit filter refuse it."""
    one = "\u0661"
    assert seeded.token_id == 1
    for args in (
        ("token", "show", one),
        ("token", "delete", one, "--yes"),
        ("audit", "--token", one),
    ):
        assert f"invalid token id '{one}'" in cli.refused(*args).err
    assert cli.ok("token", "show", "1", "--json").json()["id"] == 1


# ----------------------------------------------------------------- expiry

END_OF_2099_03_31 = datetime(2099, 4, 1).astimezone(UTC)  # the local midnight that ends the day


def test_create_expires_at_the_end_of_the_day_named(cli: Cli, seeded: Seed) -> None:
    result = cli(
        "token", "create", "--env", "Production", "--agent", "Bot", "--expires", "2099-03-31",
        "--json",
    )  # fmt: skip
    assert result.code == 0  # (with a warning: Bot holds a token already)
    created = result.json()
    assert created["expires_at"] == isoformat(END_OF_2099_03_31)
    listed = {t["id"]: t["expires_at"] for t in cli.ok("token", "list", "--json").json()}
    assert listed == {seeded.token_id: None, created["id"]: isoformat(END_OF_2099_03_31)}
    shown = cli.ok("token", "show", str(created["id"])).out
    assert re.search(f"expires: +{isoformat(END_OF_2099_03_31)}$", shown, re.MULTILINE)
    (event,) = [e for e in cli.ok("audit", "--json").json() if e["token"] == created["id"]]
    assert f"expires {isoformat(END_OF_2099_03_31)}" in event["details"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2099-03-31T18:00+02:00", "2099-03-31T16:00:00Z"),
        ("2099-03-31T18:00:30Z", "2099-03-31T18:00:30Z"),
        ("2099-03-31 18:00", isoformat(datetime(2099, 3, 31, 18).astimezone(UTC))),  # local
    ],
)
def test_expire_at_a_date_and_time_and_never(
    cli: Cli, seeded: Seed, when: str, expected: str
) -> None:
    tid = str(seeded.token_id)
    assert (
        cli.ok("token", "expire", tid, "--at", when).out == f"Token {tid} expires at {expected}.\n"
    )
    assert cli.ok("token", "show", tid, "--json").json()["expires_at"] == expected
    assert cli.ok("token", "expire", tid, "--never").out == f"Token {tid} never expires.\n"
    actions = [e["details"] for e in cli.ok("audit", "--json").json() if e["action"] == "expiry"]
    assert actions == ["never expires", f"expires {expected}"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["expire", "{id}", "--at", "2000-01-01"], "is not in the future"),
        (["expire", "{id}", "--at", "31.03.2099"], "invalid date '31.03.2099': write a date"),
        (["expire", "{id}", "--at", "2099-02-30"], "invalid date"),
        (["expire", "{id}", "--at", "2099-03-31T25:00"], "invalid date"),
        (["create", "--env", "Production", "--agent", "Bot", "--expires", "2000-01-01"], "past"),
    ],
    ids=["past", "not-iso", "no-such-day", "no-such-hour", "create-past"],
)
def test_an_expiry_that_is_not_a_future_time_changes_nothing(
    cli: Cli, seeded: Seed, argv: list[str], message: str
) -> None:
    before = cli.ok("token", "list", "--json").json()
    result = cli("token", *[arg.format(id=seeded.token_id) for arg in argv])
    assert result.code != 0 and result.out == ""
    assert message in result.err or (message == "past" and "is not in the future" in result.err)
    assert "Traceback" not in result.err
    assert cli.ok("token", "list", "--json").json() == before


def test_expire_needs_a_time_or_never(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    assert cli("token", "expire", tid).code == 2
    assert cli("token", "expire", tid, "--at", "2099-03-31", "--never").code == 2
    help_text = cli("token", "expire", "--help").out
    assert "midnight that ends it" in help_text and "deactivate it" in help_text


def test_a_secret_given_as_the_expiry_is_never_repeated(cli: Cli, seeded: Seed) -> None:
    result = cli("token", "expire", str(seeded.token_id), "--at", seeded.secret)
    assert result.code != 0 and seeded.secret not in result.err + result.out


def test_an_expired_token_is_refused_and_shown_so(cli: Cli, seeded: Seed) -> None:
    """Expired by the real clock the command line reads (set by a service whose clock was
    earlier): verify answers 401 "token expired", list and show say no next rotation, and
    refresh refuses with what to do."""
    context = open_context(cli.data_dir, store=cli.store, clock=FakeClock())  # 2026-01-05
    try:
        context.service.set_rotation(seeded.token_id, "daily")
        context.service.set_expiry(seeded.token_id, datetime(2026, 1, 6, tzinfo=UTC))
    finally:
        context.close()
    tid = str(seeded.token_id)
    answer = cli("verify", "--env", "Production", "GET", "/Loans", stdin=seeded.secret)
    assert (answer.code, answer.out) == (1, "401 token expired\n")
    (row,) = cli.ok("token", "list").out.splitlines()[1:]
    assert row.split()[-4:] == ["daily", "-", "2026-01-06T00:00:00Z", "never"]
    shown = cli.ok("token", "show", tid).out
    assert re.search(r"next rotation: +-$", shown, re.MULTILINE)
    assert re.search(r"expires: +2026-01-06T00:00:00Z \(expired\)$", shown, re.MULTILINE)
    refused = cli("token", "refresh", tid)
    assert refused.code == 2 and "set a later expiry, or none, first" in refused.err


def test_times_stay_utc_iso_whatever_the_locale(cli: Cli, seeded: Seed) -> None:
    """Scripts parse the command line's times: the window's locale spelling never reaches
    them."""
    tid = str(seeded.token_id)
    with in_locale("de_DE"):
        on = cli.ok("token", "rotate", tid, "--every", "monthly").out
        shown = cli.ok("token", "show", tid).out
    assert re.search(f"next rotation at {ISO}", on)
    assert re.search(f"created: +{ISO}", shown)
    assert not re.search(r"\d\d\.\d\d\.\d\d", on + shown)


def test_a_secret_held_by_another_admin_is_refused_and_their_late_rotation_flagged(
    cli: Cli, seeded: Seed
) -> None:
    """alice@laptop made a daily token on the shared registry (its schedule as her clock set
    it, long past now): this user may not reveal its secret, and is told who holds it and
    that its rotation is overdue, which only her TokenDesk performs."""
    context = open_context(cli.data_dir, store=InMemorySecretStore(), clock=FakeClock())
    try:
        alice = TokenService(
            context.database, context.service.store, clock=FakeClock(), person="alice@laptop"
        )
        issued = alice.create_token("Production", "Bot", rotation="daily")  # due 2026-01-06
    finally:
        context.close()
    tid = str(issued.token.id)
    refused = cli.refused("token", "show", tid, "--reveal")
    assert refused.err == (
        f"tokendesk: error: the secret of token {tid} is in alice@laptop's keyring; refresh "
        "the token to get a new one in yours\n"
    )
    listed = cli("token", "list")
    assert listed.code == 0 and issued.secret not in listed.out + listed.err
    assert listed.err == (
        f"warning: token {tid}: rotation overdue since 2026-01-06T09:00:00Z, held by alice@laptop\n"
    )
    records = {t["id"]: t for t in cli.ok("token", "list", "--json").json()}
    mine = records[seeded.token_id]
    assert (mine["holder"], mine["rotation_overdue"]) == (person(), False)
    assert (records[issued.token.id]["holder"], records[issued.token.id]["rotation_overdue"]) == (
        "alice@laptop",
        True,
    )
    shown = cli.ok("token", "show", tid).out
    assert re.search(r"^  holder: +alice@laptop$", shown, re.MULTILINE)
    assert re.search(r"next rotation: +2026-01-06T09:00:00Z \(overdue\)$", shown, re.MULTILINE)
    assert cli.ok("token", "show", tid, "--json").json()["holder"] == "alice@laptop"
    fresh = cli.ok("token", "refresh", tid, "--json").json()  # into this user's keyring
    assert fresh["holder"] == person()
    assert cli.ok("token", "show", tid, "--reveal", "--json").json()["secret"] == fresh["secret"]
