"""The model reads and writes the services make, one named function each.

The services never build a Peewee query themselves: they call these, inside the transactions
their unit of work opens, and get model instances back (with whatever they read through a
relation joined in already, so reading an attribute never reaches the database). Every function
takes the :class:`Database` it works on and binds each query to it: the models are bound to
none (see :mod:`desktop.storage.models`), so two databases open in one process never mix.
Every function turns the driver's errors into :class:`~desktop.domain.errors.DatabaseError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

import peewee as pw

from desktop.domain.validation import name_key
from desktop.storage.database import Database
from desktop.storage.errors import translating
from desktop.storage.models import (
    READY,
    Agent,
    AuditEvent,
    BaseModel,
    Environment,
    Intent,
    PreviousSecret,
    Role,
    RolePermission,
    Token,
    TokenUsage,
)

M = TypeVar("M", bound=BaseModel)
N = TypeVar("N", Environment, Role, Agent)

# SQLite's NOCASE: ASCII letters folded, every other character compared as it is.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _by_name(rows: Iterable[N]) -> list[N]:
    """*rows* in the NOCASE order of their names, on either engine (PostgreSQL has no such
    collation; these lists are short)."""
    return sorted(rows, key=lambda row: str(row.name).translate(_ASCII_LOWER))


def _insert(database: Database, model: type[M], **fields: Any) -> M:
    """Insert one row on *database*; the instance as written (defaults filled in, id set)."""
    row = model(**fields)
    values = {name: row.__data__[name] for name in row.__data__ if name != "id"}
    row.id = model.insert(**values).bind(database.handle).execute()
    return row


# ----------------------------------------------------------------- environments


@translating
def find_environment(database: Database, name: str) -> Environment | None:
    """The environment that is *name* (compared by :func:`name_key`), or None."""
    query = Environment.select().where(Environment.name_key == name_key(name))
    query = query.bind(database.handle)
    return query.get_or_none()


@translating
def environments(database: Database) -> list[Environment]:
    """Every environment, by name."""
    return _by_name(Environment.select().bind(database.handle))


@translating
def insert_environment(
    database: Database, name: str, api_enabled: bool, now: datetime
) -> Environment:
    return _insert(
        database,
        Environment,
        name=name,
        name_key=name_key(name),
        api_enabled=api_enabled,
        created_at=now,
    )


@translating
def set_api_enabled(database: Database, environment_id: int, enabled: bool) -> None:
    query = Environment.update(api_enabled=enabled).where(Environment.id == environment_id)
    query.bind(database.handle).execute()


# ----------------------------------------------------------------- roles


@translating
def find_role(database: Database, name: str) -> Role | None:
    """The role that is *name* (compared by :func:`name_key`), or None."""
    query = Role.select().where(Role.name_key == name_key(name)).bind(database.handle)
    return query.get_or_none()


@translating
def roles(database: Database) -> list[Role]:
    """Every role, by name."""
    return _by_name(Role.select().bind(database.handle))


@translating
def insert_role(database: Database, name: str, now: datetime) -> Role:
    return _insert(database, Role, name=name, name_key=name_key(name), created_at=now)


@translating
def permissions(database: Database, role_id: int) -> list[tuple[str, str]]:
    """One role's permissions: (method, endpoint as written)."""
    rows = RolePermission.select().where(RolePermission.role == role_id).bind(database.handle)
    return [(row.method, row.endpoint) for row in rows]


@translating
def replace_permissions(database: Database, role_id: int, granted: list[tuple[str, str]]) -> None:
    """Give the role exactly *granted*: (method, endpoint) pairs, without repeats."""
    RolePermission.delete().where(RolePermission.role == role_id).bind(database.handle).execute()
    for method, endpoint in granted:
        _insert(database, RolePermission, role=role_id, method=method, endpoint=endpoint)


# ----------------------------------------------------------------- agents


def _agents(database: Database) -> pw.ModelSelect[Agent]:
    return Agent.select(Agent, Role).join(Role).bind(database.handle)


