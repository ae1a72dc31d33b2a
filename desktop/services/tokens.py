"""TokenService: every change to environments, roles, agents and tokens goes through here.

The database and the keyring cannot share a transaction, so each change that touches both
follows a journaled protocol (DESIGN.md §3):

* create:  commit row (phase ``creating``) + intent → write ``g0`` → read back and check the
  fingerprint → commit ``ready`` and drop the intent → only then return the secret.
* refresh / rotate:  commit intent (n → n+1, new fingerprint) → write ``g{n+1}`` → check →
  commit generation n+1 (compare-and-swap on n) → delete ``g{n}`` → drop the intent.
* delete:  commit a tombstone (phase ``deleting``) + intent → delete the keyring entry →
  delete the row (the intent goes with it).

:meth:`TokenService.reconcile` finishes or undoes whatever a crash left behind. The unique intent
per token doubles as a lock: two processes can never change one token's secret at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import string
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import peewee as pw

from desktop.domain import access, tokens
from desktop.domain.access import Decision, Grant, Permission
from desktop.domain.clock import Clock, SystemClock, utc
from desktop.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RuleViolation,
    SecretMismatch,
    SecretStoreUnavailable,
)
from desktop.domain.intervals import format_interval, parse_grace, parse_interval
from desktop.domain.table import ORDERS, Column, SortTerm, TokenRow
from desktop.domain.validation import clean_label, clean_name
from desktop.services.views import (
    AgentView,
    AuditView,
    Changes,
    EnvironmentView,
    IssuedSecret,
    Names,
    ReconcileReport,
    RoleView,
    RotationReport,
    TokenView,
)
from desktop.storage.models import (
    ACTIVE,
    CREATING,
    DELETING,
    INACTIVE,
    READY,
    Agent,
    AuditEvent,
    Environment,
    Intent,
    Role,
    RolePermission,
    Token,
    naive,
)

if TYPE_CHECKING:
    from desktop.secrets.store import SecretStore

log = logging.getLogger(__name__)

MULTIPLE_TOKENS_WARNING = (
    "agent {agent} already has {tokens}; several tokens per agent are allowed but "
    "discouraged, because the origin of requests becomes harder to determine"
)
# An intent whose owner is still alive is left alone, unless it is older than this.
STALE_INTENT = timedelta(minutes=10)
# The change log keeps this many entries; a reader further behind reads everything again.
CHANGES_KEPT = 20_000
# Ids per "IN (...)" query, well below SQLite's limit on variables.
_IDS_PER_QUERY = 500


_COUNT_BY_ENVIRONMENT = (
    "SELECT environment_id, COUNT(*) FROM token WHERE +phase = 'ready' GROUP BY environment_id"
)
_COUNT_BY_AGENT = "SELECT agent_id, COUNT(*) FROM token WHERE +phase = 'ready' GROUP BY agent_id"

# Each TokenRow field as SQL (desktop.domain.table), read without building models; times as
# whole POSIX seconds.
_ROW_SQL = {
    "id": "t.id",
    "environment_id": "t.environment_id",
    "agent_id": "t.agent_id",
    "label": "t.label",
    "active": "t.status = 'Active'",
    "hint": "t.hint",
    "generation": "t.generation",
    "rotation": "t.rotation",
    "rotation_seconds": "t.rotation_seconds",
    "grace_seconds": "t.grace_seconds",
    "next_rotation": "CAST(strftime('%s', t.next_rotation_at) AS INTEGER)",
    "last_rotated": "CAST(strftime('%s', t.last_rotated_at) AS INTEGER)",
    "grace_until": "CAST(strftime('%s', t.grace_until) AS INTEGER)",
    "last_error": "t.last_error",
    "created": "CAST(strftime('%s', t.created_at) AS INTEGER)",
}
_ROW_COLUMNS = ", ".join(_ROW_SQL[name] for name in TokenRow._fields)
_ROW_SELECT = f"SELECT {_ROW_COLUMNS} FROM token t WHERE t.phase = 'ready'"  # noqa: S608
_PAGE_SELECT = (
    f"SELECT {_ROW_COLUMNS} FROM token t "  # noqa: S608
    "JOIN agent a ON a.id = t.agent_id JOIN role r ON r.id = a.role_id "
    # "+": SQLite would rather use the (unselective) phase index than walk the order's index.
    "JOIN environment e ON e.id = t.environment_id WHERE +t.phase = 'ready'"
)
# What each sort source (desktop.domain.table.SortTerm) orders by in _PAGE_SELECT: the stored
# columns themselves, so an order can walk their index.
_ORDER_SQL = {
    "hint": "t.hint",
    "agent": "a.name",
    "label": "t.label",
    "role": "r.name",
    "active": "t.status = 'Active'",
    "rotation_seconds": "t.rotation_seconds",
    "next_rotation": "t.next_rotation_at",
    "created": "t.created_at",
    "environment": "e.name",
}


def _order_terms(terms: tuple[SortTerm, ...]) -> tuple[str, ...]:
    """One column's order (desktop.domain.table.ORDERS) as SQL terms, each ascending."""
    sql: list[str] = []
    for term in terms:
        expression = _ORDER_SQL[term.source]
        if term.nulls_last:
            sql.append(f"{expression} IS NULL")
        if term.negate:
            expression = f"NOT ({expression})"
        sql.append(f"{expression} COLLATE NOCASE" if term.nocase else expression)
    return tuple(sql)


# The table's orders, as SQL (ties by id). They follow desktop.domain.table.ORDERS, as the
# window's in-memory sort does; NOCASE folds ASCII letters only, close enough for a first screen.
TABLE_ORDERS: tuple[tuple[str, ...], ...] = tuple(_order_terms(ORDERS[column]) for column in Column)
_CREATED_ORDER = Column.CREATED  # the order with an index to walk (token_created_at)
# Due for rotation: active tokens past their rotation time. A clock that went backwards (now
# earlier than the last rotation) makes nothing due: a rotation is never repeated for it.
# Parameters: now, now (TokenService._due_at). "+" keeps SQLite on the next_rotation_at index.
_DUE = (
    "next_rotation_at <= ? AND +phase = 'ready' AND +status = 'Active' "
    "AND rotation_seconds IS NOT NULL AND (last_rotated_at IS NULL OR last_rotated_at <= ?)"
)
_DUE_IDS = f"SELECT id FROM token WHERE {_DUE} ORDER BY next_rotation_at"  # noqa: S608
_IS_DUE = f"SELECT 1 FROM token WHERE id = ? AND {_DUE}"  # noqa: S608

