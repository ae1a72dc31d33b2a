"""The rules every caller meets through TokenService, on a real SQLite file and the real keyring."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from desktop.app import Context, open_context
from desktop.domain import tokens
from desktop.domain.errors import InvalidInput, NotFound, RuleViolation, SchemaTooNew
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.database import DB_FILENAME, SCHEMA_VERSION
from desktop.storage.models import Token


@pytest.fixture
def service(context: Context) -> TokenService:
    service = context.service
    service.add_environment("Production")
    service.add_environment("Sandbox", api_enabled=False)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("newbie", "Reader", has_logged_in=False, signed_agreement=True)
    service.add_agent("unsigned", "Reader", has_logged_in=True, signed_agreement=False)
    return service


def snapshot(service: TokenService) -> list[dict[str, object]]:
    return [t.to_json() for t in service.tokens()]


def test_create_stores_only_fingerprint_and_hint(
    service: TokenService, keyring_store: KeyringSecretStore
) -> None:
    issued = service.create_token("Production", "alice", label="  nightly import  ")
    row = Token.get_by_id(issued.token.id)
    assert issued.token.label == "nightly import"
    assert row.fingerprint == tokens.fingerprint(issued.secret)
    assert row.hint == issued.secret[-4:]
    assert keyring_store.get(secret_key(row.uuid, 0)) == issued.secret
    assert service.reveal(issued.token.id) == issued.secret
    assert issued.secret not in repr(issued)


@pytest.mark.parametrize(
    ("environment", "agent", "label", "error", "message"),
    [
        ("Sandbox", "alice", None, RuleViolation, "API access disabled"),
        ("Production", "newbie", None, RuleViolation, "never logged in"),
        ("Production", "unsigned", None, RuleViolation, "usage agreement"),
        ("Nowhere", "alice", None, NotFound, "unknown environment"),
        ("Production", "nobody", None, NotFound, "unknown agent"),
        ("Production", "alice", "x" * 201, InvalidInput, "too long"),
        ("Production", "alice", "tab\there", InvalidInput, "control characters"),
    ],
)
def test_refused_create_changes_nothing(
    service: TokenService,
    environment: str,
    agent: str,
    label: str | None,
    error: type[Exception],
    message: str,
) -> None:
    before = snapshot(service), len(service.audit())
    with pytest.raises(error, match=message):
        service.create_token(environment, agent, label=label)
    assert (snapshot(service), len(service.audit())) == before
    assert Token.select().count() == 0


def test_label_of_exactly_200_characters_is_accepted(service: TokenService) -> None:
    assert service.create_token("Production", "alice", label="y" * 200).token.label == "y" * 200


def test_second_token_for_an_agent_warns_why(service: TokenService) -> None:
    assert service.create_token("Production", "alice").warnings == ()
    second = service.create_token("Production", "alice")
    assert len(second.warnings) == 1
    assert "origin of requests" in second.warnings[0]
    assert len(service.tokens()) == 2


def test_status_change_gives_401_and_back(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    assert service.set_status(issued.token.id, False).status == "Inactive"
    decision = service.verify("Production", issued.secret, "GET", "/Loans")
    assert (decision.status, decision.reason) == (401, "token is inactive")
    service.set_status(issued.token.id, True)
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    actions = [event.action for event in service.audit(issued.token.id)]
    assert actions == ["activate", "deactivate", "create"]


def test_disabling_the_environment_gives_401_for_every_token(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    service.set_api_enabled("Production", False)
    decision = service.verify("Production", issued.secret, "GET", "/Loans")
    assert decision.status == 401 and "disabled" in decision.reason
    index = service.access_index()
    assert index.verify("Production", issued.secret, "GET", "/Loans") == decision


def test_verify_answers_like_the_api(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    secret = issued.secret
    cases = {
        ("Production", secret, "GET", "/Loans(4)"): 200,
        ("production", secret, "GET", "/odata.svc/Customers"): 200,
        ("Production", secret, "POST", "/Loans"): 403,
        ("Production", secret, "GET", "/Payments"): 403,
        ("Production", tokens.generate(), "GET", "/Loans"): 401,
        ("Production", secret[:-1] + ("A" if secret[-1] != "A" else "B"), "GET", "/Loans"): 401,
        ("Production", "", "GET", "/Loans"): 401,
        ("Production", "x" * 1_000_000, "GET", "/Loans"): 401,
        ("Staging", secret, "GET", "/Loans"): 401,
        ("Sandbox", secret, "GET", "/Loans"): 401,
    }
    index = service.access_index()
    for (environment, presented, method, path), status in cases.items():
        by_sql = service.verify(environment, presented, method, path)
        by_index = index.verify(environment, presented, method, path)
        assert by_sql.status == status, (environment, method, path, by_sql)
        assert by_index == by_sql


def test_role_change_applies_to_existing_tokens(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    assert service.verify("Production", issued.secret, "POST", "/Payments").status == 403
    service.add_role("Payments", ["POST /Payments"])
    service.update_agent("alice", role="Payments")
    assert service.verify("Production", issued.secret, "POST", "/Payments").status == 200
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 403
    assert service.token(issued.token.id).role == "Payments"


def test_refresh_keeps_identity_and_replaces_the_secret(
    service: TokenService, keyring_store: KeyringSecretStore
) -> None:
    issued = service.create_token("Production", "alice", label="ci")
    fresh = service.refresh(issued.token.id)
    assert (fresh.token.id, fresh.token.agent, fresh.token.label) == (
        issued.token.id,
        "alice",
        "ci",
    )
    assert fresh.secret != issued.secret
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert service.verify("Production", fresh.secret, "GET", "/Loans").status == 200
    uuid = Token.get_by_id(issued.token.id).uuid
    assert keyring_store.get(secret_key(uuid, 0)) is None
    assert keyring_store.get(secret_key(uuid, 1)) == fresh.secret


def test_refresh_with_grace_keeps_the_old_secret_for_a_while(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", grace="1h")
    fresh = service.refresh(issued.token.id)  # uses the token's configured grace
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    again = service.refresh(issued.token.id, grace="0")  # an explicit 0 overrides it
    for old in (issued.secret, fresh.secret):
        assert service.verify("Production", old, "GET", "/Loans").status == 401
    assert service.verify("Production", again.secret, "GET", "/Loans").status == 200


def test_delete_is_permanent_but_audited(
    service: TokenService, keyring_store: KeyringSecretStore
) -> None:
    issued = service.create_token("Production", "alice")
    uuid = Token.get_by_id(issued.token.id).uuid
    service.delete(issued.token.id)
    assert service.tokens() == []
    assert keyring_store.get(secret_key(uuid, 0)) is None
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert [e.action for e in service.audit(issued.token.id)] == ["delete", "create"]
    with pytest.raises(NotFound):
        service.token(issued.token.id)
    # ids are never reused, so audit events keep pointing at one token
    assert service.create_token("Production", "alice").token.id == issued.token.id + 1


def test_label_and_schedule_changes_are_audited(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    service.set_label(issued.token.id, "renamed")
    view = service.set_rotation(issued.token.id, "2w", grace="1d")
    assert (view.rotation, view.rotation_interval, view.grace) == (
        "2w",
        timedelta(weeks=2),
        timedelta(days=1),
    )
    assert view.next_rotation_at == service.clock.now() + timedelta(weeks=2)
    cleared = service.set_rotation(issued.token.id, None)
    assert cleared.rotation is None and cleared.next_rotation_at is None
    actions = [event.action for event in service.audit(issued.token.id)]
    assert actions == ["schedule", "schedule", "label", "create"]


def test_duplicate_and_bad_names_are_refused(service: TokenService) -> None:
    with pytest.raises(RuleViolation, match="already exists"):
        service.add_environment("production")
    with pytest.raises(InvalidInput, match="empty"):
        service.add_agent("  ", "Reader")
    with pytest.raises(NotFound, match="unknown role"):
        service.add_agent("carol", "Writer")
    with pytest.raises(InvalidInput, match="METHOD /Endpoint"):
        service.add_role("Broken", ["GET"])
    assert [role.name for role in service.roles()] == ["Reader"]


def test_database_newer_than_the_code_is_refused(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(SchemaTooNew, match="newer TokenDesk"):
        open_context(data_dir, need_keyring=False)


def test_database_is_durable_and_versioned(context: Context) -> None:
    database = context.database
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert database.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
