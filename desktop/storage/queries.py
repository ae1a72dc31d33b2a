"""Every raw SQL read, each behind a name: the window's table, counts, the change log, due
rotations and the rows behind the in-memory access index.

These are the reads that must stay fast at 100,000 tokens, so they are written as SQL (each
with the index it walks noted beside it) and return plain values: :class:`TokenRow` built
straight from the cursor, ids, counts, tuples. The SELECT list is generated from
:class:`~desktop.domain.table.TokenRow`, and the orders from :data:`~desktop.domain.table.ORDERS`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from desktop.domain.access import agent_refusal
from desktop.domain.table import ORDERS, Column, Names, SortTerm, TokenRow
from desktop.domain.validation import name_key
from desktop.storage.database import Database
from desktop.storage.states import parse_stored_time

# Ids per "IN (...)" query, well below SQLite's limit on variables.
IDS_PER_QUERY = 500

# Each TokenRow field as SQL, read without building models; times as whole POSIX seconds.
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
    # The latest deadline of the token's replaced secrets (a MAX on the previous_secret
    # token index: a lookup per row, and most tokens have none).
    "grace_until": (
        "(SELECT CAST(strftime('%s', MAX(p.valid_until)) AS INTEGER) "
        "FROM previous_secret p WHERE p.token_id = t.id)"
    ),
    "last_error": "t.last_error",
    "created": "CAST(strftime('%s', t.created_at) AS INTEGER)",
    "expires": "CAST(strftime('%s', t.expires_at) AS INTEGER)",
    "holder": "t.holder",
    # From _USAGE (no row: never used), a lookup by its primary key for each row read.
    "last_used": "CAST(strftime('%s', u.last_used_at) AS INTEGER)",
    "use_count": "COALESCE(u.use_count, 0)",
}
ROW_COLUMNS = ", ".join(_ROW_SQL[name] for name in TokenRow._fields)
# Every read of rows takes the token's use along. A LEFT JOIN keeps the token the outer loop,
# so each query still walks the index it walked before and looks usage up by primary key.
_USAGE = "LEFT JOIN token_usage u ON u.token_id = t.id"
_ROW_SELECT = f"SELECT {ROW_COLUMNS} FROM token t {_USAGE} WHERE t.phase = 'ready'"  # noqa: S608
_PAGE_SELECT = (
    f"SELECT {ROW_COLUMNS} FROM token t {_USAGE} "  # noqa: S608
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
    "id": "t.id",
    "rotation_seconds": "t.rotation_seconds",
    "next_rotation": "t.next_rotation_at",
    "created": "t.created_at",
    "expires": "t.expires_at",
    "environment": "e.name",
    "last_used": "u.last_used_at",
}


def _order_terms(terms: tuple[SortTerm, ...]) -> tuple[str, ...]:
    """One column's order (desktop.domain.table.ORDERS) as SQL terms, each ascending."""
    sql: list[str] = []
    for term in terms:
        expression = _ORDER_SQL[term.source]
        if term.nulls_last:
            sql.append(f"{expression} IS NULL")
        if term.nulls_first:
            sql.append(f"{expression} IS NOT NULL")
        if term.negate:
            expression = f"NOT ({expression})"
        sql.append(f"{expression} COLLATE NOCASE" if term.nocase else expression)
    return tuple(sql)


# The table's orders, as SQL (ties by id). They follow desktop.domain.table.ORDERS, as the
# window's in-memory sort does; NOCASE folds ASCII letters only, close enough for a first screen.
TABLE_ORDERS: dict[Column, tuple[str, ...]] = {
    column: _order_terms(ORDERS[column]) for column in Column
}

# "+phase": count from the (environment or agent, phase) index alone, 6 ms at 100,000 tokens,
# instead of looking up every ready token's row through the phase index.
_COUNT_BY_ENVIRONMENT = (
    "SELECT environment_id, COUNT(*) FROM token WHERE +phase = 'ready' GROUP BY environment_id"
)
_COUNT_BY_AGENT = "SELECT agent_id, COUNT(*) FROM token WHERE +phase = 'ready' GROUP BY agent_id"