Interval = timedelta | str | None


def _rows(cursor: Any) -> list[TokenRow]:
    """A cursor over _ROW_SELECT's columns, as typed rows."""
    return list(map(TokenRow._make, cursor.fetchall()))


def secret_key(token_uuid: str, generation: int) -> str:
    """The keyring entry of one generation of one token; never reused, never overwritten."""
    return f"{token_uuid}:g{generation}"


def _as_interval(value: Interval, *, grace: bool = False) -> tuple[timedelta | None, str | None]:
    """Accept a timedelta (from the window) or text (from the command line)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        parsed = parse_grace(value) if grace else parse_interval(value)
        return parsed, value.strip().lower()
    if value < timedelta(0) or (value == timedelta(0) and not grace):
        raise InvalidInput("an interval must be positive")
    if value.total_seconds() % 3600:
        raise InvalidInput("an interval must be a whole number of hours")
    return value, format_interval(value)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; it just has not been reaped yet
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class _Claim:
    """An intent this process wrote and is still carrying out."""

    intent_id: int
    token_id: int
    token_uuid: str
    from_generation: int
    to_generation: int


class TokenService:
    def __init__(
        self,
        database: pw.SqliteDatabase,
        store: SecretStore | None,
        *,
        clock: Clock | None = None,
        actor: str = "cli",
    ) -> None:
        self._db = database
        self._store = store
        self.clock: Clock = clock or SystemClock()
        self.actor = actor
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    # ----------------------------------------------------------------- plumbing

    @property
    def store(self) -> SecretStore | None:
        return self._store

    def set_store(self, store: SecretStore | None) -> None:
        """Use *store* from now on (the keyring became available); run :meth:`reconcile` next."""
        self._store = store

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Called (on the changing thread) after every committed change."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()

    def _now(self) -> datetime:
        return naive(self.clock.now())

    def _write(self) -> pw._atomic:
        # BEGIN IMMEDIATE: take the write lock up front, so read-check-write cannot interleave.
        return self._db.atomic("IMMEDIATE")

    def _audit(
        self, action: str, token_id: int | None, details: str, actor: str | None = None
    ) -> None:
        AuditEvent.create(
            at=self._now(),
            actor=actor or self.actor,
            action=action,
            token_id=token_id,
            details=details,
        )

    def _require_store(self) -> SecretStore:
        if self._store is None:
            from desktop.secrets.store import remedy

            raise SecretStoreUnavailable(
                f"this action needs the system keyring, which is unavailable; {remedy()}."
            )
        return self._store

    def data_version(self) -> int:
        """Changes whenever another connection commits: cheap polling for outside changes."""
        return int(self._db.execute_sql("PRAGMA data_version").fetchone()[0])

    # ----------------------------------------------------------------- environments

    def _environment(self, name: str) -> Environment:
        env = Environment.get_or_none(Environment.name == name.strip())
        if env is None:
            raise NotFound(f"unknown environment {name.strip()!r}")
        return env

    def add_environment(self, name: str, *, api_enabled: bool = True) -> EnvironmentView:
        name = clean_name(name, "environment")
        with self._write():
            if Environment.get_or_none(Environment.name == name) is not None:
                raise RuleViolation(f"environment {name!r} already exists")
            env = Environment.create(name=name, api_enabled=api_enabled, created_at=self._now())
            self._audit(
                "env-add",
                None,
                f"environment {name}, API access {'enabled' if api_enabled else 'disabled'}",
            )
        self._changed()
        return self.environment(env.name)

    def set_api_enabled(self, name: str, enabled: bool) -> EnvironmentView:
        with self._write():
            env = self._environment(name)
            if env.api_enabled != enabled:
                env.api_enabled = enabled
                env.save()
                self._audit(
                    "env-enable" if enabled else "env-disable",
                    None,
                    f"API access {'enabled' if enabled else 'disabled'} for environment {env.name}",
                )
        self._changed()
        return self.environment(name)

    def environment(self, name: str) -> EnvironmentView:
        env = self._environment(name)
        count = Token.select().where(Token.environment == env, Token.phase == READY).count()
        return EnvironmentView(env.id, env.name, env.api_enabled, count)

    def environments(self, *, counted: bool = True) -> list[EnvironmentView]:
        """Every environment, by name; ``counted=False`` skips counting their tokens (each
        ``token_count`` is then 0): a scan of every token, which a window's first paint skips."""
        counts = self._token_counts(Token.environment) if counted else {}
        return [
            EnvironmentView(env.id, env.name, env.api_enabled, counts.get(env.id, 0))
            for env in Environment.select().order_by(Environment.name)
        ]

    # ----------------------------------------------------------------- roles

    def _role(self, name: str) -> Role:
        role = Role.get_or_none(Role.name == name.strip())
        if role is None:
            raise NotFound(f"unknown role {name.strip()!r}")
        return role

    @staticmethod
    def _permissions(texts: list[str] | tuple[str, ...]) -> list[Permission]:
        unique: dict[tuple[str, str], Permission] = {}
        for text in texts:
            permission = Permission.parse(text)
            unique.setdefault(permission.key, permission)
        return list(unique.values())

    def add_role(self, name: str, permissions: list[str] | tuple[str, ...] = ()) -> RoleView:
        name = clean_name(name, "role")
        parsed = self._permissions(permissions)
        with self._write():
            if Role.get_or_none(Role.name == name) is not None:
                raise RuleViolation(f"role {name!r} already exists")
            role = Role.create(name=name, created_at=self._now())
            for permission in parsed:
                RolePermission.create(
                    role=role, method=permission.method, endpoint=permission.endpoint
                )
            self._audit("role-add", None, f"role {name}: {self._describe(parsed)}")
        self._changed()
        return self.role(name)

    def set_role_permissions(self, name: str, permissions: list[str] | tuple[str, ...]) -> RoleView:
        parsed = self._permissions(permissions)
        with self._write():
            role = self._role(name)
            RolePermission.delete().where(RolePermission.role == role).execute()
            for permission in parsed:
                RolePermission.create(
                    role=role, method=permission.method, endpoint=permission.endpoint
                )
            self._audit("role-update", None, f"role {role.name}: {self._describe(parsed)}")
        self._changed()
        return self.role(name)

    @staticmethod
    def _describe(permissions: list[Permission]) -> str:
        return ", ".join(str(p) for p in permissions) or "no permissions"

    def role(self, name: str) -> RoleView:
        role = self._role(name)
        return RoleView(role.id, role.name, self._role_permission_texts(role.id))

    @staticmethod
    def _role_permission_texts(role_id: int) -> tuple[str, ...]:
        rows = RolePermission.select().where(RolePermission.role == role_id)
        return tuple(sorted(f"{p.method} {p.endpoint}" for p in rows))

    def roles(self) -> list[RoleView]:
        return [
            RoleView(role.id, role.name, self._role_permission_texts(role.id))
            for role in Role.select().order_by(Role.name)
        ]

    # ----------------------------------------------------------------- agents

    def _agent(self, name: str) -> Agent:
        agent = Agent.get_or_none(Agent.name == name.strip())
        if agent is None:
            raise NotFound(f"unknown agent {name.strip()!r}")
        return agent

    def add_agent(
        self,
        name: str,
        role: str,
        *,
        has_logged_in: bool = False,
        signed_agreement: bool = False,
    ) -> AgentView:
        name = clean_name(name, "agent")
        with self._write():
            role_row = self._role(role)
            if Agent.get_or_none(Agent.name == name) is not None:
                raise RuleViolation(f"agent {name!r} already exists")
            Agent.create(
                name=name,
                role=role_row,
                has_logged_in=has_logged_in,
                signed_agreement=signed_agreement,
                created_at=self._now(),
            )
            self._audit(
                "agent-add",
                None,
                f"agent {name}, role {role_row.name}, logged in: {'yes' if has_logged_in else 'no'}"
                f", signed agreement: {'yes' if signed_agreement else 'no'}",
            )
        self._changed()
        return self.agent(name)

    def update_agent(
        self,
        name: str,
        *,
        role: str | None = None,
        has_logged_in: bool | None = None,
        signed_agreement: bool | None = None,
    ) -> AgentView:
        with self._write():
            agent = self._agent(name)
            changes = []
            if role is not None:
                role_row = self._role(role)
                if role_row.id != agent.role_id:
                    agent.role = role_row
                    changes.append(f"role {role_row.name}")
            if has_logged_in is not None and has_logged_in != agent.has_logged_in:
                agent.has_logged_in = has_logged_in
                changes.append(f"logged in: {'yes' if has_logged_in else 'no'}")
            if signed_agreement is not None and signed_agreement != agent.signed_agreement:
                agent.signed_agreement = signed_agreement
                changes.append(f"signed agreement: {'yes' if signed_agreement else 'no'}")
            if changes:
                agent.save()
                self._audit("agent-update", None, f"agent {agent.name}: " + ", ".join(changes))
        self._changed()
        return self.agent(name)

    def agent(self, name: str) -> AgentView:
        agent = self._agent(name)
        return self._agent_view(agent, self._token_counts(Token.agent).get(agent.id, 0))

    def _token_counts(self, by: pw.ForeignKeyField) -> dict[int, int]:
        """How many ready tokens each environment or agent (the foreign key *by*) holds."""
        # "+phase": count from the (environment or agent, phase) index alone, 6 ms at 100,000
        # tokens, instead of looking up every ready token's row through the phase index.
        sql = _COUNT_BY_ENVIRONMENT if by is Token.environment else _COUNT_BY_AGENT
        return dict(self._db.execute_sql(sql).fetchall())

    @staticmethod
    def _agent_view(agent: Agent, count: int) -> AgentView:
        return AgentView(
            agent.id,
            agent.name,
            agent.role.name,
            agent.has_logged_in,
            agent.signed_agreement,
            count,
        )

    def agents(self) -> list[AgentView]:
        counts = self._token_counts(Token.agent)
        query = Agent.select(Agent, Role).join(Role).order_by(Agent.name)
        return [self._agent_view(agent, counts.get(agent.id, 0)) for agent in query]

    def creation_warnings(self, agent_name: str) -> list[str]:
        """What creating a token for this agent would warn about (the window asks first)."""
        agent = self._agent(agent_name)
        count = Token.select().where(Token.agent == agent, Token.phase == READY).count()
        if count:
            held = "a token" if count == 1 else f"{count} tokens"
            return [MULTIPLE_TOKENS_WARNING.format(agent=agent.name, tokens=held)]
        return []

    # ----------------------------------------------------------------- token queries

    def _token_query(self) -> pw.ModelSelect[Token]:
        return (
            Token.select(Token, Environment, Agent, Role)
            .join(Environment, on=(Token.environment == Environment.id))
            .switch(Token)
            .join(Agent, on=(Token.agent == Agent.id))
            .join(Role, on=(Agent.role == Role.id))
            .where(Token.phase == READY)
        )

    @staticmethod
    def _view(row: Token) -> TokenView:
        return TokenView(
            id=row.id,
            environment=row.environment.name,
            agent=row.agent.name,
            label=row.label,
            role=row.agent.role.name,
            status=row.status,
            hint=row.hint,
            generation=row.generation,
            rotation=row.rotation,
            rotation_interval=(
                timedelta(seconds=row.rotation_seconds) if row.rotation_seconds else None
            ),
            grace=timedelta(seconds=row.grace_seconds),
            next_rotation_at=utc(row.next_rotation_at) if row.next_rotation_at else None,
            last_rotated_at=utc(row.last_rotated_at) if row.last_rotated_at else None,
            grace_until=utc(row.grace_until) if row.grace_until else None,
            last_error=row.last_error,
            created_at=utc(row.created_at),
        )

    def tokens(self, environment: str | None = None) -> list[TokenView]:
        query = self._token_query()
        if environment is not None:
            query = query.where(Token.environment == self._environment(environment))
        return [self._view(row) for row in query.order_by(Token.id)]

    def token(self, token_id: int) -> TokenView:
        return self._view(self._ready_row(token_id, joined=True))

    def _ready_row(self, token_id: int, *, joined: bool = False) -> Token:
        query = self._token_query() if joined else Token.select().where(Token.phase == READY)
        row = query.where(Token.id == token_id).first()
        if row is None:
            raise NotFound(f"unknown token {token_id}")
        return row  # type: ignore[no-any-return]

    # ----------------------------------------------------------------- the window's table

    def names(self) -> Names:
        """Environment, agent and role names for the ids in :class:`TokenRow`."""
        environments = dict(self._db.execute_sql("SELECT id, name FROM environment").fetchall())
        agents = {
            agent_id: (agent, role)
            for agent_id, agent, role in self._db.execute_sql(
                "SELECT agent.id, agent.name, role.name FROM agent "
                "JOIN role ON role.id = agent.role_id"
            ).fetchall()
        }
        return Names(environments, agents)

    def token_table(self, environment: str | None = None) -> tuple[int, Names, list[TokenRow]]:
        """Every ready token (of one environment, or all) as rows, with their names and the
        change cursor they are current at, read in one snapshot."""
        with self._db.atomic():
            cursor = self.change_cursor()
            names = self.names()
            if environment is None:
                rows = _rows(self._db.execute_sql(_ROW_SELECT + " ORDER BY t.id"))
            else:
                env = self._environment(environment)
                rows = _rows(
                    self._db.execute_sql(
                        _ROW_SELECT + " AND t.environment_id = ? ORDER BY t.id", (env.id,)
                    )
                )
        return cursor, names, rows

    def token_count(self, environment: str | None = None) -> int:
        """How many ready tokens there are (in one environment, or in all)."""
        if environment is None:
            row = self._db.execute_sql("SELECT COUNT(*) FROM token WHERE phase = 'ready'")
        else:
            row = self._db.execute_sql(
                "SELECT COUNT(*) FROM token WHERE phase = 'ready' AND environment_id = ?",
                (self._environment(environment).id,),
            )
        return int(row.fetchone()[0])

    def token_page(
        self, environment: str | None, column: int, *, descending: bool, limit: int
    ) -> tuple[Names, list[TokenRow]]:
        """The first *limit* rows in the table's order by *column* (see :data:`TABLE_ORDERS`),
        read without reading the others: what the window paints first."""
        direction = " DESC" if descending else ""
        terms = [*TABLE_ORDERS[column], "t.id"]
        order = ", ".join(term + direction for term in terms)
        where, args = "", [limit]
        if environment is not None:
            # By creation, walk the created_at index and skip other environments' tokens ("+"
            # keeps SQLite from sorting the whole environment instead: 40 ms at 40,000 tokens).
            # Other orders have no index to walk: read the environment's tokens, keep the best.
            environment_term = (
                "+t.environment_id" if column == _CREATED_ORDER else "t.environment_id"
            )
            where, args = f" AND {environment_term} = ?", [self._environment(environment).id, limit]
        rows = _rows(self._db.execute_sql(f"{_PAGE_SELECT}{where} ORDER BY {order} LIMIT ?", args))
        return self.names(), rows

    def token_rows(self, token_ids: Iterable[int]) -> list[TokenRow]:
        """The rows of these tokens that exist and are ready (the others are gone)."""
        ids = sorted(set(token_ids))
        rows: list[TokenRow] = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            rows += _rows(self._db.execute_sql(f"{_ROW_SELECT} AND t.id IN ({marks})", chunk))
        return rows

    def change_cursor(self) -> int:
        """The id of the newest change-log entry ever written (0 for none)."""
        row = self._db.execute_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"
        ).fetchone()
        return int(row[0]) if row else 0

    def changes_since(self, cursor: int) -> Changes:
        """What committed since *cursor* (from :meth:`token_table` or an earlier call)."""
        with self._db.atomic():
            newest = self.change_cursor()
            if newest == cursor:
                return Changes(cursor)
            entries = self._db.execute_sql(
                "SELECT id, kind, token_id FROM change_log WHERE id > ? ORDER BY id", (cursor,)
            ).fetchall()
        if newest < cursor or not entries or entries[0][0] != cursor + 1:
            return Changes(newest, complete=False)  # pruned past us (or another database)
        kinds = {kind for _, kind, _ in entries}
        return Changes(
            newest,
            frozenset(token_id for _, kind, token_id in entries if kind == "token"),
            names="names" in kinds,
            directory="directory" in kinds,
        )

    def prune_changes(self, keep: int = CHANGES_KEPT) -> None:
        """Drop all but the newest *keep* change-log entries."""
        with self._write():
            self._db.execute_sql(
                "DELETE FROM change_log WHERE id <= ?", (self.change_cursor() - keep,)
            )

    def reveal(self, token_id: int) -> str:
        """The current secret, read from the keyring and checked against its fingerprint."""
        row = self._ready_row(token_id)
        store = self._require_store()
        secret = store.get(secret_key(row.uuid, row.generation))
        if secret is None:
            raise SecretMismatch(
                f"the secret of token {token_id} is missing from the keyring "
                f"({store.backend_name}); refresh the token to issue a new one"
            )
        if tokens.fingerprint(secret) != row.fingerprint:
            raise SecretMismatch(
                f"the keyring holds a different secret for token {token_id} than the one on "
                "record; refresh the token to issue a new one"
            )
        return secret

    def audit(self, token_id: int | None = None, limit: int | None = None) -> list[AuditView]:
        query = AuditEvent.select().order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        if token_id is not None:
            query = query.where(AuditEvent.token_id == token_id)
        if limit is not None:
            query = query.limit(limit)
        return [AuditView(e.id, utc(e.at), e.actor, e.action, e.token_id, e.details) for e in query]

    # ----------------------------------------------------------------- token changes

    def create_token(
        self,
        environment: str,
        agent: str,
        *,
        label: str | None = None,
        rotation: Interval = None,
        grace: Interval = None,
    ) -> IssuedSecret:
        label = clean_label(label)
        interval, rotation_text = _as_interval(rotation)
        grace_value, _ = _as_interval(grace, grace=True)
        store = self._require_store()
        store.check()  # fail before the intent, not after: a failed undo would leave it behind
        secret = tokens.generate()
        token_uuid = str(uuidlib.uuid4())
        with self._write():
            env = self._environment(environment)
            if not env.api_enabled:
                raise RuleViolation(
                    f"environment {env.name!r} has API access disabled; enable it before "
                    "creating tokens"
                )
            agent_row = self._agent(agent)
            view = self._agent_view(agent_row, 0)
            if not view.eligible:
                raise RuleViolation(
                    f"agent {agent_row.name!r} {view.ineligible_reason()}: only agents who have "
                    "logged in and signed the usage agreement can be given a token"
                )
            warnings = self.creation_warnings(agent_row.name)
            now = self._now()
            row = Token.create(
                uuid=token_uuid,
                environment=env,
                agent=agent_row,
                label=label,
                status=ACTIVE,
                phase=CREATING,
                generation=0,
                fingerprint=tokens.fingerprint(secret),
                hint=tokens.hint(secret),
                rotation=rotation_text,
                rotation_seconds=int(interval.total_seconds()) if interval else None,
                grace_seconds=int(grace_value.total_seconds()) if grace_value else 0,
                next_rotation_at=now + interval if interval else None,
                created_at=now,
                updated_at=now,
            )
            claim = self._claim(row, "create", "create", to_generation=0, secret=secret)
        with self._carrying(claim):
            try:
                self._put_checked(store, secret_key(token_uuid, 0), secret)
            except BaseException:
                self._abandon(claim)
                raise
            details = f"environment {env.name}, agent {agent_row.name}"
            if label:
                details += f", label {label!r}"
            if rotation_text:
                details += f", rotate {rotation_text}"
            try:
                with self._write():
                    self._require_claim(claim)
                    Token.update(phase=READY).where(Token.id == row.id).execute()
                    Intent.delete().where(Intent.id == claim.intent_id).execute()
                    self._audit("create", row.id, details)
            except Conflict:
                # Recovery in another process took this change for abandoned (a keyring prompt
                # can keep a write waiting that long) and undid it: take our entry back out.
                self._discard(store, secret_key(token_uuid, 0))
                raise
        self._changed()
        return IssuedSecret(self.token(row.id), secret, tuple(warnings))

    def set_status(self, token_id: int, active: bool) -> TokenView:
        status = ACTIVE if active else INACTIVE
        with self._write():
            row = self._ready_row(token_id)
            if row.status != status:
                Token.update(status=status, updated_at=self._now()).where(
                    Token.id == row.id
                ).execute()
                self._audit("activate" if active else "deactivate", row.id, f"status {status}")
        self._changed()
        return self.token(token_id)

    def set_label(self, token_id: int, label: str) -> TokenView:
        label = clean_label(label)
        with self._write():
            row = self._ready_row(token_id)
            if row.label != label:
                Token.update(label=label, updated_at=self._now()).where(
                    Token.id == row.id
                ).execute()
                self._audit("label", row.id, f"label {label!r}" if label else "label cleared")
        self._changed()
        return self.token(token_id)

    def set_rotation(self, token_id: int, interval: Interval, grace: Interval = None) -> TokenView:
        """Set (or with None, clear) the rotation schedule; next due = now + interval."""
        value, text = _as_interval(interval)
        grace_value, grace_text = _as_interval(grace, grace=True)
        with self._write():
            row = self._ready_row(token_id)
            now = self._now()
            changes: dict[pw.Field, object] = {
                Token.rotation: text,
                Token.rotation_seconds: int(value.total_seconds()) if value else None,
                Token.next_rotation_at: now + value if value else None,
                Token.last_error: None,
                Token.updated_at: now,
            }
            if grace_value is not None:
                changes[Token.grace_seconds] = int(grace_value.total_seconds())
            Token.update(changes).where(Token.id == row.id).execute()
            details = f"rotate {text}" if text else "rotation off"
            if grace_text is not None:
                details += f", grace {grace_text}"
            self._audit("schedule", row.id, details)
        self._changed()
        return self.token(token_id)

    def refresh(self, token_id: int, *, grace: Interval = None) -> IssuedSecret:
        """A new secret for the same token, agent and label. The old one stays valid for the
        grace (the token's configured grace unless one is given here; 0 = invalid at once)."""
        grace_value, _ = _as_interval(grace, grace=True)
        issued = self._replace_secret(token_id, "refresh", grace_value, self.actor)
        if issued is None:  # only a scheduled rotation can lose the race; a refresh cannot
            raise Conflict(f"token {token_id} is being changed elsewhere; try again")
        return issued

    def rotate_if_due(
        self, token_id: int, *, actor: str = "scheduler", check: bool = True
    ) -> IssuedSecret | None:
        """Rotate one token if it is still due; None when it no longer is (or never was).
        ``check=False`` skips the keyring check up front (a pass over many tokens checks once)."""
        return self._replace_secret(token_id, "rotate", None, actor, check=check)

    def _due_at(self) -> tuple[object, object]:
        """The parameters of :data:`_DUE`: now, as the database keeps times."""
        now = Token.next_rotation_at.db_value(self._now())
        return now, now

    def due_token_ids(self) -> list[int]:
        """The due tokens (:data:`_DUE`), earliest first, read from the next_rotation_at index
        (a few rows) rather than through every ready token (25 ms at 100,000): the window asks
        at every scheduler tick."""
        rows = self._db.execute_sql(_DUE_IDS, self._due_at()).fetchall()
        return [token_id for (token_id,) in rows]

    def next_due_at(self, environment: str | None = None) -> datetime | None:
        """The earliest scheduled rotation of an active token (in one environment, or in any),
        for the window to show."""
        # Walks the next_rotation_at index from its start ("+" keeps SQLite from choosing
        # the phase index instead, which means reading every ready token).
        sql = (
            "SELECT next_rotation_at FROM token WHERE next_rotation_at IS NOT NULL "
            "AND +phase = 'ready' AND +status = 'Active'"
        )
        args: tuple[int, ...] = ()
        if environment is not None:
            sql += " AND +environment_id = ?"
            args = (self._environment(environment).id,)
        row = self._db.execute_sql(sql + " ORDER BY next_rotation_at LIMIT 1", args).fetchone()
        if row is None:
            return None
        value = Token.next_rotation_at.python_value(row[0])
        return utc(value) if isinstance(value, datetime) else None

    def rotate_due(
        self,
        *,
        actor: str = "scheduler",
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> RotationReport:
        """Rotate every due token once. Missed rotations coalesce: one rotation per token,
        however many intervals passed; the next one is due an interval after it completes."""
        due = self.due_token_ids()
        rotated: list[int] = []
        failed: list[tuple[int, str]] = []
        skipped: list[int] = []
        for index, token_id in enumerate(due):
            if cancelled is not None and cancelled():
                break
            try:
                result = self.rotate_if_due(token_id, actor=actor, check=index == 0)
            except SecretStoreUnavailable as error:
                # The keyring is down: every other rotation would fail the same way. Wait.
                failed.append((token_id, str(error)))
                self._record_failure(token_id, str(error), actor)
                break
            except Exception as error:
                log.exception("rotation of token %s failed", token_id)
                failed.append((token_id, str(error)))
                self._record_failure(token_id, str(error), actor)
            else:
                (rotated if result is not None else skipped).append(token_id)
            if progress is not None:
                progress(index + 1, len(due))
        if rotated:
            self.prune_changes()
        return RotationReport(tuple(rotated), tuple(failed), tuple(skipped))

    def _record_failure(self, token_id: int, message: str, actor: str) -> None:
        with self._write():
            Token.update(last_error=message[:500]).where(Token.id == token_id).execute()
            self._audit("rotate-failed", token_id, message[:500], actor=actor)
        self._changed()

    def delete(self, token_id: int) -> None:
        """Permanent: the row, every keyring entry and the journal go; the audit event stays."""
        store = self._require_store()
        store.check()  # fail before the tombstone, not after, when the keyring is down
        with self._write():
            row = self._ready_row(token_id)
            if Intent.get_or_none(Intent.token == row.id) is not None:
                raise Conflict(f"token {token_id} is being changed elsewhere; try again")
            Token.update(phase=DELETING, updated_at=self._now()).where(Token.id == row.id).execute()
            claim = self._claim(row, "delete", "delete", to_generation=row.generation)
            self._audit("delete", row.id, f"agent {row.agent.name}, label {row.label!r}")
        with self._carrying(claim):
            try:
                self._finish_delete(store, claim)
            except SecretStoreUnavailable:
                # The delete is committed (the token answers 401 and is gone from every list);
                # recovery removes the keyring entry once the keyring is back.
                log.warning("token %s deleted; its keyring entry is removed later", token_id)
        self._changed()

    # ----------------------------------------------------------------- the protocol

    def _claim(
        self,
        row: Token,
        kind: str,
        action: str,
        *,
        to_generation: int,
        secret: str | None = None,
        grace_seconds: int = 0,
        actor: str | None = None,
    ) -> _Claim:
        """Write the intent (inside the caller's transaction). The unique index on the token
        makes this a compare-and-swap: a second writer for the same token fails here."""
        try:
            intent = Intent.create(
                token=row.id,
                kind=kind,
                from_generation=row.generation,
                to_generation=to_generation,
                new_fingerprint=tokens.fingerprint(secret) if secret else None,
                new_hint=tokens.hint(secret) if secret else None,
                grace_seconds=grace_seconds,
                action=action,
                actor=actor or self.actor,
                owner_pid=os.getpid(),
                created_at=self._now(),
            )
        except pw.IntegrityError:
            raise Conflict(f"token {row.id} is being changed elsewhere; try again") from None
        # In flight from before the commit: recovery on another thread of this process must
        # never see the intent without knowing it is being carried out.
        with self._lock:
            self._in_flight.add(intent.id)
        return _Claim(intent.id, row.id, row.uuid, row.generation, to_generation)

    @contextmanager
    def _carrying(self, claim: _Claim) -> Iterator[None]:
        """Until the block ends the claim counts as in flight (it has since :meth:`_claim`)."""
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.discard(claim.intent_id)

    @staticmethod
    def _require_claim(claim: _Claim) -> Intent:
        intent = Intent.get_or_none(Intent.id == claim.intent_id)
        if intent is None:
            raise Conflict(f"the change to token {claim.token_id} was undone by recovery")
        return intent

    @staticmethod
    def _put_checked(store: SecretStore, key: str, secret: str) -> None:
        """Write a new entry and read it back: a keyring that drops or mangles it is caught
        before the database points at it."""
        if store.get(key) is not None:
            # Only an orphan can be here (journaled changes delete theirs before giving up).
            store.delete(key)
        store.put(key, secret)
        stored = store.get(key)
        if stored is None or tokens.fingerprint(stored) != tokens.fingerprint(secret):
            store.delete(key)
            raise SecretMismatch(
                "the keyring did not return the secret just stored; nothing changed"
            )

    @staticmethod
    def _discard(store: SecretStore, key: str) -> None:
        """Best effort: an entry nothing points at. If the keyring is gone, it stays an orphan
        that the next write of the same key replaces (see :meth:`_put_checked`)."""
        try:
            store.delete(key)
        except SecretStoreUnavailable:
            log.warning("could not remove an unused keyring entry (keyring unavailable)")

    def _abandon(self, claim: _Claim) -> None:
        """Undo a change that failed before its commit. If even that fails (keyring gone), the
        intent stays for :meth:`reconcile` and the token keeps its old state meanwhile."""
        store = self._store
        try:
            if store is not None:
                store.delete(secret_key(claim.token_uuid, claim.to_generation))
        except SecretStoreUnavailable:
            log.warning("token %s: change left for recovery (keyring unavailable)", claim.token_id)
            return
        self._roll_back(claim.intent_id)

    def _roll_back(self, intent_id: int) -> int | None:
        with self._write():
            intent = Intent.get_or_none(Intent.id == intent_id)
            if intent is None:
                return None
            token_id: int = intent.token_id
            if intent.kind == "create":
                Token.delete().where(Token.id == token_id).execute()  # the intent cascades
            else:
                intent.delete_instance()
        return token_id

    def _replace_secret(
        self, token_id: int, action: str, grace: timedelta | None, actor: str, *, check: bool = True
    ) -> IssuedSecret | None:
        store = self._require_store()
        if check:  # fail before the intent, not after: a failed undo would leave it behind
            store.check()
        secret = tokens.generate()
        with self._write():
            if action == "rotate":
                if not self._db.execute_sql(_IS_DUE, (token_id, *self._due_at())).fetchone():
                    return None
                if Intent.get_or_none(Intent.token == token_id) is not None:
                    return None  # another process is rotating it right now
            row = self._ready_row(token_id)
            grace_seconds = int(grace.total_seconds()) if grace is not None else row.grace_seconds
            claim = self._claim(
                row,
                "refresh",
                action,
                to_generation=row.generation + 1,
                secret=secret,
                grace_seconds=grace_seconds,
                actor=actor,
            )
        with self._carrying(claim):
            try:
                self._put_checked(store, secret_key(claim.token_uuid, claim.to_generation), secret)
            except BaseException:
                self._abandon(claim)
                raise
            new_key = secret_key(claim.token_uuid, claim.to_generation)
            try:
                self._commit_refresh(claim.intent_id)
            except Conflict:
                # Recovery elsewhere finished or undid this change while the keyring write was
                # still waiting. Finished: the new secret is current. Undone: take it back out.
                current = Token.get_or_none(Token.id == token_id)
                if current is None or current.fingerprint != tokens.fingerprint(secret):
                    self._discard(store, new_key)
                    raise
            self._finish_refresh(store, claim.intent_id)
        self._changed()
        return IssuedSecret(self.token(token_id), secret)

    def _commit_refresh(self, intent_id: int) -> None:
        """Point the token at the new generation: a compare-and-swap on the old one."""
        with self._write():
            intent = Intent.get_or_none(Intent.id == intent_id)
            if intent is None:
                raise Conflict("the change was undone by recovery")
            row = Token.get_by_id(intent.token_id)
            if row.generation == intent.to_generation:
                return  # committed already (recovery rolling forward a second time)
            now = self._now()
            grace_until = now + timedelta(seconds=intent.grace_seconds)
            changes = {
                Token.generation: intent.to_generation,
                Token.fingerprint: intent.new_fingerprint,
                Token.hint: intent.new_hint,
                Token.previous_fingerprint: row.fingerprint if intent.grace_seconds else None,
                Token.grace_until: grace_until if intent.grace_seconds else None,
                Token.last_rotated_at: now,
                Token.last_error: None,
                Token.updated_at: now,
            }
            if row.rotation_seconds:
                changes[Token.next_rotation_at] = now + timedelta(seconds=row.rotation_seconds)
            updated = (
                Token.update(changes)
                .where(Token.id == row.id, Token.generation == intent.from_generation)
                .execute()
            )
            if updated != 1:
                raise Conflict(f"token {row.id} changed while its secret was being replaced")
            details = f"generation {intent.to_generation}"
            if intent.grace_seconds:
                grace = format_interval(timedelta(seconds=intent.grace_seconds))
                details += f", previous secret valid for {grace}"
            else:
                details += ", previous secret invalid at once"
            self._audit(intent.action, row.id, details, actor=intent.actor)

    def _finish_refresh(self, store: SecretStore, intent_id: int) -> None:
        """After the commit: remove the old generation's entry, then the intent."""
        intent = Intent.get_or_none(Intent.id == intent_id)
        if intent is None:
            return
        token = Token.get_by_id(intent.token_id)
        try:
            store.delete(secret_key(token.uuid, intent.from_generation))
        except SecretStoreUnavailable:
            log.warning("token %s: old secret left for recovery (keyring unavailable)", token.id)
            return
        with self._write():
            Intent.delete().where(Intent.id == intent_id).execute()

    def _finish_delete(self, store: SecretStore, claim: _Claim) -> None:
        store.delete(secret_key(claim.token_uuid, claim.from_generation))
        with self._write():
            Token.delete().where(Token.id == claim.token_id).execute()

    def reconcile(self) -> ReconcileReport:
        """Finish or undo every change a crash left behind. Idempotent; safe to run at any time.

        Never deletes or regenerates anything because the keyring is unavailable: such changes
        stay journaled (and the tokens keep their old state) until the keyring is back.
        """
        forward: list[int] = []
        back: list[int] = []
        waiting: list[int] = []
        problem: str | None = None
        now = self._now()
        for intent in list(Intent.select(Intent, Token).join(Token).order_by(Intent.id)):
            token_id = intent.token_id
            if not self._abandoned(intent, now):
                waiting.append(token_id)
                continue
            if self._store is None:
                waiting.append(token_id)
                problem = problem or "the system keyring is unavailable"
                continue
            try:
                outcome = self._reconcile_one(self._store, intent)
            except SecretStoreUnavailable as error:
                waiting.append(token_id)
                problem = problem or str(error)
                break
            (forward if outcome else back).append(token_id)
        if forward or back:
            self._changed()
        report = ReconcileReport(tuple(forward), tuple(back), tuple(waiting), problem)
        if forward or back or waiting:
            log.info(
                "recovery: %d rolled forward, %d rolled back, %d waiting",
                len(forward),
                len(back),
                len(waiting),
            )
        return report

    def _abandoned(self, intent: Intent, now: datetime) -> bool:
        """True when no live process is carrying the intent out any more."""
        if intent.owner_pid == os.getpid():
            with self._lock:
                return intent.id not in self._in_flight
        if now - intent.created_at > STALE_INTENT:
            return True
        return not _pid_alive(intent.owner_pid)

    def _reconcile_one(self, store: SecretStore, intent: Intent) -> bool:
        """Roll one intent forward (True) or back (False)."""
        token: Token = intent.token
        claim = _Claim(
            intent.id, token.id, token.uuid, intent.from_generation, intent.to_generation
        )
        if intent.kind == "delete":
            self._finish_delete(store, claim)
            return True
        if intent.kind == "create":
            # The secret was never shown and the command reported failure: undo, so a retry
            # does not leave a second token nobody holds.
            store.delete(secret_key(token.uuid, 0))
            self._roll_back(intent.id)
            return False
        if token.generation == intent.to_generation:  # committed; the old entry may remain
            self._finish_refresh(store, intent.id)
            return True
        new_key = secret_key(token.uuid, intent.to_generation)
        written = store.get(new_key)
        if written is not None and tokens.fingerprint(written) == intent.new_fingerprint:
            self._commit_refresh(intent.id)
            self._finish_refresh(store, intent.id)
            return True
        store.delete(new_key)
        self._roll_back(intent.id)
        return False

    # ----------------------------------------------------------------- access decisions

    def verify(self, environment: str, presented: str, method: str, path: str) -> Decision:
        """What the API answers for this token, method and path (one indexed lookup)."""
        rejected = access.precheck(presented)
        if rejected is not None:
            return rejected
        env = Environment.get_or_none(Environment.name == environment.strip())
        if env is None:
            return Decision(401, f"unknown environment {environment.strip()[:80]!r}")
        fingerprint = tokens.fingerprint(presented)
        # By fingerprint alone, then the environment: with the environment in the WHERE clause
        # SQLite walks that environment's index, every token in it (10 ms at 100,000 tokens).
        matches = Token.select().where(
            (Token.fingerprint == fingerprint) | (Token.previous_fingerprint == fingerprint)
        )
        row = next((r for r in matches if r.environment_id == env.id and r.phase == READY), None)
        grant = None
        if row is not None:
            agent = Agent.get_by_id(row.agent_id)
            grant = self._grant(
                row.id,
                row.status == ACTIVE,
                env.api_enabled,
                self._permission_keys(agent.role_id),
                row.grace_until if row.fingerprint != fingerprint else None,
                previous=row.fingerprint != fingerprint,
            )
        return access.decide(grant, method, path, self._timestamp(grant))

    def _timestamp(self, grant: Grant | None) -> float:
        """The service clock as POSIX seconds, read only when a grace deadline needs it."""
        if grant is None or grant.valid_until is None:
            return 0.0
        return self.clock.now().timestamp()

    @staticmethod
    def _permission_keys(role_id: int) -> frozenset[tuple[str, str]]:
        rows = RolePermission.select().where(RolePermission.role == role_id)
        return frozenset(Permission(p.method, p.endpoint).key for p in rows)

    @staticmethod
    def _grant(
        token_id: int,
        active: bool,
        api_enabled: bool,
        permissions: frozenset[tuple[str, str]],
        grace_until: datetime | None,
        *,
        previous: bool,
    ) -> Grant:
        """What a matching secret grants; a *previous* secret only until *grace_until*."""
        valid_until = None
        if previous:
            valid_until = utc(grace_until).timestamp() if grace_until else 0.0
        return Grant(token_id, active, api_enabled, permissions, valid_until)

    def access_index(self) -> AccessIndex:
        """A snapshot of every grant, for many decisions in-process (the window, benchmarks).
        Read as plain rows: 100,000 tokens take a fraction of a second."""
        role_keys: dict[int, set[tuple[str, str]]] = {}
        for role_id, method, endpoint in self._db.execute_sql(
            "SELECT role_id, method, endpoint FROM role_permission"
        ).fetchall():
            role_keys.setdefault(role_id, set()).add(Permission(method, endpoint).key)
        frozen = {role_id: frozenset(keys) for role_id, keys in role_keys.items()}
        environments = self._db.execute_sql(
            "SELECT id, name, api_enabled FROM environment"
        ).fetchall()
        # Keyed by the raw SHA-256 digest: quicker to make and to hash than its hex text.
        by_env: dict[str, dict[bytes, Grant]] = {}
        by_id: dict[int, tuple[dict[bytes, Grant], bool]] = {}
        for env_id, name, api_enabled in environments:
            grants = by_env.setdefault(_nocase(name), {})
            by_id[env_id] = grants, bool(api_enabled)
        rows = self._db.execute_sql(
            "SELECT t.environment_id, t.id, t.status = 'Active', t.fingerprint, "
            "t.previous_fingerprint, t.grace_until, a.role_id "
            "FROM token t JOIN agent a ON a.id = t.agent_id WHERE t.phase = 'ready'"
        ).fetchall()
        for env_id, token_id, active, fingerprint, previous, grace_until, role_id in rows:
            grants, enabled = by_id[env_id]
            permissions = frozen.get(role_id, frozenset())
            grants[bytes.fromhex(fingerprint)] = self._grant(
                token_id, bool(active), enabled, permissions, None, previous=False
            )
            if previous:
                ends = Token.grace_until.python_value(grace_until)
                grants[bytes.fromhex(previous)] = self._grant(
                    token_id, bool(active), enabled, permissions, ends, previous=True
                )
        return AccessIndex(by_env, self._timestamp)


_sha256 = hashlib.sha256
_decide = access.decide
_UNKNOWN = access.decide(None, "GET", "/", 0.0)  # what decide answers for no grant
_ROUTES = access._ROUTES  # routes seen already (access.route)
_TOKEN_LENGTH = tokens.TOKEN_LENGTH
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _nocase(name: str) -> str:
    """A name as SQLite's NOCASE collation compares it: only ASCII letters fold."""
    return name.translate(_ASCII_LOWER)


class AccessIndex:
    """Decisions from an in-memory snapshot: a SHA-256 and two dict lookups per request."""

    def __init__(
        self,
        by_environment: dict[str, dict[bytes, Grant]],
        timestamp: Callable[[Grant | None], float],
    ) -> None:
        self._by_env = by_environment
        self._timestamp = timestamp
        self._spellings: dict[str, dict[bytes, Grant]] = {}  # environment as given -> its grants

    def __len__(self) -> int:
        return sum(len(grants) for grants in self._by_env.values())

    def verify(self, environment: str, presented: str, method: str, path: str) -> Decision:
        grants = self._spellings.get(environment)
        if grants is None:
            grants = self._by_env.get(_nocase(environment.strip()))
            if grants is not None and len(self._spellings) < 1024:
                self._spellings[environment] = grants
        if grants is None or len(presented) != _TOKEN_LENGTH:
            rejected = access.precheck(presented)
            return rejected or Decision(401, f"unknown environment {environment.strip()[:80]!r}")
        try:  # tokens.fingerprint, inlined, as raw bytes (see access_index)
            grant = grants.get(_sha256(presented.encode()).digest())
        except UnicodeEncodeError:  # a lone surrogate: not a token, and never a crash
            grant = None
        if grant is None:
            # Only now tell "malformed" from "unknown": the checksum costs more than a lookup.
            return access.precheck(presented) or _UNKNOWN
        if grant.valid_until is not None:
            return _decide(grant, method, path, self._timestamp(grant))
        if grant.refusal is not None:  # what access.decide answers first, too
            return grant.refusal
        # The common answer, "allowed", without a further call: exactly when access.decide
        # would give it (nothing refuses the grant, the route is known and granted).
        route = _ROUTES.get((method, path))
        if route is not None:
            wanted, any_method, _ = route
            permissions = grant.permissions
            if wanted is not None and (wanted in permissions or any_method in permissions):
                return grant.allowed_decision
        return _decide(grant, method, path, 0.0)
