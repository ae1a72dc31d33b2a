"""The window's layout: columns sized to what they hold, the Label column taking the spare
width, and a minimum size at which Status and the most used toolbar actions stay in sight."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QHeaderView, QToolBar
from pytestqt.qtbot import QtBot

from desktop import demo
from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.main_window import MainWindow
from desktop.services import display
from desktop.services.tokens import TokenService
from tests.gui.conftest import make_tokens, model, open_window
from tests.helpers.widgets import find

LONGEST_NAME = "Partner Portal Reconciliation and Settlement Synchronisation Bot " * 2
KEY_ACTIONS = (
    "actionCreateToken",
    "actionCopyToken",
    "actionRefresh",
    "actionActivate",
    "actionDeactivate",
    "actionDelete",
)


def at_minimum_size(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(window.minimumSize())
    qtbot.waitUntil(lambda: window.width() == window.minimumWidth())
    viewport = window.table.viewport()
    header = window.table.horizontalHeader()
    # The stretched Label column has given up its spare width.
    qtbot.waitUntil(
        lambda: (
            header.length() <= viewport.width()
            or header.sectionSize(Column.LABEL) == header.minimumSectionSize()
        )
    )


def test_columns_fit_what_they_hold_and_label_takes_the_rest(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 3)
    window.sync.reload()
    table = window.table
    header = table.horizontalHeader()
    metrics = table.fontMetrics()
    # Short names: a narrow Name column, leaving the width to Label.
    narrow = header.sectionSize(Column.NAME)
    assert narrow < metrics.horizontalAdvance("Partner Portal Sync Bot")
    assert narrow >= table.sizeHintForColumn(Column.NAME)
    assert header.sectionResizeMode(Column.LABEL) == QHeaderView.ResizeMode.Fixed
    assert header.length() == table.viewport().width()  # no gap, no sideways scrolling
    window.resize(window.width() + 100, window.height())
    qtbot.waitUntil(lambda: header.length() == table.viewport().width())
    for column in range(9):
        if not header.isSectionHidden(column):
            assert header.sectionSize(column) >= header.sectionSizeHint(column), column
    # Every time the locale can spell fits its column.
    for text in display.widest_times():
        assert header.sectionSize(Column.CREATED) >= metrics.horizontalAdvance(text)

    # A longer name on screen widens its column, up to a cap.
    seeded.add_agent(
        "Quarterly Settlement Sync", "Reader", has_logged_in=True, signed_agreement=True
    )
    seeded.add_agent(
        LONGEST_NAME.strip()[:100], "Reader", has_logged_in=True, signed_agreement=True
    )
    seeded.create_token("Production", "Quarterly Settlement Sync")
    window.sync.reload()
    assert header.sectionSize(Column.NAME) >= metrics.horizontalAdvance("Quarterly Settlement Sync")
    seeded.create_token("Production", LONGEST_NAME.strip()[:100])
    window.sync.reload()
    assert header.sectionSize(Column.NAME) < metrics.horizontalAdvance(LONGEST_NAME) // 2


def test_sizing_reads_only_the_rows_on_screen(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 120)
    window.sync.reload()
    asked: set[int] = set()
    data = window.model.data

    def counting(index, role=0):  # type: ignore[no-untyped-def]
        asked.add(index.row())
        return data(index, role)

    window.model.data = counting  # type: ignore[method-assign]
    window.table.set_column_widths()
    assert asked
    assert max(asked) < len(window.table.rows_on_screen()) + 1 < 120


def test_at_the_minimum_size_status_and_the_key_actions_stay_in_sight(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    seeded.add_agent(
        LONGEST_NAME.strip()[:100], "Reader", has_logged_in=True, signed_agreement=True
    )
    seeded.add_role("A role whose name is as long as a sentence can be in a form", ["GET /Loans"])
    seeded.create_token("Production", LONGEST_NAME.strip()[:100], label=LONGEST_NAME)
    make_tokens(seeded, 3)
    window.sync.reload()
    minimum = window.minimumSize()
    assert minimum.width() <= 1000  # it still fits a small laptop screen with room to spare
    at_minimum_size(window, qtbot)

    table = window.table
    header = table.horizontalHeader()
    status_end = header.sectionViewportPosition(Column.STATUS) + header.sectionSize(Column.STATUS)
    assert header.sectionViewportPosition(Column.STATUS) >= 0
    assert status_end <= table.viewport().width()

    toolbar = find(window, QToolBar, "mainToolBar")
    for action in toolbar.actions():
        if action.objectName() in KEY_ACTIONS:
            button = toolbar.widgetForAction(action)
            assert button is not None and button.isVisible(), action.objectName()
            assert toolbar.rect().contains(button.geometry()), action.objectName()


def test_the_all_environments_view_keeps_status_in_sight_too(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 2)
    make_tokens(seeded, 2, "Staging")
    window.environments.select("")
    assert not window.table.isColumnHidden(Column.ENVIRONMENT)
    at_minimum_size(window, qtbot)
    header = window.table.horizontalHeader()
    status_end = header.sectionViewportPosition(Column.STATUS) + header.sectionSize(Column.STATUS)
    assert status_end <= window.table.viewport().width()
    assert model(window).rowCount() == 4


def test_the_title_names_the_environment_shown(window: MainWindow, seeded: TokenService) -> None:
    make_tokens(seeded, 1, "Staging")
    assert window.windowTitle() == "Production — TokenDesk"
    assert str(window.context.data_dir) not in window.windowTitle()
    window.environments.select("Staging")
    assert window.windowTitle() == "Staging — TokenDesk"
    window.environments.select("")
    assert window.windowTitle() == "All environments — TokenDesk"
    window.set_title_note("demo data")
    assert window.windowTitle() == "All environments — TokenDesk (demo data)"


def test_at_the_minimum_size_a_few_tokens_stay_in_sight(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    make_tokens(seeded, 12)
    window.sync.reload()
    at_minimum_size(window, qtbot)
    assert len(window.table.rows_on_screen()) >= 5


def test_a_header_saved_by_an_older_version_still_gives_label_the_rest(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    """An older version saved the Label column in the header's own Stretch mode, which keeps a
    stale width once the other columns overflow: restored, it is sized by the view again."""
    make_tokens(seeded, 3)
    window.sync.reload()
    header = window.table.horizontalHeader()
    header.setSectionResizeMode(Column.LABEL, QHeaderView.ResizeMode.Stretch)
    saved = header.saveState()
    header.setSectionResizeMode(Column.LABEL, QHeaderView.ResizeMode.Fixed)
    assert header.restoreState(saved)
    at_minimum_size(window, qtbot)
    assert header.sectionResizeMode(Column.LABEL) == QHeaderView.ResizeMode.Fixed
    status_end = header.sectionViewportPosition(Column.STATUS) + header.sectionSize(Column.STATUS)
    assert status_end <= window.table.viewport().width()


def test_names_on_the_first_screen_and_those_scrolled_to_fit_their_column(
    qtbot: QtBot, context: Context, seeded: TokenService
) -> None:
    """The window reads its tokens before it is shown: the first real screenful is fitted
    when it shows, and rows scrolled into view once scrolling pauses."""
    first = "Settlement Sync"
    last = "Ledger Import Service"
    for name in (first, last):
        seeded.add_agent(name, "Reader", has_logged_in=True, signed_agreement=True)
    seeded.create_token("Production", first, label="a")
    make_tokens(seeded, 60)
    seeded.create_token("Production", last, label="zz")
    window = open_window(qtbot, context)
    table, header = window.table, window.table.horizontalHeader()
    metrics = table.fontMetrics()
    assert header.sectionSize(Column.NAME) >= metrics.horizontalAdvance(first)
    assert header.sectionSize(Column.NAME) < metrics.horizontalAdvance(last)

    header.setSortIndicator(Column.LABEL, Qt.SortOrder.AscendingOrder)
    table.scrollToBottom()
    fit = find(table, QTimer, "columnFitTimer")
    assert fit.isActive()
    fit.timeout.emit()
    assert header.sectionSize(Column.NAME) >= metrics.horizontalAdvance(last)
    window.close()


def test_at_the_default_size_the_demo_labels_fit_beside_every_column(
    qtbot: QtBot, context: Context
) -> None:
    """The demo's tokens have every kind of column filled (rotations, next rotations, last
    uses): at the window's default size each column fits what it holds and Label still shows
    a whole label, with no sideways scrolling."""
    demo.seed(context.service, context.database)
    font = QApplication.font()
    desktop_font = QFont(font)
    desktop_font.setPointSize(10)  # GNOME's and KDE's usual size, a point above Qt's own
    QApplication.setFont(desktop_font)
    try:
        window = open_window(qtbot, context)
    finally:
        QApplication.setFont(font)
    table = window.table
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.length() <= table.viewport().width())
    assert header.sectionSize(Column.LABEL) >= table.fontMetrics().horizontalAdvance(
        "Servicing dashboard"
    )
    window.close()