# Due for rotation: active tokens past their rotation time and not expired (an expired token
# is never rotated: its secret would answer 401 anyway). A clock that went backwards (now
# earlier than the last rotation) makes nothing due: a rotation is never repeated for it.
# Parameters: now, now, now. "+" keeps SQLite on the next_rotation_at index.
_DUE = (
    "next_rotation_at <= ? AND +phase = 'ready' AND +status = 'Active' "
    "AND rotation_seconds IS NOT NULL AND (last_rotated_at IS NULL OR last_rotated_at <= ?) "
    "AND (expires_at IS NULL OR expires_at > ?)"
)
_IS_DUE = f"SELECT 1 FROM token WHERE id = ? AND {_DUE}"  # noqa: S608
# Walks the next_rotation_at index from its start ("+" keeps SQLite from choosing the phase
# index instead, which means reading every ready token).
_NEXT_DUE = (
    "SELECT next_rotation_at FROM token WHERE next_rotation_at IS NOT NULL "
    "AND +phase = 'ready' AND +status = 'Active' "
    # A rotation at or after the token's expiry never happens.
    "AND (expires_at IS NULL OR expires_at > next_rotation_at)"
)


def _token_rows(
    database: Database, sql: str, params: list[Any] | tuple[Any, ...] = ()
) -> list[TokenRow]:
    """What a SELECT of ROW_COLUMNS returns, as typed rows."""
    return list(map(TokenRow._make, database.rows(sql, params)))


def data_version(database: Database) -> int:
    """Changes whenever another connection commits: cheap polling for outside changes. On
    PostgreSQL, whenever a commit wrote to the change log (what the window follows)."""
    if database.engine == "postgresql":
        return change_cursor(database)
    row = database.first("PRAGMA data_version")
    return int(row[0]) if row else 0


# ----------------------------------------------------------------- the window's table


def names(database: Database) -> Names:
    """Environment, agent and role names for the ids in :class:`TokenRow`, with why an agent's
    tokens are refused and what each role grants (a few rows each: one per agent or grant)."""
    environments = dict(database.rows("SELECT id, name FROM environment"))
    agents: dict[int, tuple[str, str]] = {}
    refusals: dict[int, str] = {}
    for agent_id, agent, role, disabled, logged_in, signed in database.rows(
        "SELECT agent.id, agent.name, role.name, agent.disabled, agent.has_logged_in, "
        "agent.signed_agreement FROM agent JOIN role ON role.id = agent.role_id"
    ):
        agents[agent_id] = (agent, role)
        refusal = agent_refusal(
            agent,
            disabled=bool(disabled),
            has_logged_in=bool(logged_in),
            signed_agreement=bool(signed),
        )
        if refusal is not None:
            refusals[agent_id] = refusal
    grants: dict[str, list[str]] = {}
    for role, method, endpoint in database.rows(
        "SELECT role.name, p.method, p.endpoint FROM role_permission p "
        "JOIN role ON role.id = p.role_id"
    ):
        grants.setdefault(role, []).append(f"{method} {endpoint}")
    permissions = {role: tuple(sorted(texts)) for role, texts in grants.items()}
    return Names(environments, agents, refusals, permissions)


# Every row at once reads the replaced secrets' deadlines apart (see token_rows).
_BULK_SELECT = (
    "SELECT "  # noqa: S608
    + ", ".join("NULL" if name == "grace_until" else _ROW_SQL[name] for name in TokenRow._fields)
    + f" FROM token t {_USAGE} WHERE t.phase = 'ready'"
)
_DEADLINES = (
    "SELECT token_id, CAST(strftime('%s', MAX(valid_until)) AS INTEGER) FROM previous_secret "
    "GROUP BY token_id ORDER BY token_id"
)


def token_rows(database: Database, environment_id: int | None = None) -> list[TokenRow]:
    """Every ready token (of one environment, or of all), by id.

    The latest deadline of each token's replaced secrets is read in a second query and set on
    the few rows that have one: asked in the SELECT, it was a lookup for every row, a tenth of
    the time 100,000 rows take. Call it inside :meth:`Database.snapshot` (as the window's
    reader does) for both reads to see one state."""
    if environment_id is None:
        rows = _token_rows(database, _BULK_SELECT + " ORDER BY t.id")
    else:
        sql = _BULK_SELECT + " AND t.environment_id = ? ORDER BY t.id"
        rows = _token_rows(database, sql, (environment_id,))
    by_id = attrgetter("id")
    for token_id, until in database.rows(_DEADLINES):
        at = bisect_left(rows, token_id, key=by_id)
        if at < len(rows) and rows[at].id == token_id:
            rows[at] = rows[at]._replace(grace_until=until)
    return rows


def token_rows_by_id(database: Database, token_ids: Iterable[int]) -> list[TokenRow]:
    """The rows of these tokens that exist and are ready (the others are gone)."""
    ids = sorted(set(token_ids))
    rows: list[TokenRow] = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        marks = ", ".join("?" * len(chunk))
        sql = f"{_ROW_SELECT} AND t.id IN ({marks}) ORDER BY t.id"
        rows += _token_rows(database, sql, chunk)
    return rows


