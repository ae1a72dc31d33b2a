"""TokenIndex: the token table's rows ordered, filtered and updated by bisection, without Qt."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.app import Context
from desktop.domain.table import ORDERS, Column, SortTerm, TokenRow, nocase
from desktop.domain.usage import is_unused
from desktop.services.token_index import (
    Row,
    TokenIndex,
    filter_needle,
    name_ranks,
    prepare_rows,
    sort_key,
)
from desktop.services.tokens import TokenService
from desktop.services.views import Names, TokenView
from tests.helpers.clock import FakeClock
from tests.helpers.locales import in_locale

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def view(
    token_id: int,
    *,
    agent: str = "Alpha Bot",
    label: str = "",
    role: str = "Reader",
    active: bool = True,
    hint: str = "abcd",
    rotation: timedelta | None = None,
    next_at: datetime | None = None,
    created: datetime | None = None,
    last_error: str | None = None,
    generation: int = 0,
    grace: timedelta = timedelta(0),
    expires: datetime | None = None,
    grace_until: datetime | None = None,
    last_used: datetime | None = None,
    use_count: int = 0,
) -> TokenView:
    return TokenView(
        id=token_id,
        environment="Production",
        agent=agent,
        label=label,
        role=role,
        status="Active" if active else "Inactive",
        hint=hint,
        generation=generation,
        rotation=None,
        rotation_interval=rotation,
        grace=grace,
        next_rotation_at=next_at,
        last_rotated_at=None,
        grace_until=grace_until,
        last_error=last_error,
        created_at=created or START + timedelta(minutes=token_id),
        expires_at=expires,
        last_used_at=last_used,
        use_count=use_count,
    )


def rows_from_views(views: Iterable[TokenView]) -> tuple[Names, list[TokenRow]]:
    """Rows and names for token records: tables written as the records a person reads."""
    environments: dict[str, int] = {}
    agents: dict[tuple[str, str], int] = {}
    rows: list[TokenRow] = []

    def seconds(value: datetime | None) -> int | None:
        return None if value is None else math.floor(value.timestamp())

    for view in views:
        environment = environments.setdefault(view.environment, len(environments) + 1)
        agent = agents.setdefault((view.agent, view.role), len(agents) + 1)
        rows.append(
            TokenRow(
                view.id,
                environment,
                agent,
                view.label,
                1 if view.active else 0,
                view.hint,
                view.generation,
                view.rotation,
                int(view.rotation_interval.total_seconds()) if view.rotation_interval else None,
                int(view.grace.total_seconds()),
                seconds(view.next_rotation_at),
                seconds(view.last_rotated_at),
                seconds(view.grace_until),
                view.last_error,
                seconds(view.created_at) or 0,
                seconds(view.expires_at),
                view.holder,
                seconds(view.last_used_at),
                view.use_count,
            )
        )
    names = Names(
        {number: name for name, number in environments.items()},
        {number: pair for pair, number in agents.items()},
    )
    return names, rows


SAMPLE = [
    view(
        1,
        agent="Gamma ETL",
        label="warehouse",
        role="Admin",
        hint="zz01",
        rotation=timedelta(days=1),
        next_at=START + timedelta(days=3),
        expires=START + timedelta(days=5),
        last_used=START + timedelta(hours=2),
        use_count=1204,
    ),
    view(
        2,
        agent="alpha bot",
        label="Dashboard",
        role="reader",
        active=False,
        hint="AA02",
        created=START + timedelta(days=2),
    ),
    view(
        3,
        agent="Beta Sync",
        label="",
        role="Collections",
        hint="mm03",
        rotation=timedelta(weeks=1),
        next_at=START + timedelta(days=1),
        grace=timedelta(hours=1),
        expires=START + timedelta(days=10, hours=7),
        last_used=START + timedelta(hours=1),
        use_count=1,
    ),
    view(
        4,
        agent="Alpha Bot",
        label="nightly import",
        role="Reader",
        hint="bb04",
        rotation=timedelta(days=30),
        next_at=START + timedelta(days=30),
        created=START - timedelta(days=1),
        last_error="the keyring is locked",
    ),
]


def indexed(views: list[TokenView], *, show_environment: bool = False) -> TokenIndex:
    index = TokenIndex()
    names, rows = rows_from_views(views)
    index.load(names, rows, show_environment=show_environment)
    return index


@pytest.fixture
def index() -> TokenIndex:
    return indexed(SAMPLE)


def column_texts(index: TokenIndex, column: int) -> list[str]:
    return [index.texts(index.at(place))[column] for place in range(index.row_count())]


def texts_by_id(index: TokenIndex) -> dict[int, tuple[str, ...]]:
    rows = (index.at(place) for place in range(index.row_count()))
    return {row.data.id: index.texts(row) for row in rows}


def test_an_empty_index_holds_nothing() -> None:
    index = TokenIndex()
    assert index.row_count() == 0
    assert index.row_at(0) is None
    assert index.token_ids() == []
    assert index.counts() == (0, 0)
    with pytest.raises(IndexError):
        index.at(0)


def test_cell_texts(index: TokenIndex) -> None:
    texts = texts_by_id(index)
    assert texts[1] == (
        "tdk_••••••••zz01",
        "Gamma ETL",
        "warehouse",
        "Admin",
        "Active",
        "#1",
        "Every day",
        texts[1][Column.NEXT_ROTATION],  # local time: see test_display
        texts[1][Column.EXPIRES],
        texts[1][Column.CREATED],
        "Production",
        texts[1][Column.LAST_USED],
    )
    assert {token_id: cells[Column.STATUS] for token_id, cells in texts.items()} == {
        1: "Active",
        2: "Inactive",
        3: "Active",
        4: "Active",
    }
    assert {token_id: cells[Column.ROTATION] for token_id, cells in texts.items()} == {
        1: "Every day",
        2: "Never",
        3: "Every week",
        4: "Every 30 days",
    }
    assert texts[2][Column.NEXT_ROTATION] == "—"
    assert {token_id: cells[Column.EXPIRES] == "Never" for token_id, cells in texts.items()} == {
        1: False,
        2: True,
        3: False,
        4: True,
    }


def test_a_rotation_at_or_after_the_expiry_is_no_next_rotation() -> None:
    """It never happens: the token expires first, and expired tokens are not rotated."""
    index = indexed(
        [
            view(1, rotation=timedelta(days=1), next_at=START, expires=START),
            view(2, rotation=timedelta(days=1), next_at=START, expires=START + timedelta(1)),
        ]
    )
    assert column_texts(index, Column.NEXT_ROTATION)[0] == "—"
    assert column_texts(index, Column.NEXT_ROTATION)[1] != "—"
    index.set_filter(filter_needle("—"))
    assert index.token_ids() == [1]


def test_an_inactive_scheduled_token_says_paused() -> None:
    index = indexed([view(1, active=False, rotation=timedelta(days=1), next_at=START)])
    assert index.texts(index.at(0))[Column.NEXT_ROTATION].endswith("(paused)")


# ----------------------------------------------------------------- orders


EXPECTED_ORDER = {
    Column.TOKEN: [2, 4, 3, 1],  # by hint: AA02 < bb04 < mm03 < zz01
    Column.NAME: [2, 4, 3, 1],  # alpha bot, Alpha Bot (ties by id), Beta, Gamma
    Column.LABEL: [3, 2, 4, 1],  # "", Dashboard, nightly import, warehouse
    Column.ROLE: [1, 3, 2, 4],  # Admin, Collections, reader, Reader
    Column.STATUS: [1, 3, 4, 2],
    Column.ID: [1, 2, 3, 4],
    Column.ROTATION: [1, 3, 4, 2],  # 1 day, 1 week, 30 days, never
    Column.NEXT_ROTATION: [3, 1, 4, 2],  # earliest first, none last
    Column.EXPIRES: [1, 3, 2, 4],  # earliest first, never last (ties by id)
    Column.CREATED: [4, 1, 3, 2],
    Column.ENVIRONMENT: [1, 2, 3, 4],  # all in Production: ties by id
    Column.LAST_USED: [2, 4, 3, 1],  # never used first (the oldest; ties by id), then latest last
}
# Descending is the ascending order read backwards, ties by id included.
EXPECTED_DESCENDING = {column: order[::-1] for column, order in EXPECTED_ORDER.items()}


@pytest.mark.parametrize("column", list(Column), ids=lambda c: c.name)
def test_order_by_each_column_both_ways(index: TokenIndex, column: Column) -> None:
    index.set_sort(column, descending=False)
    assert index.token_ids() == EXPECTED_ORDER[column]
    assert index.sort_column == column and not index.descending
    index.set_sort(column, descending=True)
    descending = index.token_ids()
    assert descending == EXPECTED_DESCENDING[column]
    assert descending[0] == EXPECTED_ORDER[column][-1] or column in (Column.NAME, Column.ROLE)
    assert sorted(descending) == [1, 2, 3, 4]


def test_every_column_has_an_order() -> None:
    assert set(ORDERS) == set(Column)


def test_sort_is_case_insensitive_and_stable(index: TokenIndex) -> None:
    index.set_sort(Column.NAME, descending=False)
    assert column_texts(index, Column.NAME) == ["alpha bot", "Alpha Bot", "Beta Sync", "Gamma ETL"]


def test_sort_keys_follow_each_sort_term() -> None:
    """The keys are generated from ORDERS: each kind of term orders as the SQL does."""
    names, rows = rows_from_views(SAMPLE)
    ranks = name_ranks(names)
    by_id = {row.id: Row(row) for row in rows}
    status = sort_key(Column.STATUS, ranks)  # negate: active first
    assert status(by_id[1]) < status(by_id[2])
    rotation = sort_key(Column.ROTATION, ranks)  # nulls_last
    assert rotation(by_id[1]) < rotation(by_id[4]) < rotation(by_id[2])
    label = sort_key(Column.LABEL, ranks)  # nocase
    assert label(by_id[2]) < label(by_id[4]) < label(by_id[1])
    name = sort_key(Column.NAME, ranks)  # a name, by rank, nocase
    assert name(by_id[2]) == name(by_id[4]) < name(by_id[3])


def test_a_term_with_no_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ORDERS, Column.LABEL, (SortTerm("label", nocase=True, negate=True),))
    with pytest.raises(ValueError, match="no key"):
        sort_key(Column.LABEL, {})
    monkeypatch.setitem(ORDERS, Column.LABEL, (SortTerm("no_such_field"),))
    with pytest.raises(ValueError, match="no such field"):
        sort_key(Column.LABEL, {})


def test_an_order_of_several_terms_compares_them_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        ORDERS, Column.STATUS, (SortTerm("active", negate=True), SortTerm("label", nocase=True))
    )
    index = indexed(SAMPLE)
    index.set_sort(Column.STATUS, descending=False)
    assert index.token_ids() == [3, 4, 1, 2]  # active ("", nightly, warehouse), then inactive


# ----------------------------------------------------------------- filter


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ("ZZ01", [1]),  # API Token (masked text, any case)
        ("tdk_••••••••zz01", [1]),  # the whole masked text, dots included
        ("beta", [3]),  # Name
        ("DASHBOARD", [2]),  # Label
        ("collections", [3]),  # Role
        ("inactive", [2]),  # Status
        ("every 30", [4]),  # Rotation
        ("never", [2, 4]),  # Rotation (2), Expires (2 and 4), Last used (2 and 4)
        (str((START + timedelta(days=10, hours=7)).astimezone().date()), [3]),  # Expires
        ("—", [2]),  # Next rotation (none)
        (str((START - timedelta(days=1)).astimezone().date()), [4]),  # Created
        ("alpha", [2, 4]),
        ("no such token", []),
    ],
)
def test_filter_matches_any_column_case_insensitively(
    index: TokenIndex, needle: str, expected: list[int]
) -> None:
    index.set_filter(filter_needle(needle))
    assert sorted(index.token_ids()) == expected
    assert index.counts() == (4, 1)  # counts are of the environment, not of the filter


def test_the_id_column_reads_like_the_audit_log_sorts_by_number_and_is_filtered_on() -> None:
    """``#9`` before ``#10`` (text would put it last), and the filter finds ``#10`` by what
    the column shows."""
    index = indexed([view(100), view(9), view(10)])
    assert [index.texts(index.at(place))[Column.ID] for place in range(3)] == ["#9", "#10", "#100"]
    index.set_sort(Column.ID, descending=False)
    assert index.token_ids() == [9, 10, 100]
    index.set_sort(Column.ID, descending=True)
    assert index.token_ids() == [100, 10, 9]
    index.set_filter(filter_needle("#10"))
    assert sorted(index.token_ids()) == [10, 100]
    index.set_filter(filter_needle("#9"))
    assert index.token_ids() == [9]


def test_next_grace_end_is_the_earliest_deadline_still_ahead() -> None:
    now = math.floor(START.timestamp())
    index = indexed(
        [
            view(1, grace_until=START + timedelta(hours=2)),
            view(2, grace_until=START + timedelta(hours=1)),
            view(3, grace_until=START - timedelta(hours=1)),  # ended before now
            view(4),
        ]
    )
    assert index.next_grace_end(now) == now + 3600
    assert index.next_grace_end(now + 3600) == now + 7200  # the first has ended by then
    # Token 1 is refreshed again: its new deadline replaces the one it had.
    _, rows = rows_from_views([view(1, grace_until=START + timedelta(hours=5))])
    update = index.plan_update(rows)
    assert update is not None
    index.apply(update)
    assert index.next_grace_end(now + 3600) == now + 5 * 3600
    assert index.next_grace_end(now + 5 * 3600) is None


def test_newer_names_are_taken_in_place_unless_a_name_shown_changed(index: TokenIndex) -> None:
    names = index.names
    added = Names(
        names.environments,
        {**names.agents, 99: ("Aaron New", "Reader")},
        refusals={1: "agent 'Gamma ETL' is disabled"},
        permissions={"Admin": ("* /Loans",)},
    )
    index.set_sort(Column.NAME, descending=False)
    assert index.take_names(added)
    assert index.names is added
    assert index.token_ids() == EXPECTED_ORDER[Column.NAME]  # orders stand
    # A token of the new agent sorts among the others by its name.
    _, rows = rows_from_views([view(5, agent="Aaron New")])
    update = index.plan_update([rows[0]._replace(agent_id=99)])
    assert update is not None
    index.apply(update)
    assert index.token_ids() == [5, *EXPECTED_ORDER[Column.NAME]]
    renamed = Names(names.environments, {**added.agents, 1: ("Someone Else", "Admin")})
    assert not index.take_names(renamed)
    assert index.names is added


def test_filter_by_next_rotation_text(index: TokenIndex) -> None:
    row = index.row_of_id(3)
    assert row is not None
    index.set_filter(filter_needle(index.texts(row)[Column.NEXT_ROTATION]))
    assert index.token_ids() == [3]


def test_filter_searches_the_environment_only_when_shown() -> None:
    assert indexed(SAMPLE).token_ids() == [4, 1, 3, 2]
    hidden = indexed(SAMPLE)
    hidden.set_filter(filter_needle("production"))
    assert hidden.token_ids() == []
    shown = indexed(SAMPLE, show_environment=True)
    shown.set_filter(filter_needle("production"))
    assert shown.token_ids() == [4, 1, 3, 2]


def test_typing_on_narrows_and_backspace_widens(index: TokenIndex) -> None:
    index.set_filter(filter_needle("a"))
    assert sorted(index.token_ids()) == [1, 2, 3, 4]
    index.set_filter(filter_needle("al"))
    assert sorted(index.token_ids()) == [2, 4]
    index.set_filter(filter_needle("alpha bot"))
    assert sorted(index.token_ids()) == [2, 4]
    index.set_filter(filter_needle("a"))
    assert sorted(index.token_ids()) == [1, 2, 3, 4]


def test_filter_survives_new_contents_and_sorting(index: TokenIndex) -> None:
    index.set_filter(filter_needle("alpha"))
    index.set_sort(Column.CREATED, descending=True)
    assert index.token_ids() == [2, 4]
    names, rows = rows_from_views(
        [*SAMPLE, view(5, agent="Alpha Five", created=START + timedelta(days=9))]
    )
    index.load(names, rows, show_environment=False)
    assert index.token_ids() == [5, 2, 4]
    index.set_filter(filter_needle("  "))
    assert index.row_count() == 5


def test_a_hundred_thousand_rows_sort_and_filter() -> None:
    generator = random.Random(7)
    agents = [f"Agent {n:03d}" for n in range(500)]
    many = [
        view(
            n,
            agent=generator.choice(agents),
            label=f"job {generator.randrange(1_000_000)}",
            active=n % 7 != 0,
            hint=f"{n % 10_000:04d}",
            rotation=timedelta(days=generator.choice((1, 7, 30))) if n % 3 else None,
            next_at=START + timedelta(hours=generator.randrange(10_000)) if n % 3 else None,
            created=START + timedelta(seconds=n),
        )
        for n in range(1, 100_001)
    ]
    index = indexed(many)
    assert index.row_count() == 100_000
    index.set_sort(Column.NAME, descending=True)
    names = column_texts(index, Column.NAME)
    assert names == sorted(names, reverse=True)
    index.set_filter(filter_needle("agent 042"))
    assert 0 < index.row_count() < 1_000
    assert set(column_texts(index, Column.NAME)) == {"Agent 042"}
    index.set_filter("")
    index.set_sort(Column.NEXT_ROTATION, descending=False)
    assert index.row_count() == 100_000
    assert index.texts(index.at(99_999))[Column.NEXT_ROTATION] == "—"


# ----------------------------------------------------------------- lookups and loading


def test_lookups_by_token_and_place(index: TokenIndex) -> None:
    index.set_sort(Column.TOKEN, descending=True)  # zz01, mm03, bb04, AA02
    assert index.place_of(1) == 0
    assert index.places_of([2, 3, 99]) == [1, 3]
    assert index.place_of(99) is None
    assert index.token_at(0).hint == "zz01"
    assert [token.id for token in index.visible_tokens()] == [1, 3, 4, 2]
    index.set_filter(filter_needle("alpha"))
    assert index.place_of(1) is None  # hidden by the filter, still held
    assert index.row_of_id(1) is not None
    assert [token.id for token in index.all_tokens()] == [1, 2, 3, 4]
    assert index.counts() == (4, 1)


def test_the_first_screen_waits_for_the_rows() -> None:
    names, rows = rows_from_views(SAMPLE)
    index = TokenIndex()
    index.show_first_rows(names, rows[:2], 40, show_environment=False)
    assert index.loading
    assert index.row_count() == 40
    assert index.token_ids() == [1, 2]
    assert index.row_at(2) is None
    assert index.place_of(2) == 1
    assert index.counts() == (40, None)
    assert index.plan_update([rows[0]._replace(label="changed")]) is None
    index.set_sort(Column.TOKEN, descending=False)
    index.set_filter(filter_needle("alpha"))
    assert index.token_ids() == [1, 2]  # both wait for the rows
    index.adopt(prepare_rows(names, rows, show_environment=False))
    assert not index.loading
    assert index.token_ids() == [2, 4]


# ----------------------------------------------------------------- changes, row by row


def loaded(views: list[TokenView]) -> tuple[TokenIndex, list[TokenRow]]:
    names, rows = rows_from_views(views)
    index = TokenIndex()
    index.load(names, list(rows), show_environment=False)
    return index, rows


def test_a_change_that_keeps_the_order_does_not_move() -> None:
    index, rows = loaded(SAMPLE)
    update = index.plan_update([rows[2]._replace(hint="qq03", generation=1)])
    assert update is not None
    assert not update.reset and not update.moves
    assert update.renewed == [3]
    index.apply(update)
    assert index.token_ids() == EXPECTED_ORDER[Column.CREATED]
    row = index.row_of_id(3)
    assert row is not None and index.texts(row)[Column.TOKEN] == "tdk_••••••••qq03"


def test_a_change_of_the_sort_key_moves_the_row() -> None:
    index, rows = loaded(SAMPLE)
    index.set_sort(Column.TOKEN, descending=False)  # AA02 < bb04 < mm03 < zz01
    update = index.plan_update([rows[2]._replace(hint="00aa")])  # now first
    assert update is not None and update.moves and not update.reset
    assert update.renewed == []
    index.apply(update)
    assert index.token_ids() == [3, 2, 4, 1]


def test_a_change_in_and_out_of_the_filter_moves() -> None:
    index, rows = loaded(SAMPLE)
    index.set_filter(filter_needle("import"))
    assert index.token_ids() == [4]
    update = index.plan_update([rows[0]._replace(label="import too")])
    assert update is not None and update.moves
    index.apply(update)
    assert index.token_ids() == [4, 1]


def test_an_unchanged_row_changes_nothing() -> None:
    index, rows = loaded(SAMPLE)
    assert index.plan_update(rows) is None
    assert index.plan_update([], gone=[99]) is None


def test_a_token_that_appears_or_goes_is_a_reset() -> None:
    index, rows = loaded(SAMPLE)
    update = index.plan_update([rows[0]._replace(id=9)], gone=[2])
    assert update is not None and update.reset
    index.apply(update)
    assert sorted(index.token_ids()) == [1, 3, 4, 9]
    assert index.counts() == (4, 0)


def test_status_changes_keep_the_inactive_count() -> None:
    index, rows = loaded(SAMPLE)
    update = index.plan_update([rows[0]._replace(active=0), rows[1]._replace(active=1)])
    assert update is not None
    index.apply(update)
    assert index.counts() == (4, 1)
    update = index.plan_update([rows[2]._replace(active=0)])
    assert update is not None
    index.apply(update)
    assert index.counts() == (4, 2)


@st.composite
def table_histories(
    draw: st.DrawFn,
) -> tuple[list[TokenRow], list[tuple[list[TokenRow], list[int]]], Column, bool, str]:
    """Rows of a table, then batches of changed rows, a sort column, an order and a filter."""
    agents = [(name, role) for name in ("ada", "Bob", "cy") for role in ("Reader", "admin")]
    id_numbers = draw(st.lists(st.integers(1, 60), min_size=1, max_size=25, unique=True))

    def row(token_id: int) -> TokenRow:
        return TokenRow(
            token_id,
            draw(st.sampled_from([1, 2])),
            draw(st.integers(1, len(agents))),
            draw(st.sampled_from(["", "import", "Import job", "sync", "b"])),
            draw(st.sampled_from([0, 1])),
            draw(st.sampled_from(["aa01", "AA01", "zz99", "mm50", "bb02"])),
            draw(st.integers(0, 3)),
            None,
            draw(st.sampled_from([None, 86_400, 604_800])),
            0,
            draw(st.sampled_from([None, 1_767_600_000, 1_767_700_000, 1_767_800_000])),
            None,
            None,
            draw(st.sampled_from([None, "the keyring is locked"])),
            draw(st.sampled_from([1_767_000_000, 1_767_000_060, 1_767_100_000])),
        )

    initial = [row(token_id) for token_id in id_numbers]
    newcomers = st.integers(61, 80)  # ids the table has not seen: tokens created meanwhile
    batches = [
        (
            [
                row(token_id)
                for token_id in draw(st.lists(st.sampled_from(id_numbers) | newcomers, max_size=4))
            ],
            draw(st.lists(st.sampled_from(id_numbers) | newcomers, max_size=2)),  # deleted
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    column = draw(st.sampled_from(list(Column)))
    descending = draw(st.booleans())
    needle = draw(st.sampled_from(["", "import", "ada", "aa01", "inactive", "every"]))
    return initial, batches, column, descending, needle


NAMES = Names(
    {1: "Production", 2: "staging"},
    {
        n + 1: pair
        for n, pair in enumerate(
            (name, role) for name in ("ada", "Bob", "cy") for role in ("Reader", "admin")
        )
    },
)


@settings(max_examples=150, deadline=None)
@given(table_histories())
def test_changes_row_by_row_end_where_a_fresh_load_does(
    history: tuple[list[TokenRow], list[tuple[list[TokenRow], list[int]]], Column, bool, str],
) -> None:
    initial, batches, column, descending, needle = history
    index = TokenIndex()
    index.load(NAMES, initial, show_environment=True)
    index.set_sort(column, descending=descending)
    index.set_filter(needle)
    current = {row.id: row for row in initial}
    for batch, deleted in batches:
        gone = [token_id for token_id in deleted if token_id not in {r.id for r in batch}]
        update = index.plan_update(batch, gone)
        if update is not None:
            index.apply(update)
        current.update((row.id, row) for row in batch)
        for token_id in gone:
            current.pop(token_id, None)
        fresh = TokenIndex()
        fresh.load(NAMES, current.values(), show_environment=True)
        fresh.set_sort(column, descending=descending)
        fresh.set_filter(needle)
        assert index.token_ids() == fresh.token_ids()
        assert texts_by_id(index) == texts_by_id(fresh)
        assert index.counts() == fresh.counts()  # tokens, and inactive tokens
        # Every other column's order was kept up to date too.
        for other in Column:
            index.set_sort(other, descending=descending)
            fresh.set_sort(other, descending=descending)
            assert index.token_ids() == fresh.token_ids(), other
        index.set_sort(column, descending=descending)


# ----------------------------------------------------------------- the same order as the SQL


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("environment", [None, "Production"])
def test_the_first_screen_query_matches_the_index_order(
    memory_context: Context, clock: FakeClock, descending: bool, environment: str | None
) -> None:
    """The window paints its first screen from TokenService.token_page; once every row is read
    the index shows the same tokens first, in every column's order (both follow ORDERS).
    Names and labels beyond ASCII included: SQLite's NOCASE folds only ASCII letters, so
    "Émile" and "émile" differ, and "Maße" is not "masse"; the index must agree."""
    service: TokenService = memory_context.service
    service.add_environment("Production", api_enabled=True)
    service.add_environment("staging", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_role("admin", ["* /Loans"])
    agents = (
        ("Ada", "Reader"),
        ("bob", "admin"),
        ("Cy", "Reader"),
        ("éa", "admin"),
        ("Ébène", "Reader"),
    )
    for name, role in agents:
        service.add_agent(name, role, has_logged_in=True, signed_agreement=True)
    plan = [
        ("Production", "Ada", "nightly", "weekly"),
        ("staging", "bob", "Alpha", None),
        ("Production", "Cy", "beta", "daily"),
        ("Production", "bob", "", "30d"),
        ("staging", "Ada", "gamma", "12h"),
        ("Production", "Ada", "Delta", None),
        ("Production", "éa", "émile", None),
        ("Production", "Ébène", "Émile", "daily"),
        ("Production", "Cy", "Maße", None),
        ("Production", "Ébène", "massf", None),
    ]
    for n, (env, agent, label, rotation) in enumerate(plan):
        token = service.create_token(env, agent, label=label, rotation=rotation).token
        if n % 3 == 1:
            service.set_status(token.id, False)
        clock.advance(timedelta(minutes=3))
    _, names, rows = service.token_table(environment)
    for column in Column:
        index = TokenIndex()
        index.set_sort(column, descending=descending)
        index.load(names, list(rows), show_environment=environment is None)
        _, first = service.token_page(environment, column, descending=descending, limit=4)
        assert [row.id for row in first] == index.token_ids()[:4], column.name
        _, every = service.token_page(environment, column, descending=descending, limit=len(plan))
        assert [row.id for row in every] == index.token_ids(), column.name


def test_names_and_labels_fold_only_ascii_letters_like_sqlite() -> None:
    assert nocase("Ada BOB") == "ada bob"
    assert nocase("Émile") == "Émile" != nocase("émile")
    assert nocase("MAßE") == "maße"


def test_filter_finds_a_time_as_the_locale_spells_it() -> None:
    """American English puts a narrow no-break space before "PM": typed with a plain space, in
    any case, the time is found all the same."""
    with in_locale("en_US"):
        index = indexed(SAMPLE)
        row = index.row_of_id(3)
        assert row is not None
        shown = index.texts(row)[Column.NEXT_ROTATION]
        assert "\u202f" in shown
        index.set_filter(filter_needle(shown.replace("\u202f", " ").upper()))
        assert index.token_ids() == [3]


# ----------------------------------------------------------------- last used


def test_uses_read_later_move_only_the_rows_they_change(index: TokenIndex) -> None:
    """Uses arrive as (id, last use, count): only the rows whose use differs are planned, and
    they move in the Last used order by the ordinary update path."""
    index.set_sort(Column.LAST_USED, descending=False)
    assert index.token_ids() == [2, 4, 3, 1]
    assert index.latest_use() == int((START + timedelta(hours=2)).timestamp())
    later = int((START + timedelta(hours=3)).timestamp())
    row_1 = index.row_of_id(1)
    assert row_1 is not None and row_1.data.last_used is not None
    same = (1, row_1.data.last_used, row_1.data.use_count)
    assert index.usage_rows([same, (99, later, 1)]) == []  # unchanged, and not held
    rows = index.usage_rows([same, (4, later, 2)])
    assert [(row.id, row.last_used, row.use_count) for row in rows] == [(4, later, 2)]
    update = index.plan_update(rows)
    assert update is not None and not update.reset and update.moves
    index.apply(update)
    assert index.token_ids() == [2, 3, 1, 4]  # 4 was used last
    assert index.latest_use() == later
    assert index.texts(index.at(3))[Column.LAST_USED] != "Never"


def test_only_unused_tokens_can_be_shown_with_the_filter() -> None:
    """set_unused holds the active tokens neither used nor created since the cutoff; with the
    filter's text both apply; a use arriving takes a token out."""
    cutoff = int(START.timestamp())
    index = indexed(
        [
            view(1, label="old and used", last_used=START - timedelta(days=1), use_count=3),
            view(2, label="old and never used", created=START - timedelta(days=100)),
            view(3, label="used lately", last_used=START + timedelta(hours=1), use_count=1),
            view(4, label="new", created=START + timedelta(days=1)),
            view(5, label="old but inactive", created=START - timedelta(days=100), active=False),
        ]
    )
    assert index.unused_ids(cutoff) == [1, 2]
    assert not index.filtering
    index.set_unused(cutoff)
    assert index.filtering and index.unused_cutoff == cutoff
    assert index.token_ids() == [2, 1]  # by creation
    index.set_filter(filter_needle("never used"))
    assert index.token_ids() == [2]
    index.set_filter("")
    assert index.token_ids() == [2, 1]
    update = index.plan_update(index.usage_rows([(2, cutoff + 60, 1)]))
    assert update is not None and update.moves
    index.apply(update)
    assert index.token_ids() == [1]
    assert index.counts() == (5, 1)  # the counts are of every token held
    index.set_unused(None)
    assert not index.filtering and sorted(index.token_ids()) == [1, 2, 3, 4, 5]


def test_the_filter_finds_a_tokens_last_use(index: TokenIndex) -> None:
    from desktop.services.display import epoch_text

    used = epoch_text(int((START + timedelta(hours=2)).timestamp()))
    index.set_filter(filter_needle(used))
    assert index.token_ids() == [1]


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.none() | st.integers(0, 1_000),  # last use
            st.integers(0, 1_000),  # creation
        ),
        max_size=40,
    ),
    st.integers(0, 1_000),
)
@settings(max_examples=200, deadline=None)
def test_the_unused_found_by_bisection_are_those_the_rule_names(
    tokens: list[tuple[bool, int | None, int]], cutoff: int
) -> None:
    """unused_ids reads only the start of the Last used order: it names exactly the tokens
    is_unused names, whatever their uses, creations and statuses."""
    views = [
        view(
            n + 1,
            active=active,
            created=datetime.fromtimestamp(created, UTC),
            last_used=None if used is None else datetime.fromtimestamp(used, UTC),
        )
        for n, (active, used, created) in enumerate(tokens)
    ]
    expected = [
        n + 1 for n, (active, used, created) in enumerate(tokens)
        if is_unused(active, used, created, cutoff)
    ]  # fmt: skip
    assert indexed(views).unused_ids(cutoff) == expected
