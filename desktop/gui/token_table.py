"""TokenTableView: the view of the token table.

It keeps the selection by token id (so a reload, a sort or a filter never loses it), says what
to do when there is nothing to show, widens the API Token column while a secret is revealed,
and never copies a cell's text by itself: Copy goes through the window's action, which marks the
secret for clipboard managers and clears it again.

By keyboard the table is one stop in the window's Tab order (Tab never moves from cell to cell,
so it cannot change the selected token on the way to a button); Up or Down with nothing selected
selects the current token (the first one, after start) rather than the one after it; Shift+F10
opens the context menu as the Menu key does.

Each column is sized by its kind (:class:`Samples`, :class:`Contents`, :class:`Stretch`): by font
metrics of the longest text it can hold, by its header and the rows on screen, or by the width
the others leave (Label). Never by reading every row, as ResizeToContents does on each layout:
100,000 rows would take seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QObject,
    QRect,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import QContextMenuEvent, QFontMetrics, QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLabel,
    QTableView,
    QWidget,
)

from desktop.domain import tokens
from desktop.domain.table import DEFAULT_SORT, Column
from desktop.gui.icons import BADGE_SIZE
from desktop.gui.token_model import TOKEN_ID_ROLE, TokenTableModel
from desktop.services import display
from desktop.services.views import TokenView

_PADDING = 28  # around a column's sample text
_CONTENTS_MARGIN = 8  # beyond what the item delegate asks for a cell on screen
_BADGE_GAP = 4  # between a decoration and its text
_EMPTY_MARGIN = 24
_MINIMUM_ROWS = 5
_FIT_AFTER_SCROLL_MS = 150
# Intervals whose Rotation texts are the longest a schedule gets ("Every 30 days", …).
_INTERVALS = (None, 3600, 12 * 3600, 86_400, 604_800, 30 * 86_400, 90 * 86_400)


@dataclass(frozen=True)
class Samples:
    """A column sized to the widest of *texts*, the longest it can hold, by font metrics
    (*metrics*: the column's font, when not the view's), plus *extra* for a decoration."""

    texts: tuple[str, ...]
    metrics: QFontMetrics | None = None
    extra: int = 0


@dataclass(frozen=True)
class Contents:
    """A column sized to its header and the rows on screen, between *floor* and *cap*
    average characters: names, whose length has no useful bound."""

    floor: int = 8
    cap: int = 24


class Stretch:
    """The column that takes whatever width the others leave (down to its header's)."""


Fit = Samples | Contents | Stretch
_CONTENTS = Contents()
_NAMES = Contents(floor=14, cap=24)
_NUMBERS = Contents(floor=3, cap=10)
_SHORT = Contents(floor=6, cap=40)
_STRETCH = Stretch()


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
        # However small the window, a few tokens stay in sight.
        self.setMinimumHeight(
            self.horizontalHeader().sizeHint().height()
            + _MINIMUM_ROWS * vertical.defaultSectionSize()
            + 2 * self.frameWidth()
        )
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(True)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._sizing = False  # True while the view sizes columns itself
        self._resized_by_hand: set[int] = set()  # columns whose width the person chose
        header.sectionResized.connect(self._section_resized)
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
        for signal in (model.modelReset, model.layoutChanged):
            signal.connect(self._fit_contents)
        # Rows scrolled into view may hold longer names: fitted once scrolling pauses.
        self._fit_timer = QTimer(self)
        self._fit_timer.setObjectName("columnFitTimer")
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(_FIT_AFTER_SCROLL_MS)
        self._fit_timer.timeout.connect(self._fit_contents)
        self.verticalScrollBar().valueChanged.connect(self._fit_timer.start)

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
            self._fit_contents()  # more rows on screen, or the first real screenful
        return super().eventFilter(watched, event)

    def _sync_environment_column(self) -> None:
        """The Environment column shows only while the table holds every environment."""
        self.setColumnHidden(Column.ENVIRONMENT, not self._model.shows_environment)
        self._give_the_rest()

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
        """Size every column by its kind (:meth:`_column_fits`): the Label column takes the
        spare width; the others fit their header and the longest text they can hold, or (names)
        what the rows on screen hold. Never by reading every row: 100,000 would take seconds."""
        header = self.horizontalHeader()
        # The Label column gives up its width first, down to its header's.
        header.setMinimumSectionSize(self._header_width(Column.LABEL))
        self._sizing = True
        try:
            for column in range(self._model.columnCount()):
                fit = self._column_fits().get(column, _CONTENTS)
                if isinstance(fit, Stretch):
                    # Sized by the view (see _give_the_rest): the header's own Stretch mode
                    # keeps a stale width once the other columns overflow the viewport.
                    header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
                    continue
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                if isinstance(fit, Samples):
                    header.resizeSection(column, self._samples_width(column, fit))
                else:
                    header.resizeSection(column, self._clamped(column, fit, 0))
        finally:
            self._sizing = False
        self._fit_contents()

    def _column_fits(self) -> dict[int, Fit]:
        """How each column is sized. A column missing here fits its header and the rows on
        screen (:data:`_CONTENTS`)."""
        mono = QFontMetrics(self._model.token_font())
        times = tuple(display.widest_times())
        return {
            Column.TOKEN: Samples((tokens.mask("WWWW"),), metrics=mono),
            Column.NAME: _NAMES,
            Column.LABEL: _STRETCH,
            Column.ROLE: _NAMES,
            # The badge beside the text, and the gap the style leaves after it.
            Column.STATUS: Samples(
                (display.ACTIVE, display.INACTIVE), extra=BADGE_SIZE + _BADGE_GAP
            ),
            # What the rows on screen hold, not the longest text possible: an ID is a few
            # digits, most tokens never expire, few are paused, and the width this leaves is
            # Label's. (Rows scrolled into view widen these once scrolling pauses.)
            Column.ID: _NUMBERS,
            Column.ROTATION: Samples(tuple(display.rotation_text(s) for s in _INTERVALS)),
            Column.NEXT_ROTATION: Contents(floor=max(map(len, times)), cap=40),
            Column.EXPIRES: _SHORT,
            Column.CREATED: Samples(times),
            Column.ENVIRONMENT: _NAMES,
            # Like Expires: many tokens say "Never", the rest a time.
            Column.LAST_USED: _SHORT,
        }

    def _header_width(self, column: int) -> int:
        """What the header needs for its text and the sort indicator."""
        return self.horizontalHeader().sectionSizeHint(column)

    def _samples_width(self, column: int, fit: Samples) -> int:
        metrics = fit.metrics or self.fontMetrics()
        widest = max(metrics.horizontalAdvance(text) for text in fit.texts)
        return max(self._header_width(column), widest + _PADDING + fit.extra)

    def _clamped(self, column: int, fit: Contents, contents: int) -> int:
        """*contents* (a width the rows on screen need), within the column's floor and cap."""
        average = self.fontMetrics().averageCharWidth()
        floor = max(self._header_width(column), fit.floor * average + _PADDING)
        return min(max(floor, contents), max(floor, fit.cap * average + _PADDING))

    def widest_width(self, column: int) -> int:
        """The widest this column is made by itself (a name column at its cap): what the
        window's minimum size allows for."""
        fit = self._column_fits().get(column, _CONTENTS)
        if isinstance(fit, Stretch):
            return self.horizontalHeader().minimumSectionSize()
        if isinstance(fit, Samples):
            return self._samples_width(column, fit)
        return self._clamped(column, fit, 1 << 20)

    def rows_on_screen(self) -> range:
        """The rows the viewport shows now (a screenful from the top before it is shown)."""
        count = self._model.rowCount()
        first = max(self.rowAt(0), 0)
        last = self.rowAt(self.viewport().height() - 1)
        if last < 0:
            row_height = max(self.verticalHeader().defaultSectionSize(), 1)
            last = first + self.viewport().height() // row_height
        return range(first, min(last + 1, count))

    @Slot()
    def _fit_contents(self) -> None:
        """Widen the columns sized by their contents to what the rows on screen need (never
        narrower, so scrolling does not make them jump; a column the person resized is left
        alone)."""
        header = self.horizontalHeader()
        rows = self.rows_on_screen()
        fits = self._column_fits()
        self._sizing = True
        try:
            for column in range(self._model.columnCount()):
                fit = fits.get(column, _CONTENTS)
                if (
                    not isinstance(fit, Contents)
                    or column in self._resized_by_hand
                    or self.isColumnHidden(column)
                ):
                    continue
                model = self._model
                needed = max(
                    (self.sizeHintForIndex(model.index(row, column)).width() for row in rows),
                    default=0,
                )
                width = self._clamped(column, fit, needed + _CONTENTS_MARGIN)
                if width > header.sectionSize(column):
                    header.resizeSection(column, width)
        finally:
            self._sizing = False
        self._give_the_rest()

    def _give_the_rest(self) -> None:
        """The stretching column takes the viewport's width the others leave, down to its
        header's width (then the table scrolls sideways)."""
        header = self.horizontalHeader()
        fits = self._column_fits()
        stretching = [
            c for c in range(self._model.columnCount()) if isinstance(fits.get(c), Stretch)
        ]
        if not stretching:
            return
        others = sum(
            header.sectionSize(c)
            for c in range(self._model.columnCount())
            if c not in stretching and not header.isSectionHidden(c)
        )
        spare = (self.viewport().width() - others) // len(stretching)
        width = max(header.minimumSectionSize(), spare)
        self._sizing = True
        try:
            for column in stretching:
                # A header state saved by an older version may bring back Stretch mode.
                if header.sectionResizeMode(column) != QHeaderView.ResizeMode.Fixed:
                    header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
                if header.sectionSize(column) != width:
                    header.resizeSection(column, width)
        finally:
            self._sizing = False

    @Slot(int, int, int)
    def _section_resized(self, column: int, old: int, new: int) -> None:
        if self._sizing:
            return
        header = self.horizontalHeader()
        shown_or_hidden = old == 0 or new == 0
        if not shown_or_hidden and header.sectionResizeMode(column) == (
            QHeaderView.ResizeMode.Interactive
        ):
            self._resized_by_hand.add(column)
        self._give_the_rest()

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