def token_page(
    database: Database,
    environment_id: int | None,
    column: Column,
    *,
    descending: bool,
    limit: int,
) -> list[TokenRow]:
    """The first *limit* ready tokens in the table's order by *column* (:data:`TABLE_ORDERS`),
    read without reading the others: what the window paints first."""
    direction = " DESC" if descending else ""
    terms = [*TABLE_ORDERS[column], "t.id"]
    order = ", ".join(term + direction for term in terms)
    where, args = "", [limit]
    if environment_id is not None:
        # By creation, walk the created_at index and skip other environments' tokens ("+"
        # keeps SQLite from sorting the whole environment instead: 40 ms at 40,000 tokens).
        # Other orders have no index to walk: read the environment's tokens, keep the best.
        term = "+t.environment_id" if column == Column.CREATED else "t.environment_id"
        where, args = f" AND {term} = ?", [environment_id, limit]
    sql = f"{_PAGE_SELECT}{where} ORDER BY {order} LIMIT ?"
    return _token_rows(database, sql, args)


def token_count(database: Database, environment_id: int | None = None) -> int:
    """How many ready tokens there are (in one environment, or in all)."""
    if environment_id is None:
        row = database.first("SELECT COUNT(*) FROM token WHERE phase = 'ready'")
    else:
        row = database.first(
            "SELECT COUNT(*) FROM token WHERE phase = 'ready' AND environment_id = ?",
            (environment_id,),
        )
    return int(row[0]) if row else 0


def counts_by_environment(database: Database) -> dict[int, int]:
    """How many ready tokens each environment holds (environments without any: absent)."""
    return dict(database.rows(_COUNT_BY_ENVIRONMENT))


def counts_by_agent(database: Database) -> dict[int, int]:
    """How many ready tokens each agent holds (agents without any: absent)."""
    return dict(database.rows(_COUNT_BY_AGENT))


def usage_since(database: Database, after: datetime | None) -> list[tuple[int, int, int]]:
    """The tokens last used later than *after* (naive UTC; None: every token ever used), as
    (token id, last use in whole POSIX seconds, use count): what a window reads to bring its
    Last used column up to date, since usage writes leave no trace in the change log.

    A scan of ``token_usage`` (one short row per token ever used: a few milliseconds at
    100,000), rather than an index that every usage write would have to keep up."""
    sql = (
        "SELECT token_id, CAST(strftime('%s', last_used_at) AS INTEGER), use_count FROM token_usage"
    )
    args: tuple[Any, ...] = ()
    if after is not None:
        sql, args = sql + " WHERE last_used_at > ?", (after,)
    rows = database.rows(sql, args)
    return [(int(token_id), int(at), int(count)) for token_id, at, count in rows]


# ----------------------------------------------------------------- the change log


def change_cursor(database: Database) -> int:
    """The id of the newest change-log entry ever written (0 for none).

    On PostgreSQL the newest entry still kept: a sequence is not transactional (it would name
    entries not yet committed), and writers commit in id order (under the write lock), so the
    largest committed id is the newest written, unless pruning took every entry (a reader
    then reads everything again, as after any pruning past it)."""
    if database.engine == "postgresql":
        row = database.first("SELECT COALESCE(MAX(id), 0) FROM change_log")
        return int(row[0]) if row else 0
    row = database.first("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'")
    return int(row[0]) if row else 0


def changes_after(database: Database, cursor: int) -> list[tuple[int, str, int | None]]:
    """The change-log entries after *cursor*, oldest first: (id, kind, token id or None)."""
    sql = "SELECT id, kind, token_id FROM change_log WHERE id > ? ORDER BY id"
    return [
        (entry_id, kind, token_id) for entry_id, kind, token_id in database.rows(sql, (cursor,))
    ]


# ----------------------------------------------------------------- rotation


def _due_parameters(now: datetime) -> tuple[Any, Any, Any]:
    """The parameters of :data:`_DUE`: now (naive UTC), which the driver writes as the database
    keeps times."""
    return now, now, now


# Due tokens with what decides whether their agent may have them rotated, read from the
# next_rotation_at index (a few rows) rather than through every ready token (25 ms at 100,000:
# the window asks at every scheduler tick). The agent is looked up by its primary key for each
# due token, so SQLite still walks that index.
_DUE_WITH_AGENTS = (
    "SELECT token.id, agent.name, agent.disabled, agent.has_logged_in, agent.signed_agreement, "  # noqa: S608
    f"token.last_error FROM token JOIN agent ON agent.id = token.agent_id WHERE {_DUE} "
    # Only the holder's scheduler rotates a token (desktop.domain.holders).
    "AND +token.holder = ? ORDER BY next_rotation_at"
)


