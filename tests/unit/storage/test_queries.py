"""The named SQL reads: generated from the row type and the orders, and walking their indexes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from desktop.app import Context
from desktop.domain.table import ORDERS, Column, TokenRow
from desktop.services.tokens import TokenService
from desktop.storage import queries, repository
from desktop.storage.database import Database
from desktop.storage.states import naive
from tests.helpers.clock import FakeClock


@pytest.fixture
def database(memory_context: Context) -> Database:
    return memory_context.database


@pytest.fixture
def service(memory_context: Context) -> TokenService:
    service = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service


def plan(database: Database, sql: str, params: list[object]) -> str:
    return " | ".join(row[-1] for row in database.rows("EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.sqlite_only
def test_the_select_list_is_the_row_type(database: Database) -> None:
    cursor = database.handle.execute_sql(
        f"SELECT {queries.ROW_COLUMNS} FROM token t LEFT JOIN token_usage u"  # noqa: S608
    )
    assert len(cursor.description) == len(TokenRow._fields)
    assert set(queries.TABLE_ORDERS) == set(Column) == set(ORDERS)
    assert queries.TABLE_ORDERS[Column.CREATED] == ("t.created_at",)
    assert queries.TABLE_ORDERS[Column.ROTATION] == (
        "t.rotation_seconds IS NULL",
        "t.rotation_seconds",
    )
    assert queries.TABLE_ORDERS[Column.STATUS] == ("NOT (t.status = 'Active')",)
    assert queries.TABLE_ORDERS[Column.NAME] == ("a.name COLLATE NOCASE",)
    # Never used first on both engines, whose own places for NULL differ.
    assert queries.TABLE_ORDERS[Column.LAST_USED] == (
        "u.last_used_at IS NOT NULL",
        "u.last_used_at",
    )


def test_rows_read_times_as_posix_seconds(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", label="x", rotation="1d")
    (row,) = queries.token_rows(database)
    assert (row.id, row.label, row.active, row.generation) == (issued.token.id, "x", 1, 0)
    assert row.created == int(clock.now().timestamp())
    assert row.next_rotation == int((clock.now() + timedelta(days=1)).timestamp())
    assert row.last_rotated is None and row.grace_until is None
    assert queries.token_rows(database, 999) == []


@pytest.mark.sqlite_only  # SQLite's query plan
def test_first_screen_by_creation_walks_the_created_at_index(database: Database) -> None:
    order = ", ".join(queries.TABLE_ORDERS[Column.CREATED])
    sql = f"{queries._PAGE_SELECT} AND +t.environment_id = ? ORDER BY {order}, t.id LIMIT ?"
    assert "token_created_at" in plan(database, sql, [1, 50])


@pytest.mark.sqlite_only  # SQLite's query plan
def test_due_tokens_come_from_their_index(database: Database) -> None:
    assert "next_rotation_at" in plan(database, queries._DUE_WITH_AGENTS, [0, 0, 0, ""])
    with_agents = plan(database, queries._DUE_WITH_AGENTS, [0, 0, 0, ""])
    assert "next_rotation_at" in with_agents
    assert "SEARCH agent USING INTEGER PRIMARY KEY" in with_agents


def test_the_agent_standing_reads(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", rotation="1h")
    agent_id = service.agent("alice").id
    role_id = service.role("Reader").id
    assert queries.agent_standing(database, agent_id) == (role_id, "alice", False, True, True)
    assert queries.ineligible_holders(database) == []
    service.set_agent_disabled("alice", True)
    service.update_agent("alice", signed_agreement=False)
    assert queries.agent_standing(database, agent_id) == (role_id, "alice", True, True, False)
    assert queries.ineligible_holders(database) == [(issued.token.id, "alice", True, True, False)]
    later = (clock.now() + timedelta(hours=2)).replace(tzinfo=None)
    assert queries.due_rotations(database, later, service.person) == [
        (issued.token.id, "alice", True, True, False, None)
    ]
    with pytest.raises(LookupError):
        queries.agent_standing(database, 999)


def test_a_clock_gone_backwards_makes_nothing_due(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", rotation="1h")
    now = clock.now().replace(tzinfo=None)
    later = now + timedelta(hours=2)
    assert [due[0] for due in queries.due_rotations(database, later, service.person)] == [
        issued.token.id
    ]
    assert queries.is_due(database, issued.token.id, later)
    clock.advance(timedelta(hours=2))
    service.rotate_due()
    # Back to before the rotation it just made, but past the (old) due time: nothing is due.
    assert queries.due_rotations(database, later - timedelta(minutes=1), service.person) == []
    assert not queries.is_due(database, issued.token.id, later - timedelta(minutes=1))


def test_next_due_at_is_naive_utc(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    assert queries.next_due_at(database) is None
    service.create_token("Production", "alice", rotation="1d")
    expected = (clock.now() + timedelta(days=1)).replace(tzinfo=None)
    assert queries.next_due_at(database) == expected
    assert queries.next_due_at(database, 999) is None


def test_counts_and_names(service: TokenService, database: Database) -> None:
    issued = service.create_token("Production", "alice")
    env_id = service.environment("Production").id
    agent_id = service.agent("alice").id
    assert queries.counts_by_environment(database) == {env_id: 1}
    assert queries.counts_by_agent(database) == {agent_id: 1}
    assert queries.token_count(database) == queries.token_count(database, env_id) == 1
    names = queries.names(database)
    assert names.environments == {env_id: "Production"}
    assert names.agents == {agent_id: ("alice", "Reader")}
    assert [row.id for row in queries.token_rows_by_id(database, [issued.token.id])] == [
        issued.token.id
    ]


def test_names_say_which_agents_are_refused_and_what_each_role_grants(
    service: TokenService, database: Database
) -> None:
    """What the table shows beside a token: a warning on an agent that may not use it (the
    access rule's own words) and a role's permissions, sorted as the directory lists them."""
    service.add_role("Writer", ["POST /Payments", "* /Loans"])
    service.add_role("Nobody")
    service.add_agent("bob", "Writer")
    service.add_agent("carol", "Nobody", has_logged_in=True, signed_agreement=True)
    service.set_agent_disabled("carol", True)
    ids = {name: service.agent(name).id for name in ("alice", "bob", "carol")}
    names = queries.names(database)
    assert names.refusals == {
        ids["bob"]: "agent 'bob' has not logged in and has not signed the usage agreement",
        ids["carol"]: "agent 'carol' is disabled",
    }
    assert names.permissions == {
        "Reader": ("GET /Loans",),
        "Writer": service.role("Writer").permissions,
    }
    assert names.permissions["Writer"] == ("* /Loans", "POST /Payments")


def test_the_access_index_rows(service: TokenService, database: Database) -> None:
    issued = service.create_token("Production", "alice", grace="1h")
    service.refresh(issued.token.id)
    assert queries.role_permissions(database) == [(service.role("Reader").id, "GET", "/Loans")]
    assert queries.environment_access(database) == [
        (service.environment("Production").id, "Production", True)
    ]
    rows = queries.grant_rows(database)
    ((_, token_id, active, fingerprint, previous, grace_until, _, expires, agent_id),) = rows
    assert (token_id, active) == (issued.token.id, 1)
    assert queries.agent_standings(database)[agent_id][0] == "alice"
    assert len(fingerprint) == len(previous or "") == 64
    assert isinstance(queries.stored_time(grace_until), datetime)
    assert queries.stored_time(None) is None
    assert expires is None


def test_a_token_with_several_previous_secrets_has_a_grant_row_for_each(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    token_id = service.create_token("Production", "alice", grace="2h").token.id
    untouched = service.create_token("Production", "alice").token.id
    start = clock.now()
    service.refresh(token_id)
    clock.advance(timedelta(hours=1))
    service.refresh(token_id)
    rows = queries.grant_rows(database)
    assert sorted((row[1], queries.stored_time(row[5])) for row in rows) == [
        (token_id, naive(start + timedelta(hours=2))),
        (token_id, naive(start + timedelta(hours=3))),
        (untouched, None),
    ]
    assert len({row[3] for row in rows if row[1] == token_id}) == 1  # one current secret
    now = naive(clock.now())
    assert queries.previous_deadlines(database, now) == {
        token_id: (2, naive(start + timedelta(hours=3)))
    }
    assert queries.previous_deadlines(database, now, untouched) == {}
    assert not queries.any_expired_previous(database, now)
    later = naive(start + timedelta(hours=2))
    assert queries.any_expired_previous(database, later)
    assert queries.previous_deadlines(database, later) == {
        token_id: (1, naive(start + timedelta(hours=3)))
    }
    assert [row.grace_until for row in queries.token_rows(database)] == [
        int((start + timedelta(hours=3)).timestamp()),
        None,
    ]


def test_the_change_log_reads(service: TokenService, database: Database) -> None:
    assert queries.change_cursor(database) > 0  # the directory above was logged
    cursor = queries.change_cursor(database)
    issued = service.create_token("Production", "alice")
    entries = queries.changes_after(database, cursor)
    assert {kind for _, kind, _ in entries} == {"token"}
    assert {token_id for _, _, token_id in entries} == {issued.token.id}
    assert [entry for entry, _, _ in entries] == list(range(cursor + 1, cursor + 1 + len(entries)))
    assert isinstance(queries.data_version(database), int)


def test_every_row_read_at_once_carries_its_latest_replaced_deadline(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    """token_rows reads the deadlines apart from the rows: the same values as one row read."""
    service.add_environment("Staging", api_enabled=True)
    ids = [service.create_token(env, "alice").token.id for env in ("Production", "Staging") * 3]
    service.refresh(ids[1], grace=timedelta(hours=1))
    clock.advance(timedelta(minutes=10))
    service.refresh(ids[1], grace=timedelta(hours=2))  # a later deadline: the latest shows
    service.refresh(ids[4], grace=timedelta(hours=1))
    service.refresh(ids[5])  # no grace: no deadline
    with database.snapshot():
        every = queries.token_rows(database)
        staging = queries.token_rows(database, service.environment("Staging").id)
    assert every == queries.token_rows_by_id(database, ids)
    assert staging == [row for row in every if row.id in ids[1::2]]
    deadlines = {row.id: row.grace_until for row in every if row.grace_until is not None}
    now = int(clock.now().timestamp())
    assert deadlines == {ids[1]: now + 2 * 3600, ids[4]: now + 3600}


# ----------------------------------------------------------------- last used


def _record(database: Database, uses: dict[int, tuple[datetime, int]]) -> None:
    """What a forward-auth server writes: its uses, in one transaction."""
    with database.transaction():
        repository.record_uses(database, uses)


def test_every_row_read_carries_when_the_token_was_last_used(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    """Every read that builds rows joins the usage: the whole table, rows by id and the first
    screen agree; a token never used reads None and 0."""
    service.add_environment("Staging", api_enabled=True)
    ids = [service.create_token(env, "alice").token.id for env in ("Production", "Staging") * 2]
    now = naive(clock.now())
    _record(database, {ids[0]: (now - timedelta(days=3), 7), ids[3]: (now, 1)})
    _record(database, {ids[0]: (now - timedelta(days=1), 5)})  # later time wins, counts add up
    every = queries.token_rows(database)
    assert {row.id: (row.last_used, row.use_count) for row in every} == {
        ids[0]: (int(clock.now().timestamp()) - 86_400, 12),
        ids[1]: (None, 0),
        ids[2]: (None, 0),
        ids[3]: (int(clock.now().timestamp()), 1),
    }
    assert queries.token_rows_by_id(database, ids) == every
    staging = service.environment("Staging").id
    assert queries.token_rows(database, staging) == [r for r in every if r.id in ids[1::2]]
    page = queries.token_page(database, None, Column.ID, descending=False, limit=10)
    assert page == every


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_the_first_screen_by_last_use_puts_the_never_used_first(
    service: TokenService, database: Database, clock: FakeClock, descending: bool
) -> None:
    """On both engines (PostgreSQL would put NULL last): never used is the oldest, as the
    in-memory order has it."""
    ids = [service.create_token("Production", "alice").token.id for _ in range(4)]
    now = naive(clock.now())
    _record(database, {ids[0]: (now, 1), ids[2]: (now - timedelta(hours=1), 1)})
    page = queries.token_page(database, None, Column.LAST_USED, descending=descending, limit=10)
    expected = [ids[1], ids[3], ids[2], ids[0]]  # never (by id), an hour ago, now
    assert [row.id for row in page] == (expected[::-1] if descending else expected)


def test_usage_since_reads_only_later_uses(
    service: TokenService, database: Database, clock: FakeClock
) -> None:
    ids = [service.create_token("Production", "alice").token.id for _ in range(3)]
    now = naive(clock.now())
    assert queries.usage_since(database, None) == []
    _record(database, {ids[0]: (now - timedelta(hours=2), 3), ids[1]: (now, 4)})
    seconds = int(clock.now().timestamp())
    assert sorted(queries.usage_since(database, None)) == [
        (ids[0], seconds - 7200, 3),
        (ids[1], seconds, 4),
    ]
    assert queries.usage_since(database, now - timedelta(hours=1)) == [(ids[1], seconds, 4)]
    assert queries.usage_since(database, now) == []


@pytest.mark.sqlite_only  # SQLite's query plans
def test_the_usage_join_keeps_each_read_on_its_index(database: Database) -> None:
    """The LEFT JOIN looks usage up by primary key: the first screen still walks the order's
    index, and rows by id still come from the primary key."""
    order = ", ".join(queries.TABLE_ORDERS[Column.CREATED])
    sql = f"{queries._PAGE_SELECT} ORDER BY {order}, t.id LIMIT ?"
    page = plan(database, sql, [50])
    assert "token_created_at" in page and "TEMP B-TREE" not in page
    assert "SEARCH u USING INTEGER PRIMARY KEY" in page
    by_id = plan(database, f"{queries._ROW_SELECT} AND t.id IN (?, ?) ORDER BY t.id", [1, 2])
    assert "SCAN" not in by_id and "SEARCH u USING INTEGER PRIMARY KEY" in by_id