@translating
def find_agent(database: Database, name: str) -> Agent | None:
    """The agent that is *name* (compared by :func:`name_key`), with its role, or None."""
    return _agents(database).where(Agent.name_key == name_key(name)).first()  # type: ignore[no-any-return]


@translating
def agents(database: Database) -> list[Agent]:
    """Every agent with its role, by name."""
    return _by_name(_agents(database))


@translating
def insert_agent(
    database: Database,
    name: str,
    role_id: int,
    *,
    has_logged_in: bool,
    signed_agreement: bool,
    now: datetime,
) -> None:
    _insert(
        database,
        Agent,
        name=name,
        name_key=name_key(name),
        role=role_id,
        has_logged_in=has_logged_in,
        signed_agreement=signed_agreement,
        created_at=now,
    )


@translating
def update_agent(database: Database, agent_id: int, **changes: Any) -> None:
    """Set the named fields (``role``, ``has_logged_in``, ``signed_agreement``, ``disabled``)."""
    Agent.update(**changes).where(Agent.id == agent_id).bind(database.handle).execute()


# ----------------------------------------------------------------- tokens


def _joined_tokens(database: Database) -> pw.ModelSelect[Token]:
    return (
        Token.select(Token, Environment, Agent, Role)
        .join(Environment, on=(Token.environment == Environment.id))
        .switch(Token)
        .join(Agent, on=(Token.agent == Agent.id))
        .join(Role, on=(Agent.role == Role.id))
        .where(Token.phase == READY)
        .bind(database.handle)
    )


@translating
def ready_token(database: Database, token_id: int, *, joined: bool = False) -> Token | None:
    """A token users can see (not mid-creation or mid-deletion); with ``joined`` its
    environment, agent and role come along."""
    if joined:
        query = _joined_tokens(database)
    else:
        query = Token.select().where(Token.phase == READY).bind(database.handle)
    return query.where(Token.id == token_id).first()  # type: ignore[no-any-return]


@translating
def ready_tokens(database: Database, environment_id: int | None = None) -> list[Token]:
    """Every ready token (of one environment, or of all) with environment, agent and role,
    by id."""
    query = _joined_tokens(database)
    if environment_id is not None:
        query = query.where(Token.environment == environment_id)
    return list(query.order_by(Token.id))


@translating
def ready_count(database: Database, *, agent_id: int) -> int:
    """How many ready tokens the agent holds."""
    query = Token.select().where(Token.agent == agent_id, Token.phase == READY)
    return int(query.bind(database.handle).count())


@translating
def token_by_id(database: Database, token_id: int) -> Token | None:
    """The token in any phase, or None when it is gone."""
    query = Token.select().where(Token.id == token_id).bind(database.handle)
    return query.get_or_none()


@translating
def tokens_by_fingerprint(database: Database, fingerprint: str) -> list[Token]:
    """Tokens whose current secret has this fingerprint. By fingerprint alone: with the
    environment in the WHERE clause SQLite walks that environment's index, every token in it
    (10 ms at 100,000 tokens)."""
    query = Token.select().where(Token.fingerprint == fingerprint)
    return list(query.bind(database.handle))


@translating
def previous_by_fingerprint(database: Database, fingerprint: str) -> list[PreviousSecret]:
    """Replaced secrets with this fingerprint, each with its token (joined), latest deadline
    first; expired ones too (the caller decides with its clock)."""
    query = (
        PreviousSecret.select(PreviousSecret, Token)
        .join(Token)
        .where(PreviousSecret.fingerprint == fingerprint)
        .order_by(PreviousSecret.valid_until.desc())
    )
    return list(query.bind(database.handle))


@translating
def insert_token(database: Database, **fields: Any) -> Token:
    return _insert(database, Token, **fields)


@translating
def update_token(database: Database, token_id: int, **changes: Any) -> int:
    """Set the named fields; how many rows changed (0: the token is gone)."""
    query = Token.update(**changes).where(Token.id == token_id)
    return int(query.bind(database.handle).execute())