def due_rotations(
    database: Database, now: datetime, holder: str
) -> list[tuple[int, str, bool, bool, bool, str | None]]:
    """The tokens *holder* holds that are due for rotation at *now* (naive UTC), earliest
    first, each with its agent's standing: (token id, agent name, disabled, logged in, signed
    the agreement, the token's last rotation error)."""
    return [
        (token_id, name, bool(disabled), bool(logged_in), bool(signed), last_error)
        for token_id, name, disabled, logged_in, signed, last_error in database.rows(
            _DUE_WITH_AGENTS, (*_due_parameters(now), holder)
        )
    ]


def is_due(database: Database, token_id: int, now: datetime) -> bool:
    """Whether one token is due for rotation at *now* (naive UTC), by the same rule."""
    return database.first(_IS_DUE, (token_id, *_due_parameters(now))) is not None


def expiring_between(database: Database, start: datetime, end: datetime) -> list[int]:
    """The active tokens that expire after *start* and no later than *end* (naive UTC),
    soonest first: what is about to stop working, for the window to warn of."""
    return [
        token_id
        for (token_id,) in database.rows(
            "SELECT id FROM token WHERE expires_at > ? AND expires_at <= ? "
            "AND phase = 'ready' AND status = 'Active' ORDER BY expires_at, id",
            (start, end),
        )
    ]


def next_due_at(
    database: Database, environment_id: int | None = None, *, now: datetime | None = None
) -> datetime | None:
    """The earliest scheduled rotation of an active token (in one environment, or in any), as
    naive UTC; one that comes at or after its token's expiry never happens, and with *now*
    (naive UTC) neither does one of a token expired by then."""
    sql, args = _NEXT_DUE, list[Any]()
    if now is not None:
        sql, args = sql + " AND (expires_at IS NULL OR expires_at > ?)", [now]
    if environment_id is not None:
        sql, args = sql + " AND +environment_id = ?", [*args, environment_id]
    row = database.first(sql + " ORDER BY next_rotation_at LIMIT 1", args)
    if row is None:
        return None
    value = parse_stored_time(row[0])
    return value if isinstance(value, datetime) else None


# ----------------------------------------------------------------- the journal


def any_intent(database: Database) -> bool:
    """Whether the journal holds any intent (a change in flight, or one a crash left behind):
    almost never, so recovery at start-up asks this before it reads any model."""
    return database.first("SELECT 1 FROM intent LIMIT 1") is not None


# ----------------------------------------------------------------- access decisions


def role_permissions(database: Database) -> list[tuple[int, str, str]]:
    """Every permission of every role: (role id, method, endpoint as written)."""
    return [
        (role_id, method, endpoint)
        for role_id, method, endpoint in database.rows(
            "SELECT role_id, method, endpoint FROM role_permission"
        )
    ]


def environments(database: Database) -> list[tuple[int, str, bool]]:
    """Every environment by name (the column's NOCASE order): (id, name, whether its API
    access is enabled). Raw, as the window's environment bar reads it before its first paint."""
    return [
        (env_id, name, bool(enabled))
        for env_id, name, enabled in database.rows(
            "SELECT id, name, api_enabled FROM environment ORDER BY name COLLATE NOCASE"
        )
    ]


def environment_id(database: Database, name: str) -> int | None:
    """The id of the environment that is *name* (compared by
    :func:`~desktop.domain.validation.name_key`), or None when there is none."""
    row = database.first("SELECT id FROM environment WHERE name_key = ?", (name_key(name),))
    return None if row is None else int(row[0])


def environment_access(database: Database) -> list[tuple[int, str, bool]]:
    """Every environment: (id, name, whether its API access is enabled)."""
    return [
        (env_id, name, bool(enabled))
        for env_id, name, enabled in database.rows("SELECT id, name, api_enabled FROM environment")
    ]


