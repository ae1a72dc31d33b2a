"""TokenTableModel: the Qt adapter over the token index (tests/unit/services/test_token_index.py
tests the orders, the filter and the updates themselves): what the view is told, and how cells
look."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from PySide6.QtCore import QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.table import Column
from desktop.gui.token_model import (
    HEADERS,
    TOKEN_ID_ROLE,
    TokenTableModel,
)
from desktop.services.display import epoch_text
from desktop.services.tokens import TokenService
from desktop.services.views import Names, TokenRow, TokenView
from tests.helpers.clock import FakeClock
from tests.unit.services.test_token_index import (
    EXPECTED_ORDER,
    NAMES,
    SAMPLE,
    START,
    rows_from_views,
    table_histories,
    view,
)

DISPLAY = Qt.ItemDataRole.DisplayRole


def set_tokens(model: TokenTableModel, views: Iterable[TokenView]) -> None:
    """Replace the model's contents with these token records."""
    names, rows = rows_from_views(views)
    model.load(names, rows, show_environment=False)


@pytest.fixture
def clock() -> FakeClock:
    """The time the sample is read at: before any of its tokens expires."""
    return FakeClock(START)


@pytest.fixture
def model(qapp: QApplication, clock: FakeClock) -> TokenTableModel:
    # qapp: the Status badges are pixmaps, which need an application.
    model = TokenTableModel()
    model.use_clock(clock)
    set_tokens(model, SAMPLE)
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
    assert labels[5:] == [
        "ID",
        "Rotation",
        "Next rotation",
        "Expires",
        "Created",
        "Environment",
        "Last used",
    ]


def test_the_id_cell_reads_like_the_audit_log(model: TokenTableModel) -> None:
    assert dict(zip(ids(model), column_texts(model, Column.ID), strict=True)) == {
        1: "#1",
        2: "#2",
        3: "#3",
        4: "#4",
    }
    model.set_filter("#3")
    assert ids(model) == [3]


def test_an_agent_that_may_not_use_its_token_is_marked_on_the_name(
    qapp: QApplication,
) -> None:
    model = TokenTableModel()
    names, rows = rows_from_views([view(1, agent="Ada"), view(2, agent="Wes", role="Writer")])
    ada, wes = rows[0].agent_id, rows[1].agent_id
    standing = Names(
        names.environments,
        names.agents,
        refusals={wes: "agent 'Wes' is disabled"},
        permissions={"Reader": ("GET /Customers", "GET /Loans")},
    )
    assert ada != wes
    model.load(standing, rows, show_environment=False)
    ok, refused = (model.index(model.row_of(n) or 0, Column.NAME) for n in (1, 2))
    assert ok.data(Qt.ItemDataRole.DecorationRole) is None
    assert ok.data(Qt.ItemDataRole.ToolTipRole) is None
    icon = refused.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon) and not icon.isNull()
    assert refused.data(Qt.ItemDataRole.ToolTipRole) == (
        "Agent 'Wes' is disabled: every request with this token gets 401"
    )
    # The Role cell lists what the role allows, or says it allows nothing.
    reader, writer = (model.index(model.row_of(n) or 0, Column.ROLE) for n in (1, 2))
    assert reader.data(Qt.ItemDataRole.ToolTipRole) == "Reader allows:\nGET /Customers\nGET /Loans"
    assert writer.data(Qt.ItemDataRole.ToolTipRole) == (
        "Writer grants nothing: every request with this token gets 403"
    )


def test_token_column_is_masked_and_never_the_secret(model: TokenTableModel) -> None:
    row = model.row_of(1)
    assert row is not None
    assert model.index(row, Column.TOKEN).data(DISPLAY) == tokens.mask("zz01")
    assert model.index(row, Column.TOKEN).data(DISPLAY) == "tdk_••••••••zz01"