@translating
def update_token_at_generation(
    database: Database, token_id: int, generation: int, changes: dict[str, Any]
) -> int:
    """Compare-and-swap: set the fields only while the token is still at *generation*;
    how many rows changed (1, or 0 when another change got there first)."""
    query = Token.update(**changes).where(Token.id == token_id, Token.generation == generation)
    return int(query.bind(database.handle).execute())


@translating
def add_previous_secret(
    database: Database, token_id: int, fingerprint: str, valid_until: datetime
) -> None:
    """Keep accepting a replaced secret until *valid_until* (naive UTC)."""
    _insert(
        database, PreviousSecret, token=token_id, fingerprint=fingerprint, valid_until=valid_until
    )


@translating
def prune_previous_secrets(database: Database, now: datetime, token_id: int | None = None) -> int:
    """Forget replaced secrets whose grace ended by *now* (of one token, or of all); how many.
    Verification refuses them anyway: this only keeps the table small."""
    query = PreviousSecret.delete().where(PreviousSecret.valid_until <= now)
    if token_id is not None:
        query = query.where(PreviousSecret.token == token_id)
    return int(query.bind(database.handle).execute())


@translating
def delete_token(database: Database, token_id: int) -> None:
    """The row goes, and its intent and replaced secrets with it (ON DELETE CASCADE)."""
    Token.delete().where(Token.id == token_id).bind(database.handle).execute()


# ----------------------------------------------------------------- last used


# Rows per statement of record_uses: 3 parameters each, within SQLite's oldest limit of 999.
_USES_PER_STATEMENT = 300


@translating
def record_uses(database: Database, uses: Mapping[int, tuple[datetime, int]]) -> None:
    """Add what a forward-auth server saw since its last write: for each token id, when it was
    last presented (naive UTC) and how many times. Counts add up and the latest time wins, so
    several servers may write in any order. A token deleted meanwhile is skipped (only rows
    joined to a token are inserted), never an error.

    One statement per few hundred tokens, its text made once: a server writes this every few
    seconds between requests, and building a query per token held the interpreter for a tenth
    of a second at a few thousand tokens, the requests waiting."""
    greatest = "GREATEST" if database.engine == "postgresql" else "max"
    items = [(token_id, at, count) for token_id, (at, count) in uses.items()]
    for start in range(0, len(items), _USES_PER_STATEMENT):
        chunk = items[start : start + _USES_PER_STATEMENT]
        database.execute(_record_uses_sql(len(chunk), greatest), [v for row in chunk for v in row])


@lru_cache(maxsize=8)
def _record_uses_sql(rows: int, greatest: str) -> str:
    values = ", ".join(["(?, ?, ?)"] * rows)
    return (
        f"WITH used (token_id, at, n) AS (VALUES {values}) "  # noqa: S608 (no input in the text)
        "INSERT INTO token_usage (token_id, last_used_at, use_count) "
        "SELECT used.token_id, used.at, used.n FROM used JOIN token ON token.id = used.token_id "
        "WHERE true "  # SQLite: an upsert from a SELECT needs a WHERE before ON CONFLICT
        "ON CONFLICT (token_id) DO UPDATE SET "
        f"last_used_at = {greatest}(token_usage.last_used_at, excluded.last_used_at), "
        "use_count = token_usage.use_count + excluded.use_count"
    )


@translating
def token_uses(
    database: Database, token_ids: Iterable[int] | None = None
) -> dict[int, tuple[datetime, int]]:
    """When each token (of *token_ids*, or every one) was last used and how often: only
    tokens a server has seen are there."""
    query = TokenUsage.select(TokenUsage.token, TokenUsage.last_used_at, TokenUsage.use_count)
    if token_ids is not None:
        query = query.where(TokenUsage.token.in_(list(token_ids)))
    rows = cast("Iterable[tuple[int, datetime, int]]", query.tuples().bind(database.handle))
    return {int(token_id): (at, int(count)) for token_id, at, count in rows}


# ----------------------------------------------------------------- the journal


