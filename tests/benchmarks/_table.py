"""The table figures: a filter keystroke and a sort, TokenDesk's table against the textbook Qt way
(the same display texts in a plain Python table model under a QSortFilterProxyModel).

Each step is timed from before the key event (or the sort call) to after the events it caused
have been processed and the table's viewport has been repainted synchronously, so the time
includes everything the person waits for.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QTableView, QVBoxLayout, QWidget

from tests.benchmarks._common import app, median

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from desktop.gui.main_window import MainWindow

AnyIndex = QModelIndex | QPersistentModelIndex
Key = str | Qt.Key

# A person looking for a token: part of an agent's name, a correction, more of it, Esc; then a
# word of a label, Esc again.
KEYSTROKES: tuple[Key, ...] = (
    *"ledger",
    Qt.Key.Key_Backspace,
    Qt.Key.Key_Backspace,
    Qt.Key.Key_Backspace,
    *"ger r",
    Qt.Key.Key_Escape,
    *"nightly",
    Qt.Key.Key_Escape,
)
BASELINE_KEYSTROKES = 3  # the proxy takes seconds for each at 100,000 rows
# Columns whose display text orders like the column (checked after each sort, first rows only)
ORDERED_BY_TEXT = frozenset({"Environment", "Name", "Label", "Role", "Status", "Created"})
SORT_CHECK_ROWS = 50


def _key_name(key: Key) -> str:
    return key if isinstance(key, str) else key.name.removeprefix("Key_")


def _press(edit: QLineEdit, key: Key) -> None:
    if isinstance(key, str):
        QTest.keyClicks(edit, key)  # one character
    else:
        QTest.keyClick(edit, key)


def _settled(application: QApplication, view: QTableView) -> None:
    application.processEvents()
    view.viewport().repaint()


@dataclass
class Keystroke:
    key: str
    text: str  # the filter box's text afterwards
    rows: int  # rows shown afterwards
    seconds: float  # the three parts below
    key_seconds: float  # the key event, with whatever it does at once (the filter, here)
    events_seconds: float  # processing the events it left (painting the window among them)
    repaint_seconds: float  # the synchronous repaint of the table's viewport


@dataclass
class TableResult:
    rows: int
    keystrokes: list[Keystroke]
    sorts: list[tuple[str, str, float]]  # column, order, seconds
    baseline_keystrokes: list[Keystroke] = field(default_factory=list)
    baseline_sorts: list[tuple[str, str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # of the filter
    sort_problems: list[str] = field(default_factory=list)

    @property
    def filter_median(self) -> float:
        return median([k.seconds for k in self.keystrokes])

    @property
    def filter_same_median(self) -> float:
        """TokenDesk's median over the keystrokes the baseline also made."""
        return median([k.seconds for k in self.keystrokes[: len(self.baseline_keystrokes)]])

    @property
    def baseline_filter_median(self) -> float:
        return median([k.seconds for k in self.baseline_keystrokes])

    @property
    def sort_median(self) -> float:
        return median([seconds for _, _, seconds in self.sorts])


def _type(
    application: QApplication,
    edit: QLineEdit,
    view: QTableView,
    model: QAbstractItemModel,
    keys: Sequence[Key],
) -> list[Keystroke]:
    done = []
    for key in keys:
        if not edit.hasFocus():  # Esc moves on to the table; a person clicks back (untimed)
            edit.setFocus()
            application.processEvents()
        started = time.perf_counter()
        _press(edit, key)
        pressed = time.perf_counter()
        application.processEvents()
        processed = time.perf_counter()
        view.viewport().repaint()
        repainted = time.perf_counter()
        done.append(
            Keystroke(
                _key_name(key),
                edit.text(),
                model.rowCount(),
                repainted - started,
                pressed - started,
                processed - pressed,
                repainted - processed,
            )
        )
    return done


def _sort_all(
    application: QApplication,
    view: QTableView,
    model: QAbstractItemModel,
    columns: Sequence[int],
    problems: list[str],
) -> list[tuple[str, str, float]]:
    done = []
    for column in columns:
        name = str(model.headerData(column, Qt.Orientation.Horizontal))
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            started = time.perf_counter()
            view.sortByColumn(column, order)
            _settled(application, view)
            seconds = time.perf_counter() - started
            direction = order.name.removesuffix("Order").lower()
            done.append((name, direction, seconds))
            if name in ORDERED_BY_TEXT and not _in_order(model, column, order):
                problems.append(f"after sorting by {name} {direction} the first rows were not")
    return done


def _in_order(model: QAbstractItemModel, column: int, order: Qt.SortOrder) -> bool:
    """Whether the first rows shown are in order: a sort that had not been applied by the time
    it was timed (or orders by something else) shows up here."""
    keys = [
        str(model.data(model.index(row, column)) or "").casefold()
        for row in range(min(SORT_CHECK_ROWS, model.rowCount()))
    ]
    return keys == sorted(keys, reverse=order == Qt.SortOrder.DescendingOrder)


def display_texts(model: QAbstractItemModel) -> list[tuple[str, ...]]:
    """What every cell shows (DisplayRole), row by row."""
    columns = range(model.columnCount())
    index, data = model.index, model.data
    return [
        tuple(str(data(index(row, column)) or "") for column in columns)
        for row in range(model.rowCount())
    ]


