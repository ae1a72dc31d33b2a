"""The journal's ids are never reused: a process that was overtaken by recovery must never
mistake another change's intent for its own (SQLite hands a freed plain rowid out again)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.app import Context
from desktop.domain.errors import Conflict
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.database import DB_FILENAME, SCHEMA_VERSION, open_database
from desktop.storage.models import DELETING, Intent, Token
from tests.helpers.stores import DeleteDown
from tests.integration.test_recovery_overtakes import RecoveryDuringPut, dead_pid


def test_overtaken_create_does_not_take_a_later_intent_for_its_own(
    context: Context, keyring_store: KeyringSecretStore
) -> None:
    handle = context.database.handle
    service = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    other = service.create_token("Production", "alice").token.id
    other_uuid = Token.select().where(Token.id == other).get(handle).uuid

    def another_process() -> None:
        # It takes the slow create for abandoned and undoes it, then starts deleting the
        # other token while the keyring refuses deletes: that change stays journaled.
        Intent.update(owner_pid=dead_pid()).bind(handle).execute()
        TokenService(context.database, keyring_store, clock=service.clock).reconcile()
        # (the delete itself stands: the token is gone from every list, the entry waits)
        TokenService(context.database, DeleteDown(keyring_store), clock=service.clock).delete(other)

    slow = TokenService(
        context.database,
        RecoveryDuringPut(keyring_store, "before", another_process),
        clock=service.clock,
    )
    with pytest.raises(Conflict, match="undone by recovery"):
        slow.create_token("Production", "alice")
    # The other change is untouched: still journaled, so recovery can finish it.
    assert [(i.token_id, i.kind) for i in Intent.select().bind(handle)] == [(other, "delete")]
    assert Token.select().where(Token.id == other).get(handle).phase == DELETING
    assert [e.action for e in service.audit()] == [
        "delete",
        "create",
        "agent-add",
        "role-add",
        "env-add",
    ]
    report = service.reconcile()
    assert report.rolled_forward == (other,)
    assert Token.select().bind(handle).count() == 0 and Intent.select().bind(handle).count() == 0
    assert keyring_store.get(secret_key(other_uuid, 0)) is None


@pytest.mark.sqlite_only  # SQLite's schema history
def test_version_1_database_gets_never_reused_intent_ids(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    open_database(path).close()
    # Make it what TokenDesk 1 wrote: the journal without AUTOINCREMENT, one intent in it.
    connection = sqlite3.connect(path)
    with connection:
        (ddl,) = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'intent'"
        ).fetchone()
        connection.execute("DROP TABLE intent")
        connection.execute(ddl.replace("AUTOINCREMENT", ""))
        connection.execute('CREATE UNIQUE INDEX "intent_token_id" ON "intent" ("token_id")')
        connection.execute(
            "INSERT INTO environment (name, name_key, api_enabled, created_at) "
            "VALUES ('P', 'p', 1, '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO role (name, name_key, created_at) VALUES ('R', 'r', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO agent (name, name_key, role_id, has_logged_in, signed_agreement, "
            "created_at) VALUES ('a', 'a', 1, 1, 1, '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO token (uuid, environment_id, agent_id, label, status, phase, generation,"
            " fingerprint, hint, grace_seconds, created_at, updated_at) VALUES ('u', 1, 1, '',"
            " 'Active', 'deleting', 0, 'f', 'h', 0, '2026-01-01', '2026-01-01')"
        )
        connection.execute(
            "INSERT INTO intent (id, token_id, kind, from_generation, to_generation,"
            " grace_seconds, action, actor, owner_pid, created_at) VALUES (7, 1, 'delete', 0, 0,"
            " 0, 'delete', 'cli', 1, '2026-01-01')"
        )
    connection.execute("PRAGMA user_version = 1")
    connection.close()

    database = open_database(path)
    handle = database.handle
    assert handle.execute_sql("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    (ddl,) = handle.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'intent'").fetchone()
    assert "AUTOINCREMENT" in ddl
    assert [(i.id, i.token_id, i.kind) for i in Intent.select().bind(handle)] == [(7, 1, "delete")]
    assert path.with_name(f"{DB_FILENAME}.v1.bak").exists()
    # The unique index (one change per token at a time) came along.
    with pytest.raises(Exception, match="UNIQUE"):
        Intent.insert(
            token=1,
            kind="delete",
            from_generation=0,
            to_generation=0,
            action="delete",
            actor="cli",
            owner_pid=1,
            created_at="2026-01-01",
        ).bind(handle).execute()
    Intent.delete().bind(handle).execute()
    Intent.insert(
        token=1,
        kind="delete",
        from_generation=0,
        to_generation=0,
        action="delete",
        actor="cli",
        owner_pid=1,
        created_at="2026-01-01",
    ).bind(handle).execute()
    assert [i.id for i in Intent.select().bind(handle)] == [8]
    database.close()