@translating
def insert_intent(database: Database, **fields: Any) -> Intent | None:
    """Write an intent; None when the token already has one (the unique index on the token
    makes this a compare-and-swap: a second writer for the same token fails here)."""
    try:
        return _insert(database, Intent, **fields)
    except pw.IntegrityError:
        return None


@translating
def intent(database: Database, intent_id: int) -> Intent | None:
    query = Intent.select().where(Intent.id == intent_id).bind(database.handle)
    return query.get_or_none()


@translating
def intent_of_token(database: Database, token_id: int) -> Intent | None:
    query = Intent.select().where(Intent.token == token_id).bind(database.handle)
    return query.get_or_none()


@translating
def delete_intent(database: Database, intent_id: int) -> None:
    Intent.delete().where(Intent.id == intent_id).bind(database.handle).execute()


@translating
def take_over_intent(database: Database, intent: Intent, **owner: Any) -> Intent:
    """Hand a change to a new owner (inside the caller's transaction): the intent is written
    again under a new id (AUTOINCREMENT: never one used before), so the owner that held the old
    id finds it gone, and knows the change is no longer its own to commit."""
    Intent.delete().where(Intent.id == intent.id).bind(database.handle).execute()
    fields = {name: value for name, value in intent.__data__.items() if name != "id"}
    return _insert(database, Intent, **(fields | owner))


@translating
def intents(database: Database) -> list[Intent]:
    """Every intent with its token (joined: reading ``intent.token`` reads nothing more),
    oldest first."""
    query = Intent.select(Intent, Token).join(Token).order_by(Intent.id)
    return list(query.bind(database.handle))


@translating
def due_deliveries(database: Database, now: datetime, holder: str) -> list[int]:
    """The tokens *holder* holds whose new secret is due for delivery at *now* (naive UTC),
    the longest waiting first."""
    query = (
        Token.select(Token.id)
        .where(Token.delivery_due_at <= now, Token.holder == holder, Token.phase == READY)
        .order_by(Token.delivery_due_at, Token.id)
    )
    return [int(row.id) for row in query.bind(database.handle)]


@translating
def move_delivery(
    database: Database, token_id: int, generation: int, due: datetime | None, to: datetime | None
) -> bool:
    """Move the token's due delivery from *due* to *to*, only if it is still due then and the
    token still at *generation*; whether it was."""
    query = Token.update(delivery_due_at=to).where(
        Token.id == token_id, Token.generation == generation, Token.delivery_due_at == due
    )
    return int(query.bind(database.handle).execute()) == 1


# The audit actions of a delivery's outcome (desktop.services.delivery), the first a success.
DELIVERY_ACTIONS = ("deliver", "deliver-failed", "deliver-refused")


@translating
def latest_delivery(database: Database, token_id: int) -> tuple[datetime, bool] | None:
    """When the token's latest delivery ended, and whether it succeeded; None for none."""
    query = (
        AuditEvent.select(AuditEvent.at, AuditEvent.action)
        .where(AuditEvent.token_id == token_id, AuditEvent.action.in_(DELIVERY_ACTIONS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    row = query.bind(database.handle).first()
    return None if row is None else (row.at, row.action == DELIVERY_ACTIONS[0])


# ----------------------------------------------------------------- audit and change logs


@translating
def insert_audit_event(
    database: Database,
    at: datetime,
    actor: str,
    action: str,
    token_id: int | None,
    details: str,
) -> None:
    query = AuditEvent.insert(at=at, actor=actor, action=action, token_id=token_id, details=details)
    query.bind(database.handle).execute()


@translating
def audit_events(
    database: Database, token_id: int | None = None, limit: int | None = None
) -> list[AuditEvent]:
    """Newest first; of one token, or of everything."""
    query = AuditEvent.select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if token_id is not None:
        query = query.where(AuditEvent.token_id == token_id)
    if limit is not None:
        query = query.limit(limit)
    return list(query.bind(database.handle))


def prune_changes(database: Database, through: int) -> None:
    """Drop the change-log entries up to id *through*."""
    database.execute("DELETE FROM change_log WHERE id <= ?", (through,))
