"""The ``tokendesk`` command line against a real SQLite file and the real keyring.

Most cases call ``main(argv)`` in-process (fast); a handful run ``python -m desktop`` as a real
subprocess for exit codes, standard input and the behaviour without a keyring.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop import __version__
from desktop.app import open_context
from desktop.cli import main
from desktop.domain import tokens
from desktop.paths import ENV_DATABASE, database_url
from desktop.secrets.store import KeyringSecretStore
from desktop.services import actors
from desktop.services.tokens import secret_key
from desktop.storage.database import DB_FILENAME, open_registry
from tests.helpers.cli import Cli, Seed, seed, snapshot
from tests.helpers.clock import FakeClock
from tests.helpers.postgres import PostgresServer

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TOKEN_KEYS = {
    "id",
    "environment",
    "agent",
    "label",
    "role",
    "status",
    "rotation",
    "next_rotation_at",
    "hint",
}


# ---------------------------------------------------------------------------- helpers


def token_row(data_dir: Path, token_id: int) -> tuple[str, int] | None:
    """The token's uuid and generation as the test's registry holds them."""
    database = open_registry(database_url() or data_dir / DB_FILENAME)
    try:
        row = database.first("SELECT uuid, generation FROM token WHERE id = ?", (token_id,))
    finally:
        database.close()
    return None if row is None else (str(row[0]), int(row[1]))


@pytest.fixture
def cli(
    data_dir: Path,
    keyring_store: KeyringSecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    return Cli(data_dir, capsys, monkeypatch)


@pytest.fixture
def seeded(cli: Cli, keyring_store: KeyringSecretStore) -> Seed:
    return seed(cli.data_dir, keyring_store)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def shared_seed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    keyring_store: KeyringSecretStore,
) -> Iterator[tuple[Path, Seed, str | None]]:
    """One seeded data dir (and its registry, on each engine) for the tests that must leave it
    unchanged."""
    path = tmp_path_factory.mktemp("shared") / "data"
    if request.param == "sqlite":
        yield path, seed(path, keyring_store), None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.new_database()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(ENV_DATABASE, server.url(name))
        seeded = seed(path, keyring_store)
    yield path, seeded, server.url(name)
    server.drop(name)


@pytest.fixture
def shared(
    shared_seed: tuple[Path, Seed, str | None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Cli, Seed]]:
    path, seeded, url = shared_seed
    if url is not None:
        monkeypatch.setenv(ENV_DATABASE, url)
    before = snapshot(path)
    yield Cli(path, capsys, monkeypatch), seeded
    assert snapshot(path) == before, "a read-only or refused command changed the database"


def run_process(
    data_dir: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop", "--data-dir", str(data_dir), *args],
        input=None if stdin is None else stdin.decode("latin-1"),
        capture_output=True,
        text=True,
        encoding="latin-1",
        env=env,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- environments, roles, agents


def test_env_role_agent_commands(cli: Cli) -> None:
    enabled = cli.ok("env", "add", "Production", "--api-enabled").out
    assert "Added environment 'Production' (API access enabled)" in enabled
    assert cli.ok("env", "add", "Sandbox", "--json").json() == {
        "name": "Sandbox",
        "api_enabled": False,
        "tokens": 0,
    }
    assert cli.ok("env", "list", "--json").json() == [
        {"name": "Production", "api_enabled": True, "tokens": 0},
        {"name": "Sandbox", "api_enabled": False, "tokens": 0},
    ]
    assert cli.ok("env", "disable", "Production", "--json").json()["api_enabled"] is False
    assert "API access enabled" in cli.ok("env", "enable", "Production").out
    table = cli.ok("env", "list").out.splitlines()
    assert table[0].split() == ["NAME", "API", "ACCESS", "TOKENS"]
    assert table[1].split() == ["Production", "enabled", "0"]
    assert table[2].split() == ["Sandbox", "disabled", "0"]

    cli.ok("role", "add", "Reader", "--allow", "GET /Loans", "--allow", "get /Customers")
    assert cli.ok("role", "add", "Nothing", "--json").json() == {
        "name": "Nothing",
        "permissions": [],
    }
    assert cli.ok("role", "list", "--json").json() == [
        {"name": "Nothing", "permissions": []},
        {"name": "Reader", "permissions": ["GET /Customers", "GET /Loans"]},
    ]
    assert "GET /Customers, GET /Loans" in cli.ok("role", "list").out

    added = cli.ok("agent", "add", "Bot", "--role", "Reader", "--logged-in", "--signed-agreement")
    assert "may be given tokens" in added.out
    newbie = cli.ok("agent", "add", "Newbie", "--role", "Reader", "--json").json()
    assert newbie == {
        "name": "Newbie",
        "role": "Reader",
        "has_logged_in": False,
        "signed_agreement": False,
        "disabled": False,
        "eligible": False,
        "tokens": 0,
    }
    updated = cli.ok(
        "agent",
        "update",
        "Newbie",
        "--logged-in",
        "--signed-agreement",
        "--role",
        "Nothing",
        "--json",
    ).json()
    assert (updated["eligible"], updated["role"]) == (True, "Nothing")
    assert (
        cli.ok("agent", "update", "Newbie", "--not-logged-in", "--json").json()["has_logged_in"]
        is False
    )
    assert (
        cli.ok("agent", "update", "Newbie", "--unsigned-agreement", "--json").json()[
            "signed_agreement"
        ]
        is False
    )
    agents = cli.ok("agent", "list", "--json").json()
    assert [(a["name"], a["eligible"]) for a in agents] == [("Bot", True), ("Newbie", False)]
    assert cli.ok("agent", "list").out.splitlines()[0].split()[:2] == ["NAME", "ROLE"]


def test_empty_lists(cli: Cli) -> None:
    assert cli.ok("token", "list", "--json").json() == []
    assert cli.ok("env", "list", "--json").json() == []
    assert cli.ok("token", "list").out.strip() == "No tokens."
    assert cli.ok("audit", "--json").json() == []


# ---------------------------------------------------------------------------- tokens


def test_token_create_json_shape_and_list(cli: Cli, seeded: Seed) -> None:
    cli.ok("agent", "add", "Carol", "--role", "Reader", "--logged-in", "--signed-agreement")
    result = cli.ok(
        "token",
        "create",
        "--env",
        "Production",
        "--agent",
        "Carol",
        "--label",
        "Dashboard",
        "--rotate",
        "monthly",
        "--grace",
        "1h",
        "--json",
    )
    assert result.err == ""
    created = result.json()
    assert TOKEN_KEYS | {"secret", "warnings"} <= created.keys()
    assert created["warnings"] == []
    assert (created["environment"], created["agent"], created["label"], created["role"]) == (
        "Production",
        "Carol",
        "Dashboard",
        "Reader",
    )
    assert created["status"] == "Active"
    assert created["rotation"] == "monthly"
    assert ISO_UTC.match(created["next_rotation_at"])
    assert ISO_UTC.match(created["created_at"])
    secret = created["secret"]
    assert tokens.is_well_formed(secret)
    assert created["hint"] == secret[-4:]

    listed = cli.ok("token", "list", "--json").json()
    assert [t["id"] for t in listed] == [seeded.token_id, created["id"]]
    assert all(t.keys() >= TOKEN_KEYS and "secret" not in t for t in listed)
    assert listed[0]["rotation"] is None and listed[0]["next_rotation_at"] is None
    assert [t["id"] for t in cli.ok("token", "list", "--env", "Sandbox", "--json").json()] == []

    table = cli.ok("token", "list").out
    assert secret not in table and seeded.secret not in table
    assert tokens.mask(secret[-4:]) in table
    assert "Dashboard" in table and "monthly" in table

    shown = cli.ok("token", "show", str(created["id"]), "--json").json()
    assert "secret" not in shown and shown["id"] == created["id"]
    text = cli.ok("token", "show", str(created["id"])).out
    assert secret not in text and "every 30 days" in text
    revealed = cli.ok("token", "show", str(created["id"]), "--reveal", "--json").json()
    assert revealed["secret"] == secret
    assert secret in cli.ok("token", "show", str(created["id"]), "--reveal").out

    # Only the fingerprint and the hint reach the database files.
    for path in cli.data_dir.iterdir():
        assert secret.encode() not in path.read_bytes(), path.name


def test_token_create_text_shows_the_secret_and_where_it_stays(cli: Cli, seeded: Seed) -> None:
    cli.ok("agent", "add", "Carol", "--role", "Reader", "--logged-in", "--signed-agreement")
    result = cli.ok("token", "create", "--env", "Production", "--agent", "Carol")
    secret_lines = [line.strip() for line in result.out.splitlines() if "tdk_" in line]
    assert len(secret_lines) == 1 and tokens.is_well_formed(secret_lines[0])
    assert "stays in this desktop user's keyring" in result.out
    assert "will not be shown again" not in result.out
    assert "--reveal" in result.out
    assert result.err == ""


def test_second_token_for_an_agent_warns_and_succeeds(cli: Cli, seeded: Seed) -> None:
    result = cli("token", "create", "--env", "Production", "--agent", "Bot", "--json")
    assert result.code == 0
    warnings = [line for line in result.err.splitlines() if line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: ")
    assert "origin of requests" in warnings[0]
    created = result.json()
    assert len(created["warnings"]) == 1 and "origin of requests" in created["warnings"][0]
    assert len(cli.ok("token", "list", "--json").json()) == 2

    text = cli("token", "create", "--env", "Production", "--agent", "Bot")
    assert text.code == 0 and "warning: " in text.err and "tdk_" in text.out


def test_status_label_and_rotation(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    assert cli.ok("token", "deactivate", tid, "--json").json()["status"] == "Inactive"
    assert "Inactive" in cli.ok("token", "list").out
    assert "is Active" in cli.ok("token", "activate", tid).out

    assert cli.ok("token", "label", tid, "  weekly export ", "--json").json()["label"] == (
        "weekly export"
    )
    assert "no label" in cli.ok("token", "label", tid, "").out
    assert cli.ok("token", "show", tid, "--json").json()["label"] == ""

    every = cli.ok("token", "rotate", tid, "--every", "2w", "--grace", "12h", "--json").json()
    assert every["rotation"] == "2w"
    assert every["grace_seconds"] == 12 * 3600
    due = datetime.fromisoformat(every["next_rotation_at"])
    assert timedelta(days=13) < due - datetime.now(UTC) <= timedelta(days=14)
    assert "every 2 weeks" in cli.ok("token", "rotate", tid, "--every", "2w").out
    off = cli.ok("token", "rotate", tid, "--off", "--json").json()
    assert (off["rotation"], off["next_rotation_at"]) == (None, None)
    assert "no longer rotated" in cli.ok("token", "rotate", tid, "--off").out

    actions = [event["action"] for event in cli.ok("audit", "--token", tid, "--json").json()]
    assert actions[-1] == "create"
    assert {"activate", "deactivate", "label", "schedule"} <= set(actions)


def test_refresh_keeps_the_token_and_replaces_the_secret(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    before = cli.ok("token", "show", tid, "--json").json()
    refreshed = cli.ok("token", "refresh", tid, "--grace", "1h", "--json").json()
    new_secret = refreshed["secret"]
    assert tokens.is_well_formed(new_secret) and new_secret != seeded.secret
    for key in ("id", "agent", "label", "environment", "role", "status"):
        assert refreshed[key] == before[key]
    assert refreshed["generation"] == before["generation"] + 1
    assert ISO_UTC.match(refreshed["grace_until"])
    # --grace 1h: the previous secret still works for now, and so does the new one.
    assert cli.verify(seeded.secret).out.startswith("200 ")
    assert cli.verify(new_secret).out.startswith("200 ")
    assert cli.ok("token", "show", tid, "--reveal", "--json").json()["secret"] == new_secret

    # --grace 0: the previous secret is refused at once.
    text = cli.ok("token", "refresh", tid, "--grace", "0")
    newest = next(line.strip() for line in text.out.splitlines() if "tdk_" in line)
    assert "no longer valid" in text.out and "--reveal" in text.out
    result = cli.verify(new_secret)
    assert (result.code, result.out.split()[0]) == (1, "401")
    assert cli.verify(newest).code == 0
    # The secret from two refreshes ago keeps the hour it was promised.
    assert cli.verify(seeded.secret).out.startswith("200 ")
    shown = cli.ok("token", "show", tid).out
    line = next(line for line in shown.splitlines() if "replaced secrets valid until:" in line)
    assert line.split()[-1] == refreshed["grace_until"]  # the last promise to end


def test_delete_removes_the_token_and_its_keyring_entry(
    cli: Cli, seeded: Seed, keyring_store: KeyringSecretStore
) -> None:
    located = token_row(cli.data_dir, seeded.token_id)
    assert located is not None
    key = secret_key(*located)
    assert keyring_store.get(key) == seeded.secret

    assert "Deleted token" in cli.ok("token", "delete", str(seeded.token_id), "--yes").out
    assert token_row(cli.data_dir, seeded.token_id) is None
    assert keyring_store.get(key) is None
    assert cli.ok("token", "list", "--json").json() == []
    cli.refused("token", "show", str(seeded.token_id))
    assert cli.verify(seeded.secret).out.startswith("401 ")
    events = cli.ok("audit", "--token", str(seeded.token_id), "--json").json()
    assert events[0]["action"] == "delete"  # the audit trail outlives the token


def test_rotate_due_rotates_only_due_tokens(
    cli: Cli, seeded: Seed, keyring_store: KeyringSecretStore
) -> None:
    # Tokens created three days ago (by the clock): "daily" is overdue, "monthly" is not.
    past = FakeClock(datetime.now(UTC) - timedelta(days=3))
    context = open_context(cli.data_dir, store=keyring_store, clock=past, database=database_url())
    try:
        due = context.service.create_token("Production", "Bot", rotation="daily", grace="1h")
        later = context.service.create_token("Production", "Bot", rotation="monthly")
    finally:
        context.close()

    report = cli.ok("rotate-due", "--json").json()
    assert report == {"rotated": [due.token.id], "skipped": [], "failed": [], "deliveries": []}
    event = cli.ok("audit", "--token", str(due.token.id), "--limit", "1", "--json").json()
    assert len(event) == 1
    assert (event[0]["action"], event[0]["actor"]) == ("rotate", actors.scheduler())
    assert ISO_UTC.match(event[0]["at"])
    assert event[0]["token"] == due.token.id

    rotated = cli.ok("token", "show", str(due.token.id), "--reveal", "--json").json()
    assert rotated["secret"] != due.secret
    assert datetime.fromisoformat(rotated["next_rotation_at"]) > datetime.now(UTC)
    assert cli.verify(due.secret).code == 0  # within its 1h grace
    untouched = cli.ok("token", "show", str(later.token.id), "--json").json()
    assert untouched["generation"] == 0

    assert cli.ok("rotate-due").out.strip() == "No tokens are due for rotation."
    assert cli.ok("rotate-due", "--json").json() == {
        "rotated": [],
        "skipped": [],
        "failed": [],
        "deliveries": [],
    }


def test_rotate_due_text_output(cli: Cli, seeded: Seed, keyring_store: KeyringSecretStore) -> None:
    past = FakeClock(datetime.now(UTC) - timedelta(days=2))
    context = open_context(cli.data_dir, store=keyring_store, clock=past, database=database_url())
    try:
        due = context.service.create_token("Production", "Bot", rotation="daily")
    finally:
        context.close()
    out = cli.ok("rotate-due").out
    assert f"rotated token {due.token.id}" in out
    assert "1 rotated, 0 skipped, 0 failed." in out
    assert due.secret not in out


def test_audit(cli: Cli, seeded: Seed) -> None:
    events = cli.ok("audit", "--json").json()
    assert isinstance(events, list) and events
    for event in events:
        assert set(event) == {"at", "actor", "action", "token", "details"}
        assert ISO_UTC.match(event["at"])
        assert event["actor"] == actors.command_line()
    assert [e["action"] for e in events][:1] == ["create"]  # newest first
    assert {"env-add", "role-add", "agent-add"} <= {e["action"] for e in events}
    only = cli.ok("audit", "--token", str(seeded.token_id), "--json").json()
    assert [e["token"] for e in only] == [seeded.token_id]
    assert len(cli.ok("audit", "--limit", "2", "--json").json()) == 2
    table = cli.ok("audit").out.splitlines()
    assert table[0].split() == ["AT", "ACTOR", "ACTION", "TOKEN", "DETAILS"]
    assert seeded.secret not in cli.ok("audit").out


def test_data_dir_from_environment(
    tmp_path: Path,
    keyring_store: KeyringSecretStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "from-env"
    monkeypatch.setenv("TOKENDESK_DATA_DIR", str(target))
    assert main(["env", "add", "Production"]) == 0
    assert (target / DB_FILENAME).exists()
    capsys.readouterr()
    assert main(["env", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Production"


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "rotate-due" in text and "verify" in text
    assert main(["token", "create", "--help"]) == 0
    assert "INTERVAL" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tokendesk {__version__}"


# ---------------------------------------------------------------------------- verify


def test_verify_answers(shared: tuple[Cli, Seed]) -> None:
    cli, seeded = shared
    allowed = cli.verify(seeded.secret + "\n")
    assert (allowed.code, allowed.out) == (0, "200 allowed\n")
    assert cli.verify(seeded.secret, path="/odata.svc/loans/7").code == 0
    as_json = cli(
        "verify",
        "--env",
        "Production",
        "get",
        "/Customers",
        "--json",
        stdin=f"  {seeded.secret}  \n",
    )
    assert as_json.code == 0 and as_json.json() == {"status": 200, "reason": "allowed"}

    forbidden = cli.verify(seeded.secret, method="POST")
    assert forbidden.code == 1 and forbidden.out.startswith("403 ")
    assert cli.verify(seeded.secret, path="/Payments").out.startswith("403 ")
    denied = cli("verify", "--env", "Production", "DELETE", "/Loans", "--json", stdin=seeded.secret)
    assert denied.code == 1 and denied.json()["status"] == 403


@pytest.mark.parametrize(
    ("presented", "env", "reason"),
    [
        pytest.param(tokens.generate(), "Production", "unknown token", id="unknown"),
        pytest.param("tdk_not-a-token", "Production", "malformed", id="malformed"),
        pytest.param("SECRET-TYPO", "Production", "malformed", id="bad-checksum"),
        pytest.param("", "Production", "no token", id="empty"),
        pytest.param("\n  \n", "Production", "no token", id="blank"),
        pytest.param("a" * 1_000_000, "Production", "too long", id="oversized"),
        pytest.param(b"\xff\xfe\x00binary", "Production", "malformed", id="binary"),
        pytest.param("SECRET", "Nowhere", "unknown environment", id="unknown-env"),
        pytest.param("SECRET", "Sandbox", "unknown token", id="other-env"),
    ],
)
def test_verify_refuses_with_401(
    shared: tuple[Cli, Seed], presented: str | bytes, env: str, reason: str
) -> None:
    cli, seeded = shared
    if presented == "SECRET-TYPO":  # one character off: the checksum catches it offline
        presented = seeded.secret[:-1] + ("x" if seeded.secret[-1] != "x" else "y")
    elif isinstance(presented, str):
        presented = presented.replace("SECRET", seeded.secret)
    result = cli.verify(presented, env=env)
    assert result.code == 1
    assert result.out.startswith("401 ") and reason in result.out
    assert len(result.out.splitlines()) == 1
    assert result.err == ""
    assert seeded.secret not in result.out


def test_verify_inactive_and_disabled_environment(cli: Cli, seeded: Seed) -> None:
    tid = str(seeded.token_id)
    cli.ok("token", "deactivate", tid)
    result = cli.verify(seeded.secret)
    assert (result.code, result.out) == (1, "401 token is inactive\n")
    cli.ok("token", "activate", tid)
    assert cli.verify(seeded.secret).code == 0

    cli.ok("env", "disable", "Production")
    disabled = cli("verify", "--env", "Production", "GET", "/Loans", "--json", stdin=seeded.secret)
    assert disabled.code == 1
    assert disabled.json() == {
        "status": 401,
        "reason": "API access is disabled for this environment",
    }
    cli.ok("env", "enable", "Production")
    assert cli.verify(seeded.secret).code == 0


# ---------------------------------------------------------------------------- refusals


REFUSALS = [
    (["token", "create", "--env", "Production", "--agent", "Newbie"], "never logged in"),
    (["token", "create", "--env", "Sandbox", "--agent", "Bot"], "API access disabled"),
    (["token", "create", "--env", "Nowhere", "--agent", "Bot"], "unknown environment"),
    (["token", "create", "--env", "Production", "--agent", "Nobody"], "unknown agent"),
    (
        ["token", "create", "--env", "Production", "--agent", "Bot", "--rotate", "5x"],
        "invalid interval",
    ),
    (
        ["token", "create", "--env", "Production", "--agent", "Bot", "--rotate", "0d"],
        "invalid interval",
    ),
    (
        ["token", "create", "--env", "Production", "--agent", "Bot", "--grace", "forever"],
        "invalid interval",
    ),
    (
        ["token", "create", "--env", "Production", "--agent", "Bot", "--label", "a\nb"],
        "control characters",
    ),
    (
        ["token", "create", "--env", "Production", "--agent", "Bot", "--label", "x" * 201],
        "too long",
    ),
    (["token", "create", "--env", "Production"], "required"),
    (["token", "list", "--env", "Nowhere"], "unknown environment"),
    (["token", "show", "999"], "unknown token 999"),
    (["token", "show", "999", "--reveal"], "unknown token 999"),
    (["token", "show", "abc"], "invalid token id"),
    (["token", "show", "0"], "invalid token id"),
    (["token", "show", "99999999999999999999"], "invalid token id"),
    (["token", "activate", "999"], "unknown token"),
    (["token", "deactivate", "999"], "unknown token"),
    (["token", "refresh", "999"], "unknown token"),
    (["token", "refresh", "ID", "--grace", "1y"], "invalid interval"),
    (["token", "rotate", "999", "--every", "daily"], "unknown token"),
    (["token", "rotate", "ID", "--every", "0h"], "invalid interval"),
    (["token", "rotate", "ID", "--every", "fortnightly"], "invalid interval"),
    (["token", "rotate", "ID", "--every", "9999w"], "invalid interval"),
    (["token", "rotate", "ID", "--every", "daily", "--grace", "soon"], "invalid interval"),
    (["token", "rotate", "ID", "--off", "--grace", "1h"], "--grace"),
    (["token", "rotate", "ID"], "required"),
    (["token", "rotate", "ID", "--every", "daily", "--off"], "not allowed"),
    (["token", "label", "999", "x"], "unknown token"),
    (["token", "label", "ID", "bell\x07"], "control characters"),
    (["token", "label", "ID", "x" * 201], "too long"),
    (["token", "label", "ID", "zero\u200bwidth"], "control characters"),
    (["token", "delete", "ID"], "--yes"),
    (["token", "delete", "999", "--yes"], "unknown token"),
    (["env", "add", "Production"], "already exists"),
    (["env", "add", "PRODUCTION"], "an environment named 'Production' already exists"),
    (["env", "add", "Prod\u00a0uction"], "U+00A0 NO-BREAK SPACE"),
    (["env", "add", "Prod  uction"], "two spaces in a row"),
    (["token", "show", "\u0661"], "invalid token id"),
    (["role", "add", "Writer", "--allow", "GET Loans"], "an endpoint starts with /"),
    (["env", "add", "   "], "must not be empty"),
    (["env", "enable", "Nowhere"], "unknown environment"),
    (["env", "disable", "Nowhere"], "unknown environment"),
    (["role", "add", "Writer", "--allow", "FETCH /Loans"], "invalid method"),
    (["role", "add", "Writer", "--allow", "GET"], "invalid permission"),
    (["role", "add", "Writer", "--allow", "GET /Loans/5"], "invalid endpoint"),
    (["role", "add", "Reader"], "already exists"),
    (["agent", "add", "Carol", "--role", "Nope"], "unknown role"),
    (["agent", "add", "Carol"], "required"),
    (["agent", "add", "Bot", "--role", "Reader"], "already exists"),
    (["agent", "update", "Nobody", "--logged-in"], "unknown agent"),
    (["agent", "update", "Bot", "--role", "Nope"], "unknown role"),
    (["agent", "update", "Bot", "--logged-in", "--not-logged-in"], "not allowed"),
    (["verify", "--env", "Production", "FETCH", "/Loans"], "invalid method"),
    (["audit", "--token", "x"], "invalid token id"),
    (["audit", "--limit", "0"], "invalid count"),
    (["bogus"], "invalid choice"),
    (["token"], "required"),
    (["--demo", "token", "list"], "no command"),
]


@pytest.mark.parametrize(("argv", "message"), REFUSALS, ids=[" ".join(a)[:50] for a, _ in REFUSALS])
def test_refusals_exit_2_with_one_line_and_change_nothing(
    shared: tuple[Cli, Seed], argv: list[str], message: str
) -> None:
    cli, seeded = shared
    argv = [str(seeded.token_id) if arg == "ID" else arg for arg in argv]
    result = cli.refused(*argv)
    assert message.lower() in result.err.lower()
    assert seeded.secret not in result.err


# ---------------------------------------------------------------------------- real processes


def test_process_create_and_verify_exit_codes(cli: Cli, seeded: Seed) -> None:
    env = dict(os.environ, TOKENDESK_LOG_LEVEL="DEBUG")
    created = run_process(
        cli.data_dir, "token", "create", "--env", "Production", "--agent", "Bot", "--json", env=env
    )
    assert created.returncode == 0, created.stderr
    secret = json.loads(created.stdout)["secret"]
    assert secret not in created.stderr  # not even at DEBUG level
    assert "warning: " in created.stderr

    allowed = run_process(
        cli.data_dir, "verify", "--env", "Production", "GET", "/Loans", stdin=f"{secret}\n".encode()
    )
    assert (allowed.returncode, allowed.stdout) == (0, "200 allowed\n")
    forbidden = run_process(
        cli.data_dir, "verify", "--env", "Production", "PUT", "/Loans", stdin=secret.encode()
    )
    assert forbidden.returncode == 1 and forbidden.stdout.startswith("403 ")
    oversized = run_process(
        cli.data_dir, "verify", "--env", "Production", "GET", "/Loans", stdin=b"x" * 1_000_000
    )
    assert oversized.returncode == 1 and oversized.stdout.startswith("401 ")
    assert oversized.stderr == ""


def test_process_usage_error_is_one_line(tmp_path: Path) -> None:
    result = run_process(tmp_path, "token", "show", "twelve")
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("tokendesk: error: ")
    assert not (tmp_path / DB_FILENAME).exists()


def test_process_without_keyring(cli: Cli, seeded: Seed, tmp_path: Path) -> None:
    no_keyring = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
    before = snapshot(cli.data_dir)

    for argv in (
        ["token", "create", "--env", "Production", "--agent", "Bot"],
        ["token", "refresh", str(seeded.token_id)],
        ["token", "show", str(seeded.token_id), "--reveal"],
        ["token", "delete", str(seeded.token_id), "--yes"],
        ["rotate-due"],
        ["--demo"],
    ):
        result = run_process(cli.data_dir, *argv, env=no_keyring)
        assert result.returncode == 3, (argv, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("tokendesk: error: ")
        assert "keyring" in lines[0] and "SecretService" in lines[0]
        assert "Traceback" not in result.stderr

    listed = run_process(cli.data_dir, "token", "list", "--json", env=no_keyring)
    assert listed.returncode == 0, listed.stderr
    assert [t["id"] for t in json.loads(listed.stdout)] == [seeded.token_id]
    verified = run_process(
        cli.data_dir,
        "verify",
        "--env",
        "Production",
        "GET",
        "/Loans",
        stdin=seeded.secret.encode(),
        env=no_keyring,
    )
    assert (verified.returncode, verified.stdout) == (0, "200 allowed\n")
    shown = run_process(cli.data_dir, "token", "show", str(seeded.token_id), env=no_keyring)
    assert shown.returncode == 0 and seeded.secret not in shown.stdout

    assert snapshot(cli.data_dir) == before
    assert (
        cli.ok("token", "show", str(seeded.token_id), "--reveal", "--json").json()["secret"]
        == seeded.secret
    )