def grant_rows(
    database: Database, token_ids: Sequence[int] | None = None
) -> list[tuple[int, int, int, str, str | None, Any, int, Any, int]]:
    """Every ready token as the access index reads it: (environment id, token id, active (1/0),
    fingerprint, previous fingerprint, its deadline as stored, role id, the token's expiry as
    stored or None, agent id). A token appears once
    per replaced secret it still has on record (once, with two NULLs, when it has none). Plain
    rows: 100,000 tokens take a fraction of a second. Turn a stored deadline into a datetime
    with :func:`stored_time`. With *token_ids*, those tokens' rows alone."""
    sql = (
        "SELECT t.environment_id, t.id, t.status = 'Active', t.fingerprint, "
        "p.fingerprint, p.valid_until, a.role_id, t.expires_at, t.agent_id "
        "FROM token t JOIN agent a ON a.id = t.agent_id "
        "LEFT JOIN previous_secret p ON p.token_id = t.id WHERE t.phase = 'ready'"
    )
    if token_ids is None:
        return database.rows(sql)
    return _rows_of(database, sql + " AND t.id IN ({})", token_ids)


# Ids per statement: well under SQLite's limit on parameters.
_IDS_PER_QUERY = 500


def _rows_of(database: Database, sql: str, ids: Sequence[int]) -> list[Any]:
    """The rows of *sql* (whose ``{}`` takes a list of placeholders) for *ids*, in chunks."""
    rows: list[Any] = []
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = list(ids[start : start + _IDS_PER_QUERY])
        rows += database.rows(sql.format(", ".join("?" * len(chunk))), chunk)
    return rows


def previous_deadlines(
    database: Database, now: datetime, token_id: int | None = None
) -> dict[int, tuple[int, datetime]]:
    """For each token (or the one) with replaced secrets still valid after *now* (naive UTC):
    how many, and the latest deadline (naive UTC)."""
    sql = "SELECT token_id, COUNT(*), MAX(valid_until) FROM previous_secret WHERE valid_until > ?"
    args: list[Any] = [now]
    if token_id is not None:
        sql, args = sql + " AND token_id = ?", [now, token_id]
    deadlines: dict[int, tuple[int, datetime]] = {}
    for owner, count, latest in database.rows(sql + " GROUP BY token_id", args):
        until = stored_time(latest)
        if until is not None:
            deadlines[int(owner)] = int(count), until
    return deadlines


def any_expired_previous(database: Database, now: datetime) -> bool:
    """Whether a replaced secret's grace ended by *now* (naive UTC) and it is still on record:
    a quick look before a pruning write."""
    row = database.first("SELECT 1 FROM previous_secret WHERE valid_until <= ? LIMIT 1", (now,))
    return row is not None


def agent_standings(database: Database) -> dict[int, tuple[str, int, bool, bool, bool]]:
    """Every agent by id (one row each): (name, role id, disabled, logged in, signed the
    usage agreement)."""
    return {
        int(agent_id): (str(name), int(role_id), bool(disabled), bool(logged_in), bool(signed))
        for agent_id, name, role_id, disabled, logged_in, signed in database.rows(
            "SELECT id, name, role_id, disabled, has_logged_in, signed_agreement FROM agent"
        )
    }


def agent_standing(database: Database, agent_id: int) -> tuple[int, str, bool, bool, bool]:
    """What an access decision needs of one agent: (role id, name, disabled, logged in, signed
    the usage agreement)."""
    row = database.first(
        "SELECT role_id, name, disabled, has_logged_in, signed_agreement FROM agent WHERE id = ?",
        (agent_id,),
    )
    if row is None:  # a token's agent is a foreign key: it cannot be missing
        raise LookupError(f"no agent {agent_id}")
    role_id, name, disabled, logged_in, signed = row
    return int(role_id), str(name), bool(disabled), bool(logged_in), bool(signed)


def ineligible_holders(
    database: Database, token_ids: Sequence[int] | None = None
) -> list[tuple[int, str, bool, bool, bool]]:
    """Every ready token (of *token_ids*, or all) whose agent may not use it (disabled, not
    logged in, or without the signed agreement): (token id, agent name, disabled, logged in,
    signed). Usually few rows: read from the agents first, then each one's tokens through the
    (agent, phase) index."""
    sql = (
        "SELECT t.id, a.name, a.disabled, a.has_logged_in, a.signed_agreement "
        "FROM agent a JOIN token t ON t.agent_id = a.id "
        "WHERE (a.disabled OR NOT a.has_logged_in OR NOT a.signed_agreement) "
        "AND t.phase = 'ready'"
    )
    rows = (
        database.rows(sql)
        if token_ids is None
        else _rows_of(database, sql + " AND t.id IN ({})", token_ids)
    )
    return [
        (token_id, name, bool(disabled), bool(logged_in), bool(signed))
        for token_id, name, disabled, logged_in, signed in rows
    ]


def stored_time(value: Any) -> datetime | None:
    """A time as the database keeps it (text), as a naive UTC datetime."""
    parsed = parse_stored_time(value)
    return parsed if isinstance(parsed, datetime) else None
