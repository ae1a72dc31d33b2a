"""The model reads and writes the services make, one named function each.

The services never build a Peewee query themselves: they call these, inside the transactions
their unit of work opens, and get model instances back (with whatever they read through a
relation joined in already, so reading an attribute never reaches the database). Every function
turns the driver's errors into :class:`~desktop.domain.errors.DatabaseError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee as pw

from desktop.storage.database import Database
from desktop.storage.errors import translating
from desktop.storage.models import (
    READY,
    Agent,
    AuditEvent,
    Environment,
    Intent,
    Role,
    RolePermission,
    Token,
)

# ----------------------------------------------------------------- environments


@translating
def find_environment(name: str) -> Environment | None:
    return Environment.get_or_none(Environment.name == name)


@translating
def environments() -> list[Environment]:
    """Every environment, by name."""
    return list(Environment.select().order_by(Environment.name))


@translating
def insert_environment(name: str, api_enabled: bool, now: datetime) -> Environment:
    return Environment.create(name=name, api_enabled=api_enabled, created_at=now)


@translating
def set_api_enabled(environment_id: int, enabled: bool) -> None:
    Environment.update(api_enabled=enabled).where(Environment.id == environment_id).execute()


# ----------------------------------------------------------------- roles


@translating
def find_role(name: str) -> Role | None:
    return Role.get_or_none(Role.name == name)


@translating
def roles() -> list[Role]:
    """Every role, by name."""
    return list(Role.select().order_by(Role.name))


@translating
def insert_role(name: str, now: datetime) -> Role:
    return Role.create(name=name, created_at=now)


@translating
def permissions(role_id: int) -> list[tuple[str, str]]:
    """One role's permissions: (method, endpoint as written)."""
    rows = RolePermission.select().where(RolePermission.role == role_id)
    return [(row.method, row.endpoint) for row in rows]


@translating
def replace_permissions(role_id: int, granted: list[tuple[str, str]]) -> None:
    """Give the role exactly *granted*: (method, endpoint) pairs, without repeats."""
    RolePermission.delete().where(RolePermission.role == role_id).execute()
    for method, endpoint in granted:
        RolePermission.create(role=role_id, method=method, endpoint=endpoint)


# ----------------------------------------------------------------- agents


def _agents() -> pw.ModelSelect[Agent]:
    return Agent.select(Agent, Role).join(Role)


@translating
def find_agent(name: str) -> Agent | None:
    """The agent of that name, with its role."""
    return _agents().where(Agent.name == name).first()  # type: ignore[no-any-return]


@translating
def agents() -> list[Agent]:
    """Every agent with its role, by name."""
    return list(_agents().order_by(Agent.name))


@translating
def agent_role_id(agent_id: int) -> int:
    return int(Agent.select(Agent.role).where(Agent.id == agent_id).scalar())


@translating
def insert_agent(
    name: str, role_id: int, *, has_logged_in: bool, signed_agreement: bool, now: datetime
) -> None:
    Agent.create(
        name=name,
        role=role_id,
        has_logged_in=has_logged_in,
        signed_agreement=signed_agreement,
        created_at=now,
    )


@translating
def update_agent(agent_id: int, **changes: Any) -> None:
    """Set the named fields (``role``, ``has_logged_in``, ``signed_agreement``)."""
    Agent.update(**changes).where(Agent.id == agent_id).execute()


# ----------------------------------------------------------------- tokens


def _joined_tokens() -> pw.ModelSelect[Token]:
    return (
        Token.select(Token, Environment, Agent, Role)
        .join(Environment, on=(Token.environment == Environment.id))
        .switch(Token)
        .join(Agent, on=(Token.agent == Agent.id))
        .join(Role, on=(Agent.role == Role.id))
        .where(Token.phase == READY)
    )


@translating
def ready_token(token_id: int, *, joined: bool = False) -> Token | None:
    """A token users can see (not mid-creation or mid-deletion); with ``joined`` its
    environment, agent and role come along."""
    query = _joined_tokens() if joined else Token.select().where(Token.phase == READY)
    return query.where(Token.id == token_id).first()  # type: ignore[no-any-return]


@translating
def ready_tokens(environment_id: int | None = None) -> list[Token]:
    """Every ready token (of one environment, or of all) with environment, agent and role,
    by id."""
    query = _joined_tokens()
    if environment_id is not None:
        query = query.where(Token.environment == environment_id)
    return list(query.order_by(Token.id))


@translating
def ready_count(*, agent_id: int) -> int:
    """How many ready tokens the agent holds."""
    return int(Token.select().where(Token.agent == agent_id, Token.phase == READY).count())


@translating
def token_by_id(token_id: int) -> Token | None:
    """The token in any phase, or None when it is gone."""
    return Token.get_or_none(Token.id == token_id)


@translating
def tokens_by_fingerprint(fingerprint: str) -> list[Token]:
    """Tokens whose current or previous secret has this fingerprint. By fingerprint alone: with
    the environment in the WHERE clause SQLite walks that environment's index, every token in
    it (10 ms at 100,000 tokens)."""
    return list(
        Token.select().where(
            (Token.fingerprint == fingerprint) | (Token.previous_fingerprint == fingerprint)
        )
    )


@translating
def insert_token(**fields: Any) -> Token:
    return Token.create(**fields)


@translating
def update_token(token_id: int, **changes: Any) -> int:
    """Set the named fields; how many rows changed (0: the token is gone)."""
    return int(Token.update(**changes).where(Token.id == token_id).execute())


@translating
def update_token_at_generation(token_id: int, generation: int, changes: dict[str, Any]) -> int:
    """Compare-and-swap: set the fields only while the token is still at *generation*;
    how many rows changed (1, or 0 when another change got there first)."""
    query = Token.update(**changes).where(Token.id == token_id, Token.generation == generation)
    return int(query.execute())


@translating
def delete_token(token_id: int) -> None:
    """The row goes, and its intent with it (ON DELETE CASCADE)."""
    Token.delete().where(Token.id == token_id).execute()


# ----------------------------------------------------------------- the journal


@translating
def insert_intent(**fields: Any) -> Intent | None:
    """Write an intent; None when the token already has one (the unique index on the token
    makes this a compare-and-swap: a second writer for the same token fails here)."""
    try:
        return Intent.create(**fields)
    except pw.IntegrityError:
        return None


@translating
def intent(intent_id: int) -> Intent | None:
    return Intent.get_or_none(Intent.id == intent_id)


@translating
def intent_of_token(token_id: int) -> Intent | None:
    return Intent.get_or_none(Intent.token == token_id)


@translating
def delete_intent(intent_id: int) -> None:
    Intent.delete().where(Intent.id == intent_id).execute()


@translating
def intents() -> list[Intent]:
    """Every intent with its token, oldest first."""
    return list(Intent.select(Intent, Token).join(Token).order_by(Intent.id))


# ----------------------------------------------------------------- audit and change logs


@translating
def insert_audit_event(
    at: datetime, actor: str, action: str, token_id: int | None, details: str
) -> None:
    AuditEvent.create(at=at, actor=actor, action=action, token_id=token_id, details=details)


@translating
def audit_events(token_id: int | None = None, limit: int | None = None) -> list[AuditEvent]:
    """Newest first; of one token, or of everything."""
    query = AuditEvent.select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if token_id is not None:
        query = query.where(AuditEvent.token_id == token_id)
    if limit is not None:
        query = query.limit(limit)
    return list(query)


def prune_changes(database: Database, through: int) -> None:
    """Drop the change-log entries up to id *through*."""
    database.execute("DELETE FROM change_log WHERE id <= ?", (through,))