def test_status_text_is_exactly_active_or_inactive(model: TokenTableModel) -> None:
    statuses = dict(zip(ids(model), column_texts(model, Column.STATUS), strict=True))
    assert statuses == {1: "Active", 2: "Inactive", 3: "Active", 4: "Active"}


def test_an_inactive_row_looks_like_any_other_but_for_its_status_badge(
    model: TokenTableModel,
) -> None:
    inactive = model.row_of(2)
    active = model.row_of(1)
    assert inactive is not None and active is not None
    for row in (inactive, active):
        for column in range(model.columnCount()):
            cell = model.index(row, column)
            font = cell.data(Qt.ItemDataRole.FontRole)
            assert font is None or not font.italic()
            assert cell.data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(inactive, Column.TOKEN).data(Qt.ItemDataRole.FontRole) == (
        model.token_font()
    )
    assert model.index(inactive, Column.STATUS).data(DISPLAY) == "Inactive"
    assert model.index(active, Column.STATUS).data(DISPLAY) == "Active"
    badges = {
        row: model.index(row, Column.STATUS).data(Qt.ItemDataRole.DecorationRole)
        for row in (inactive, active)
    }
    assert all(isinstance(badge, QIcon) and not badge.isNull() for badge in badges.values())
    inactive_image = badges[inactive].pixmap(16, 16).toImage()
    active_image = badges[active].pixmap(16, 16).toImage()
    assert inactive_image != active_image


def test_status_badges_are_drawn_once_and_crisp_at_each_scale(model: TokenTableModel) -> None:
    rows = [model.row_of(token_id) for token_id in (1, 2, 3, 4)]
    first = [
        model.index(row or 0, Column.STATUS).data(Qt.ItemDataRole.DecorationRole) for row in rows
    ]
    again = [
        model.index(row or 0, Column.STATUS).data(Qt.ItemDataRole.DecorationRole) for row in rows
    ]
    assert [badge.cacheKey() for badge in first] == [badge.cacheKey() for badge in again]
    assert len({badge.cacheKey() for badge in first}) == 2  # one per state, shared by rows
    for scale in (1.0, 2.0, 3.0):
        pixmap = first[0].pixmap(QSize(16, 16), scale)
        assert pixmap.devicePixelRatio() == scale
        assert pixmap.width() == round(16 * scale)


def test_on_a_selected_row_the_badges_take_the_highlighted_text_colour(
    model: TokenTableModel,
) -> None:
    """A grey ring on the highlight colour all but vanishes: a selected row's badge is drawn
    in the colour the palette gives text there."""
    inactive, active = (
        model.index(model.row_of(token_id) or 0, Column.STATUS).data(Qt.ItemDataRole.DecorationRole)
        for token_id in (2, 1)  # 2 is the inactive one
    )
    light = QGuiApplication.palette().color(QPalette.ColorRole.HighlightedText)
    ring = (8 + 4, 8)  # a point of the inactive ring, 4 px right of the centre

    def at(icon: QIcon, mode: QIcon.Mode, point: tuple[int, int]) -> QColor:
        return icon.pixmap(QSize(16, 16), 1.0, mode).toImage().pixelColor(*point)

    assert at(inactive, QIcon.Mode.Normal, ring).name() == "#808080"
    assert at(inactive, QIcon.Mode.Selected, ring).name() == light.name()
    # The active dot keeps its green, ringed in the same colour.
    assert at(active, QIcon.Mode.Selected, (8, 8)) == at(active, QIcon.Mode.Normal, (8, 8))
    assert at(active, QIcon.Mode.Selected, (8 + 5, 8)).lightnessF() > 0.6


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
    set_tokens(model, [view(1, active=False, rotation=timedelta(days=1), next_at=START)])
    assert model.index(0, Column.NEXT_ROTATION).data(DISPLAY).endswith("(paused)")


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
    set_tokens(model, [*SAMPLE, view(5, agent="Alpha Five", created=START + timedelta(days=9))])
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
    set_tokens(model, SAMPLE)  # same generation: stays
    assert model.revealed_ids() == [3]
    set_tokens(model, [*SAMPLE[:2], view(3, hint="nn03", generation=1), SAMPLE[3]])
    assert model.revealed_ids() == []


