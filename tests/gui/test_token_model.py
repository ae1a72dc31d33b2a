"""TokenTableModel: columns, styling, sorting and filtering in Python lists."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont
from pytestqt.modeltest import ModelTester

from desktop.app import Context
from desktop.domain import tokens
from desktop.gui.token_model import (
    HEADERS,
    TOKEN_ID_ROLE,
    Column,
    TokenTableModel,
)
from desktop.services.token_index import rows_from_views as _views_to_rows
from desktop.services.tokens import TokenService
from desktop.services.views import Names, TokenRow, TokenView

DISPLAY = Qt.ItemDataRole.DisplayRole
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
        grace_until=None,
        last_error=last_error,
        created_at=created or START + timedelta(minutes=token_id),
    )


SAMPLE = [
    view(
        1,
        agent="Gamma ETL",
        label="warehouse",
        role="Admin",
        hint="zz01",
        rotation=timedelta(days=1),
        next_at=START + timedelta(days=3),
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


@pytest.fixture
def model() -> TokenTableModel:
    model = TokenTableModel()
    model.set_tokens(SAMPLE)
    return model


def column_texts(model: TokenTableModel, column: int) -> list[str]:
    return [model.index(row, column).data(DISPLAY) for row in range(model.rowCount())]


def ids(model: TokenTableModel) -> list[int]:
    return [model.index(row, 0).data(TOKEN_ID_ROLE) for row in range(model.rowCount())]


def test_model_passes_the_model_tester(qtmodeltester: ModelTester, model: TokenTableModel) -> None:
    qtmodeltester.check(model)


def test_model_tester_after_sorting_and_filtering(
    qtmodeltester: ModelTester, model: TokenTableModel
) -> None:
    model.sort(Column.NAME, Qt.SortOrder.DescendingOrder)
    model.set_filter("alpha")
    qtmodeltester.check(model)
    model.set_filter("")
    model.sort(Column.NEXT_ROTATION)
    qtmodeltester.check(model)


def test_empty_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(TokenTableModel())


def test_header_labels(model: TokenTableModel) -> None:
    labels = [
        model.headerData(column, Qt.Orientation.Horizontal, DISPLAY)
        for column in range(model.columnCount())
    ]
    assert labels[:5] == ["API Token", "Name", "Label", "Role", "Status"]
    assert labels == list(HEADERS)
    assert labels[5:] == ["Rotation", "Next rotation", "Created", "Environment"]


def test_token_column_is_masked_and_never_the_secret(model: TokenTableModel) -> None:
    row = model.row_of(1)
    assert row is not None
    assert model.index(row, Column.TOKEN).data(DISPLAY) == tokens.mask("zz01")
    assert model.index(row, Column.TOKEN).data(DISPLAY) == "tdk_••••••••zz01"


def test_status_text_is_exactly_active_or_inactive(model: TokenTableModel) -> None:
    statuses = dict(zip(ids(model), column_texts(model, Column.STATUS), strict=True))
    assert statuses == {1: "Active", 2: "Inactive", 3: "Active", 4: "Active"}


def test_inactive_tokens_look_inactive(model: TokenTableModel) -> None:
    inactive = model.row_of(2)
    active = model.row_of(1)
    assert inactive is not None and active is not None
    for column in range(model.columnCount()):
        font = model.index(inactive, column).data(Qt.ItemDataRole.FontRole)
        assert isinstance(font, QFont) and font.italic()
        assert isinstance(
            model.index(inactive, column).data(Qt.ItemDataRole.ForegroundRole), QBrush
        )
        active_font = model.index(active, column).data(Qt.ItemDataRole.FontRole)
        assert active_font is None or not active_font.italic()
        assert model.index(active, column).data(Qt.ItemDataRole.ForegroundRole) is None


def test_rotation_columns(model: TokenTableModel) -> None:
    texts = dict(zip(ids(model), column_texts(model, Column.ROTATION), strict=True))
    assert texts == {1: "Every day", 2: "Never", 3: "Every week", 4: "Every 30 days"}
    nexts = dict(zip(ids(model), column_texts(model, Column.NEXT_ROTATION), strict=True))
    assert nexts[2] == "—"
    assert nexts[1].startswith(str((START + timedelta(days=3)).astimezone().year))
    row = model.row_of(3)
    assert row is not None
    tip = model.index(row, Column.ROTATION).data(Qt.ItemDataRole.ToolTipRole)
    assert "1 hour" in tip


def test_a_failed_rotation_is_shown_in_next_rotation(model: TokenTableModel) -> None:
    row = model.row_of(4)
    assert row is not None
    cell = model.index(row, Column.NEXT_ROTATION)
    assert "the keyring is locked" in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert cell.data(Qt.ItemDataRole.DecorationRole) is not None
    healthy = model.index(model.row_of(1) or 0, Column.NEXT_ROTATION)
    assert healthy.data(Qt.ItemDataRole.DecorationRole) is None


def test_inactive_scheduled_token_says_paused() -> None:
    model = TokenTableModel()
    model.set_tokens([view(1, active=False, rotation=timedelta(days=1), next_at=START)])
    assert model.index(0, Column.NEXT_ROTATION).data(DISPLAY).endswith("(paused)")


EXPECTED_ORDER = {
    Column.TOKEN: [2, 4, 3, 1],  # by hint: AA02 < bb04 < mm03 < zz01
    Column.NAME: [2, 4, 3, 1],  # alpha bot, Alpha Bot (ties by id), Beta, Gamma
    Column.LABEL: [3, 2, 4, 1],  # "", Dashboard, nightly import, warehouse
    Column.ROLE: [1, 3, 2, 4],  # Admin, Collections, reader, Reader
    Column.STATUS: [1, 3, 4, 2],
    Column.ROTATION: [1, 3, 4, 2],  # 1 day, 1 week, 30 days, never
    Column.NEXT_ROTATION: [3, 1, 4, 2],  # earliest first, none last
    Column.CREATED: [4, 1, 3, 2],
    Column.ENVIRONMENT: [1, 2, 3, 4],  # all in Production: ties by id
}


@pytest.mark.parametrize("column", list(Column), ids=lambda c: c.name)
def test_sort_by_each_column(model: TokenTableModel, column: Column) -> None:
    model.sort(column, Qt.SortOrder.AscendingOrder)
    assert ids(model) == EXPECTED_ORDER[column]
    model.sort(column, Qt.SortOrder.DescendingOrder)
    descending = ids(model)
    assert descending[0] == EXPECTED_ORDER[column][-1] or column in (Column.NAME, Column.ROLE)
    assert sorted(descending) == [1, 2, 3, 4]


def test_sort_is_case_insensitive_and_stable(model: TokenTableModel) -> None:
    model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    assert column_texts(model, Column.NAME) == ["alpha bot", "Alpha Bot", "Beta Sync", "Gamma ETL"]


def test_sort_moves_persistent_indexes_with_their_tokens(model: TokenTableModel) -> None:
    model.sort(Column.CREATED)
    row = model.row_of(3)
    assert row is not None
    persistent = QPersistentModelIndex(model.index(row, Column.LABEL))
    model.sort(Column.TOKEN, Qt.SortOrder.DescendingOrder)
    assert persistent.isValid()
    assert persistent.row() == model.row_of(3)
    assert persistent.column() == Column.LABEL


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
        ("never", [2]),  # Rotation
        ("—", [2]),  # Next rotation (none)
        (str((START - timedelta(days=1)).astimezone().date()), [4]),  # Created
        ("alpha", [2, 4]),
        ("no such token", []),
    ],
)
def test_filter_matches_any_column_case_insensitively(
    model: TokenTableModel, needle: str, expected: list[int]
) -> None:
    model.set_filter(needle)
    assert sorted(ids(model)) == expected
    assert model.counts() == (4, 1)  # counts are of the environment, not of the filter


def test_filter_by_next_rotation_text(model: TokenTableModel) -> None:
    row = model.row_of(3)
    assert row is not None
    text = model.index(row, Column.NEXT_ROTATION).data(DISPLAY)
    model.set_filter(text)
    assert ids(model) == [3]


def test_filter_survives_new_contents_and_sorting(model: TokenTableModel) -> None:
    model.set_filter("alpha")
    model.sort(Column.CREATED, Qt.SortOrder.DescendingOrder)
    assert ids(model) == [2, 4]
    model.set_tokens([*SAMPLE, view(5, agent="Alpha Five", created=START + timedelta(days=9))])
    assert ids(model) == [5, 2, 4]
    model.set_filter("  ")
    assert model.rowCount() == 5


def test_reveal_shows_the_secret_in_the_token_cell_until_concealed(model: TokenTableModel) -> None:
    secret = tokens.generate()
    model.reveal(3, secret)
    row = model.row_of(3)
    assert row is not None
    assert model.index(row, Column.TOKEN).data(DISPLAY) == secret
    assert model.revealed_ids() == [3]
    # The filter never looks at a revealed secret.
    model.set_filter(secret[4:20])
    assert model.rowCount() == 0
    model.set_filter("")
    model.conceal()
    assert model.index(row, Column.TOKEN).data(DISPLAY) == tokens.mask("mm03")
    assert model.revealed_ids() == []


def test_a_revealed_secret_is_dropped_when_its_token_gets_a_new_one(
    model: TokenTableModel,
) -> None:
    model.reveal(3, tokens.generate())
    model.set_tokens(SAMPLE)  # same generation: stays
    assert model.revealed_ids() == [3]
    model.set_tokens([*SAMPLE[:2], view(3, hint="nn03", generation=1), SAMPLE[3]])
    assert model.revealed_ids() == []


def test_the_model_with_real_tokens(
    qtmodeltester: ModelTester, context: Context, clock: object
) -> None:
    service: TokenService = context.service
    service.add_environment("Production")
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    first = service.create_token("Production", "Ada", label="one", rotation="weekly")
    second = service.create_token("Production", "Ada", label="two")
    service.set_status(second.token.id, False)
    model = TokenTableModel()
    model.set_tokens(service.tokens("Production"))
    qtmodeltester.check(model)
    assert column_texts(model, Column.TOKEN) == [first.token.masked, second.token.masked]
    assert column_texts(model, Column.STATUS) == ["Active", "Inactive"]
    assert first.secret not in column_texts(model, Column.TOKEN)


def test_a_hundred_thousand_rows_sort_and_filter(qtmodeltester: ModelTester) -> None:
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
    model = TokenTableModel()
    model.set_tokens(many)
    assert model.rowCount() == 100_000
    model.sort(Column.NAME, Qt.SortOrder.DescendingOrder)
    names = column_texts(model, Column.NAME)
    assert names == sorted(names, reverse=True)
    model.set_filter("agent 042")
    assert 0 < model.rowCount() < 1_000
    assert set(column_texts(model, Column.NAME)) == {"Agent 042"}
    model.set_filter("")
    model.sort(Column.NEXT_ROTATION)
    assert model.rowCount() == 100_000
    assert model.index(99_999, Column.NEXT_ROTATION).data(DISPLAY) == "—"


# ----------------------------------------------------------------- changes, row by row


def texts_by_id(model: TokenTableModel) -> dict[int, tuple[str, ...]]:
    return {
        model.index(row, 0).data(TOKEN_ID_ROLE): tuple(
            model.index(row, column).data(DISPLAY) for column in range(model.columnCount())
        )
        for row in range(model.rowCount())
    }


def test_a_change_that_keeps_the_order_repaints_only_its_row(model: TokenTableModel) -> None:
    names, rows = _views_to_rows(SAMPLE)
    model.load(names, rows, show_environment=False)
    model.sort(Column.CREATED)
    seen: list[str] = []
    model.modelReset.connect(lambda: seen.append("reset"))
    model.layoutChanged.connect(lambda: seen.append("layout"))
    model.dataChanged.connect(lambda first, last: seen.append(f"data {first.row()}-{last.row()}"))
    changed = rows[2]._replace(hint="qq03", generation=1)
    model.update_rows([changed])
    row = model.row_of(3)
    assert seen == [f"data {row}-{row}"]
    assert model.index(row, Column.TOKEN).data(DISPLAY) == tokens.mask("qq03")


def test_a_change_of_the_sort_key_moves_the_row_and_its_selection(
    model: TokenTableModel,
) -> None:
    names, rows = _views_to_rows(SAMPLE)
    model.load(names, rows, show_environment=False)
    model.sort(Column.TOKEN)  # AA02 < bb04 < mm03 < zz01
    persistent = QPersistentModelIndex(model.index(model.row_of(3) or 0, Column.LABEL))
    seen: list[str] = []
    model.modelReset.connect(lambda: seen.append("reset"))
    model.layoutChanged.connect(lambda: seen.append("layout"))
    changed = rows[2]._replace(hint="00aa")  # now first
    model.update_rows([changed])
    assert seen == ["layout"]
    assert ids(model) == [3, 2, 4, 1]
    assert persistent.row() == 0 and persistent.column() == Column.LABEL


def test_a_token_that_appears_or_goes_resets_the_model(model: TokenTableModel) -> None:
    names, rows = _views_to_rows(SAMPLE)
    model.load(names, rows, show_environment=False)
    extra = rows[0]._replace(id=9)
    model.update_rows([extra], gone=[2])
    assert sorted(ids(model)) == [1, 3, 4, 9]
    assert model.counts() == (4, 0)


@st.composite
def table_histories(
    draw: st.DrawFn,
) -> tuple[list[TokenRow], list[tuple[list[TokenRow], list[int]]], int, bool, str]:
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
    history: tuple[list[TokenRow], list[tuple[list[TokenRow], list[int]]], int, bool, str],
) -> None:
    initial, batches, column, descending, needle = history
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    model = TokenTableModel()
    model.load(NAMES, initial, show_environment=True)
    model.sort(column, order)
    model.set_filter(needle)
    current = {row.id: row for row in initial}
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    for batch, deleted in batches:
        gone = [token_id for token_id in deleted if token_id not in {r.id for r in batch}]
        watched = {
            token_id: QPersistentModelIndex(model.index(place, Column.LABEL))
            for place, token_id in enumerate(model.token_ids())
        }
        resets.clear()
        model.update_rows(batch, gone)
        current.update((row.id, row) for row in batch)
        for token_id in gone:
            current.pop(token_id, None)
        fresh = TokenTableModel()
        fresh.load(NAMES, current.values(), show_environment=True)
        fresh.sort(column, order)
        fresh.set_filter(needle)
        assert model.token_ids() == fresh.token_ids()
        assert texts_by_id(model) == texts_by_id(fresh)
        assert model.counts()[1] == fresh.counts()[1]  # inactive tokens
        for token_id, index in watched.items():
            if resets:
                continue  # a token came or went: the view keeps its selection by id instead
            # A selection follows its token; a token the filter now hides loses it.
            place = model.row_of(token_id)
            if place is None:
                assert not index.isValid()
            else:
                assert index.row() == place and index.column() == Column.LABEL
        # Every other column's order was kept up to date too.
        for other in Column:
            model.sort(other, order)
            fresh.sort(other, order)
            assert model.token_ids() == fresh.token_ids(), other
        model.sort(column, order)


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns", "Asia/Kathmandu"]
)
def test_local_minutes_match_the_standard_library(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table's own local-time formatting (fast, cached) says what datetime says, across
    daylight-saving changes, half-hour zones and Lord Howe's half-hour shift."""
    import time as clock

    from desktop.services import display as token_model

    monkeypatch.setenv("TZ", zone)
    clock.tzset()
    monkeypatch.setattr(token_model, "_DAYS", {})
    monkeypatch.setattr(token_model, "_OFFSETS", {})
    try:
        generator = random.Random(zone)
        minutes = [generator.randrange(0, 40_000_000) for _ in range(5_000)]
        # Every minute around the 2026 changes in the southern and northern hemispheres.
        for start in (29_540_000, 29_560_000, 29_830_000, 29_880_000):
            minutes += range(start, start + 60 * 24 * 40, 7)
        for minute in minutes:
            expected = datetime.fromtimestamp(minute * 60).isoformat(" ", "minutes")
            assert token_model.minute_text(minute) == expected, minute
    finally:
        monkeypatch.undo()
        clock.tzset()


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("environment", [None, "Production"])
def test_the_first_screen_query_matches_the_models_order(
    context: Context, clock: object, descending: bool, environment: str | None
) -> None:
    """The window paints its first screen from TokenService.token_page; once every row is read
    the model shows the same tokens first, in every column's order."""
    from datetime import timedelta as days_apart

    service: TokenService = context.service
    service.add_environment("Production")
    service.add_environment("staging")
    service.add_role("Reader", ["GET /Loans"])
    service.add_role("admin", ["* /Loans"])
    for name, role in (("Ada", "Reader"), ("bob", "admin"), ("Cy", "Reader")):
        service.add_agent(name, role, has_logged_in=True, signed_agreement=True)
    plan = [
        ("Production", "Ada", "nightly", "weekly"),
        ("staging", "bob", "Alpha", None),
        ("Production", "Cy", "beta", "daily"),
        ("Production", "bob", "", "30d"),
        ("staging", "Ada", "gamma", "12h"),
        ("Production", "Ada", "Delta", None),
    ]
    for n, (env, agent, label, rotation) in enumerate(plan):
        token = service.create_token(env, agent, label=label, rotation=rotation).token
        if n % 3 == 1:
            service.set_status(token.id, False)
        clock.advance(days_apart(minutes=3))  # type: ignore[attr-defined]
    order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
    _, names, rows = service.token_table(environment)
    for column in Column:
        model = TokenTableModel()
        model.sort(column, order)
        model.load(names, list(rows), show_environment=environment is None)
        _, first = service.token_page(environment, column, descending=descending, limit=4)
        assert [row.id for row in first] == model.token_ids()[:4], column.name