def expected_rows(texts: Sequence[tuple[str, ...]], typed: str) -> int:
    """How many rows a substring filter over every column shows for *typed*."""
    needle = typed.strip().casefold()
    if not needle:
        return len(texts)
    return sum(1 for row in texts if any(needle in cell.casefold() for cell in row))


class TextTableModel(QAbstractTableModel):
    """The baseline's model: the same display texts, from a plain Python list."""

    def __init__(self, texts: list[tuple[str, ...]], headers: list[str]) -> None:
        super().__init__()
        self._texts = texts
        self._headers = headers

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._texts)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][index.column()]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None


def _ours(window: MainWindow, application: QApplication) -> TableResult:
    table, model, edit = window.table, window.model, window.filter_edit
    window.activateWindow()
    edit.setFocus()
    QTest.qWaitForWindowActive(window, 5_000)
    rows = model.rowCount()
    keystrokes = _type(application, edit, table, model, KEYSTROKES)
    problems = []
    if edit.text():
        problems.append("Esc did not clear TokenDesk's filter; cleared it directly")
        edit.clear()
        _settled(application, table)
    if model.rowCount() != rows:
        problems.append(f"with the filter cleared the table shows {model.rowCount()} of {rows}")
    sort_problems: list[str] = []
    sorts = _sort_all(application, table, model, range(model.columnCount()), sort_problems)
    return TableResult(rows, keystrokes, sorts, problems=problems, sort_problems=sort_problems)


def _check_filter(result: TableResult, texts: Sequence[tuple[str, ...]]) -> None:
    """TokenDesk's rows after each keystroke must be those a substring filter over every
    column gives (the baseline's answer); a filter applied later would show up here too."""
    for stroke in result.keystrokes:
        expected = expected_rows(texts, stroke.text)
        if stroke.rows != expected:
            result.problems.append(
                f"after {stroke.key!r} (filter {stroke.text!r}) TokenDesk showed {stroke.rows:,} "
                f"rows, a substring filter over every column gives {expected:,}"
            )
    for ours, theirs in zip(result.keystrokes, result.baseline_keystrokes, strict=False):
        if ours.rows != theirs.rows:
            result.problems.append(
                f"filter {ours.text!r}: TokenDesk shows {ours.rows:,} rows, the proxy "
                f"{theirs.rows:,}"
            )


def _baseline(
    texts: list[tuple[str, ...]],
    headers: list[str],
    size: tuple[int, int],
    sort_columns: Sequence[int],
    application: QApplication,
    say: Callable[[str], None],
) -> tuple[list[Keystroke], list[tuple[str, str, float]]]:
    host = QWidget()
    host.setWindowTitle("QSortFilterProxyModel baseline")
    layout = QVBoxLayout(host)
    edit = QLineEdit(host)
    view = QTableView(host)
    view.setFixedSize(*size)
    layout.addWidget(edit)
    layout.addWidget(view)
    source = TextTableModel(texts, headers)
    proxy = QSortFilterProxyModel(host)
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setSourceModel(source)
    edit.textChanged.connect(proxy.setFilterFixedString)
    view.setModel(proxy)
    try:
        host.show()
        QTest.qWaitForWindowExposed(host, 10_000)
        host.activateWindow()
        edit.setFocus()
        _settled(application, view)
        say(f"  proxy filter: {BASELINE_KEYSTROKES} keystrokes")
        keystrokes = _type(application, edit, view, proxy, KEYSTROKES[:BASELINE_KEYSTROKES])
        edit.clear()
        _settled(application, view)
        sorts = []
        for column in sort_columns:
            say(f"  proxy sort: {headers[column]}")
            name = headers[column]
            started = time.perf_counter()
            view.sortByColumn(column, Qt.SortOrder.AscendingOrder)
            _settled(application, view)
            sorts.append((name, "ascending", time.perf_counter() - started))
        return keystrokes, sorts
    finally:
        host.close()
        view.setModel(None)
        host.deleteLater()


def measure(
    window: MainWindow, say: Callable[[str], None], *, baseline_sort_columns: Sequence[str]
) -> TableResult:
    """Filter keystrokes and sorts on *window*'s table, then the same on the proxy baseline."""
    application = app()
    say(f"  TokenDesk: {len(KEYSTROKES)} keystrokes, then every column both ways")
    result = _ours(window, application)
    model = window.model
    headers = [
        str(model.headerData(column, Qt.Orientation.Horizontal))
        for column in range(model.columnCount())
    ]
    # Collected only now: reading every cell first would have warmed TokenDesk's caches.
    texts = display_texts(model)
    random.Random(7).shuffle(texts)  # no presorted input for the proxy's sort
    columns = [headers.index(name) for name in baseline_sort_columns if name in headers]
    columns = columns or [1, len(headers) - 1]  # headers renamed: the second and the last
    size = window.table.size()
    result.baseline_keystrokes, result.baseline_sorts = _baseline(
        texts, headers, (size.width(), size.height()), columns, application, say
    )
    _check_filter(result, texts)
    return result