def test_the_model_with_real_tokens(
    qtmodeltester: ModelTester, context: Context, clock: object
) -> None:
    service: TokenService = context.service
    service.add_environment("Production", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("Ada", "Reader", has_logged_in=True, signed_agreement=True)
    first = service.create_token("Production", "Ada", label="one", rotation="weekly")
    second = service.create_token("Production", "Ada", label="two")
    service.set_status(second.token.id, False)
    model = TokenTableModel()
    set_tokens(model, service.tokens("Production"))
    qtmodeltester.check(model)
    assert column_texts(model, Column.TOKEN) == [first.token.masked, second.token.masked]
    assert column_texts(model, Column.STATUS) == ["Active", "Inactive"]
    assert first.secret not in column_texts(model, Column.TOKEN)


# ----------------------------------------------------------------- changes, row by row


def texts_by_id(model: TokenTableModel) -> dict[int, tuple[str, ...]]:
    return {
        model.index(row, 0).data(TOKEN_ID_ROLE): tuple(
            model.index(row, column).data(DISPLAY) for column in range(model.columnCount())
        )
        for row in range(model.rowCount())
    }


def test_a_change_that_keeps_the_order_repaints_only_its_row(model: TokenTableModel) -> None:
    names, rows = rows_from_views(SAMPLE)
    model.load(names, rows, show_environment=False)
    model.sort(Column.CREATED)
    seen: list[str] = []
    model.modelReset.connect(lambda: seen.append("reset"))
    model.layoutChanged.connect(lambda: seen.append("layout"))
    model.dataChanged.connect(lambda first, last: seen.append(f"data {first.row()}-{last.row()}"))
    changed = rows[2]._replace(hint="qq03", generation=1)
    model.update_rows([changed])
    row = model.row_of(3)
    assert row is not None
    assert seen == [f"data {row}-{row}"]
    assert model.index(row, Column.TOKEN).data(DISPLAY) == tokens.mask("qq03")


def test_a_change_of_the_sort_key_moves_the_row_and_its_selection(
    model: TokenTableModel,
) -> None:
    names, rows = rows_from_views(SAMPLE)
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
    names, rows = rows_from_views(SAMPLE)
    model.load(names, rows, show_environment=False)
    extra = rows[0]._replace(id=9)
    model.update_rows([extra], gone=[2])
    assert sorted(ids(model)) == [1, 3, 4, 9]
    assert model.counts() == (4, 0)


@settings(max_examples=150, deadline=None)
@given(table_histories())
def test_changes_row_by_row_end_where_a_fresh_load_does(
    history: tuple[list[TokenRow], list[tuple[list[TokenRow], list[int]]], Column, bool, str],
) -> None:
    """What the view is told of each batch leaves it where a fresh load does, each selection
    following its token (the index's own test checks the orders without Qt)."""
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


def test_the_first_screen_then_every_row(qtmodeltester: ModelTester) -> None:
    """While the rows are read the model shows the first screen, counts every row, and keeps a
    sort and a filter asked for meanwhile until every row is here."""
    names, rows = rows_from_views(SAMPLE)
    model = TokenTableModel()
    model.show_first_rows(names, rows[:2], 40, show_environment=False)
    assert model.loading
    assert model.rowCount() == 40
    assert model.index(39, Column.LABEL).data(DISPLAY) is None
    assert model.counts() == (40, None)
    qtmodeltester.check(model)
    seen: list[str] = []
    model.modelReset.connect(lambda: seen.append("reset"))
    model.layoutChanged.connect(lambda: seen.append("layout"))
    model.sort(Column.TOKEN, Qt.SortOrder.DescendingOrder)
    model.set_filter("ALPHA")
    model.update_rows([rows[0]._replace(label="changed")])
    assert seen == []
    assert (model.sort_column, model.sort_order) == (Column.TOKEN, Qt.SortOrder.DescendingOrder)
    assert model.filter_text == "alpha"
    model.load(names, rows, show_environment=False)
    assert not model.loading
    assert seen == ["reset"]
    assert ids(model) == [4, 2]  # bb04, AA02
    assert model.counts() == (4, 1)
    qtmodeltester.check(model)


def test_lookups_go_through_to_the_index(model: TokenTableModel) -> None:
    model.sort(Column.TOKEN, Qt.SortOrder.DescendingOrder)  # zz01, mm03, bb04, AA02
    assert model.token_ids() == [1, 3, 4, 2]
    assert model.token_at(0).hint == "zz01"
    assert model.rows_of([2, 3, 99]) == [1, 3]
    assert [token.id for token in model.visible_tokens()] == [1, 3, 4, 2]
    model.set_filter("alpha")
    assert model.has_token(1) and model.row_of(1) is None
    assert [token.id for token in model.all_tokens()] == [1, 2, 3, 4]
    assert not model.shows_environment


# ----------------------------------------------------------------- expiry


def test_the_expires_column_shows_when_and_marks_expired_tokens(
    qtbot: QtBot, model: TokenTableModel, clock: FakeClock
) -> None:
    """Before its expiry a token shows the time; from then on "Expired" with an icon and a
    tooltip, and no next rotation, while its Status stays Active. Nothing in the database
    changes: the model notices by itself (check_expiry, which its timer calls)."""
    expiring = model.row_of(1)  # expires START + 5 days; rotates START + 3 days
    never = model.row_of(2)
    assert expiring is not None and never is not None
    cell = model.index(expiring, Column.EXPIRES)
    assert cell.data(DISPLAY) == epoch_text(int((START + timedelta(days=5)).timestamp()))
    assert cell.data(Qt.ItemDataRole.DecorationRole) is None
    assert "401" in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(never, Column.EXPIRES).data(DISPLAY) == "Never"
    assert model.index(never, Column.EXPIRES).data(Qt.ItemDataRole.ToolTipRole) is None
    assert model.expiry_timer.isActive()
    clock.advance(timedelta(days=5))
    with qtbot.waitSignals([model.dataChanged, model.tokensExpired]):
        model.check_expiry()
    cell = model.index(expiring, Column.EXPIRES)
    assert cell.data(DISPLAY) == "Expired"
    assert isinstance(cell.data(Qt.ItemDataRole.DecorationRole), QIcon)
    assert cell.data(Qt.ItemDataRole.ToolTipRole).startswith("Expired ")
    assert model.index(expiring, Column.STATUS).data(DISPLAY) == "Active"
    next_cell = model.index(expiring, Column.NEXT_ROTATION)
    assert next_cell.data(DISPLAY) == "—"
    assert next_cell.data(Qt.ItemDataRole.ToolTipRole) == "Expired tokens are not rotated"
    with qtbot.assertNotEmitted(model.tokensExpired):
        model.check_expiry()  # nothing more expired since


def test_sorting_by_expiry_puts_tokens_that_never_expire_last(model: TokenTableModel) -> None:
    model.sort(Column.EXPIRES, Qt.SortOrder.AscendingOrder)
    assert ids(model) == [1, 3, 2, 4]
    model.sort(Column.EXPIRES, Qt.SortOrder.DescendingOrder)
    assert ids(model) == [4, 2, 3, 1]


def test_a_rotation_after_the_expiry_is_not_shown_as_next(
    qapp: QApplication, clock: FakeClock
) -> None:
    model = TokenTableModel()
    model.use_clock(clock)
    late = START + timedelta(days=1)
    set_tokens(model, [view(1, rotation=timedelta(days=1), next_at=late, expires=late)])
    cell = model.index(0, Column.NEXT_ROTATION)
    assert cell.data(DISPLAY) == "—"
    assert "expires before this rotation" in cell.data(Qt.ItemDataRole.ToolTipRole)
