"""TokenTableView: the view of the token table.

It keeps the selection by token id (so a reload, a sort or a filter never loses it), says what
to do when there is nothing to show, widens the API Token column while a secret is revealed,
and never copies a cell's text by itself: Copy goes through the window's action, which marks the
secret for clipboard managers and clears it again.

By keyboard the table is one stop in the window's Tab order (Tab never moves from cell to cell,
so it cannot change the selected token on the way to a button); Up or Down with nothing selected
selects the current token (the first one, after start) rather than the one after it; Shift+F10
opens the context menu as the Menu key does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, QObject, QRect, Qt
from PySide6.QtGui import QContextMenuEvent, QFontMetrics, QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QTableView,
    QWidget,
)

from desktop.domain.table import DEFAULT_SORT, Column
from desktop.gui.icons import BADGE_SIZE
from desktop.gui.token_model import TOKEN_ID_ROLE, TokenTableModel
from desktop.services import display
from desktop.services.views import TokenView

_PADDING = 28  # around a column's sample text
_BADGE_GAP = 4  # between a decoration and its text
_EMPTY_MARGIN = 24


def _ranges(rows: list[int]) -> Iterator[tuple[int, int]]:
    """Runs of consecutive numbers in a sorted list, as (first, last) pairs."""
    start = previous = None
    for row in rows:
        if previous is not None and start is not None and row != previous + 1:
            yield start, previous
            start = None
        if start is None:
            start = row
        previous = row
    if start is not None and previous is not None:
        yield start, previous


class TokenTableView(QTableView):
    def __init__(self, model: TokenTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenTable")
        self._model = model
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setTabKeyNavigation(False)  # Tab goes on to the next part of the window
        vertical = self.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.set_column_widths()
        header.setSortIndicator(DEFAULT_SORT, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        self._token_width: int | None = None  # the column's width before a secret widened it
        self.restoring = False  # True while a reload puts the selection back

        # What to do when there is nothing to show: a label over the empty viewport.
        self._empty = QLabel(self.viewport())
        self._empty.setObjectName("emptyTableLabel")
        self._empty.setWordWrap(True)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._empty.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        palette = self._empty.palette()
        palette.setBrush(
            QPalette.ColorRole.WindowText,
            palette.brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text),
        )
        self._empty.setPalette(palette)
        self._empty.hide()
        self.viewport().installEventFilter(self)
        for signal in (
            model.modelReset,
            model.layoutChanged,
            model.rowsInserted,
            model.rowsRemoved,
        ):
            signal.connect(self._sync_empty)
        model.modelReset.connect(self._sync_environment_column)
        self._sync_environment_column()

    # ----------------------------------------------------------------- empty state

    def empty_text(self) -> str:
        return self._empty.text()

    def empty_text_shown(self) -> bool:
        return self._empty.isVisible()

    def set_empty_text(self, text: str) -> None:
        """What the table says while it shows no row (plain text)."""
        self._empty.setText(text)
        self._sync_empty()

    def _sync_empty(self) -> None:
        self._empty.setVisible(self._model.rowCount() == 0 and bool(self._empty.text()))
        self._place_empty()

    def _place_empty(self) -> None:
        area = (
            self.viewport()
            .rect()
            .adjusted(_EMPTY_MARGIN, 2 * _EMPTY_MARGIN, -_EMPTY_MARGIN, -_EMPTY_MARGIN)
        )
        self._empty.setGeometry(area)

    def event(self, event: QEvent) -> bool:
        # A right click reports its place in the viewport; the Menu key's request reaches the
        # view itself, in the view's coordinates (above the header): say it in the viewport's
        # too, or the menu opens a header's height below the current token.
        if (
            isinstance(event, QContextMenuEvent)
            and event.reason() == QContextMenuEvent.Reason.Keyboard
            and self.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
        ):
            event.accept()
            self.customContextMenuRequested.emit(self.viewport().mapFrom(self, event.pos()))
            return True
        return super().event(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport() and event.type() == QEvent.Type.Resize:
            self._place_empty()
        return super().eventFilter(watched, event)

    def _sync_environment_column(self) -> None:
        """The Environment column shows only while the table holds every environment."""
        self.setColumnHidden(Column.ENVIRONMENT, not self._model.shows_environment)

    # ----------------------------------------------------------------- keys

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # QAbstractItemView copies the current cell's text on Ctrl+C when no enabled action
        # takes the shortcut first: a revealed secret would reach the clipboard unmarked and
        # never be cleared. Copying is the Copy action's job alone.
        if event.matches(QKeySequence.StandardKey.Copy):
            event.accept()
            return
        key, modifiers = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key == Qt.Key.Key_F10 and modifiers == Qt.KeyboardModifier.ShiftModifier:
            event.accept()
            self._open_context_menu()
            return
        if (
            key in (Qt.Key.Key_Down, Qt.Key.Key_Up)
            and modifiers == Qt.KeyboardModifier.NoModifier
            and self._select_current_row()
        ):
            event.accept()
            return
        super().keyPressEvent(event)

    def _open_context_menu(self) -> None:
        """What the window sends the focus widget for the Menu key: a keyboard context menu
        request at the current cell (QWidgetWindow places it at the input cursor)."""
        place = QRect(self.inputMethodQuery(Qt.InputMethodQuery.ImCursorRectangle)).center()
        request = QContextMenuEvent(
            QContextMenuEvent.Reason.Keyboard, place, self.mapToGlobal(place)
        )
        QApplication.sendEvent(self, request)

    def _select_current_row(self) -> bool:
        """With no token selected, select the current one (the first when none is current);
        False when a token is selected already or there is none."""
        model = self._model
        if self.selectionModel().hasSelection() or not model.rowCount():
            return False
        current = self.currentIndex()
        row = current.row() if current.isValid() else 0
        self.select_tokens([model.token_at(row).id])
        self.scrollTo(self.currentIndex())
        return True

    # ----------------------------------------------------------------- columns

    def set_column_widths(self) -> None:
        metrics = self.fontMetrics()
        mono = QFontMetrics(self._model.token_font())

        def width(sample: str, fm: QFontMetrics = metrics) -> int:
            return fm.horizontalAdvance(sample) + _PADDING

        widths = {
            Column.TOKEN: width("tdk_••••••••WWWW", mono),
            Column.NAME: width("Partner Portal Sync Bot"),
            Column.LABEL: width("Nightly payments import"),
            Column.ROLE: width("Integrations admin"),
            # The badge beside the text, and the gap the style leaves after it.
            Column.STATUS: width(display.INACTIVE) + BADGE_SIZE + _BADGE_GAP,
            Column.ID: width("#00000"),
            Column.ROTATION: width(display.rotation_text(30 * 86_400)),
            Column.NEXT_ROTATION: width(display.WIDEST_TIME + display.PAUSED),
            Column.CREATED: width(display.WIDEST_TIME),
            Column.ENVIRONMENT: width("Production EU"),
        }
        header = self.horizontalHeader()
        for column, value in widths.items():
            header.resizeSection(column, value)
        header.setSectionResizeMode(Column.LABEL, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(metrics.horizontalAdvance("Status") + _PADDING)

    def widen_token_column(self, text: str) -> None:
        """Make the API Token column wide enough for *text* (a revealed secret)."""
        header = self.horizontalHeader()
        needed = QFontMetrics(self._model.token_font()).horizontalAdvance(text) + _PADDING
        current = header.sectionSize(Column.TOKEN)
        if current < needed:
            if self._token_width is None:
                self._token_width = current
            header.resizeSection(Column.TOKEN, needed)

    def restore_token_column(self) -> None:
        """Give the API Token column back the width it had before :meth:`widen_token_column`."""
        if self._token_width is not None:
            self.horizontalHeader().resizeSection(Column.TOKEN, self._token_width)
            self._token_width = None

    def token_column_widened(self) -> bool:
        return self._token_width is not None

    # ----------------------------------------------------------------- selection by token

    def selected_tokens(self) -> list[TokenView]:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [self._model.token_at(row) for row in rows if row < self._model.rowCount()]

    def select_tokens(self, token_ids: list[int], current: int | None = None) -> None:
        """Select these tokens (those shown), making *current* (or the first) current."""
        model = self._model
        selection_model = self.selectionModel()
        rows = model.rows_of(token_ids)
        selection = QItemSelection()
        last = model.columnCount() - 1
        for first, final in _ranges(rows):
            selection.select(model.index(first, 0), model.index(final, last))
        flags = QItemSelectionModel.SelectionFlag
        selection_model.select(selection, flags.ClearAndSelect)
        current_row = model.row_of(current) if current is not None else None
        if current_row is None and rows:
            current_row = rows[0]
        if current_row is not None:
            selection_model.setCurrentIndex(
                model.index(current_row, max(self.currentIndex().column(), 0)), flags.NoUpdate
            )

    @contextmanager
    def keeping_view(self) -> Iterator[None]:
        """Selection (by token id), current token and scroll position survive a model reset."""
        selected = [t.id for t in self.selected_tokens()]
        current = self.currentIndex()
        current_id = current.data(TOKEN_ID_ROLE) if current.isValid() else None
        vertical = self.verticalScrollBar().value()
        horizontal = self.horizontalScrollBar().value()
        self.restoring = True
        try:
            yield
            self.doItemsLayout()
            if selected or current_id is not None:
                self.select_tokens(selected, current_id)
            self.verticalScrollBar().setValue(vertical)
            self.horizontalScrollBar().setValue(horizontal)
        finally:
            self.restoring = False
