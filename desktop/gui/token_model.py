"""The token table: a plain QAbstractTableModel that sorts and filters in Python lists.

It has to stay instant at 100,000 tokens, so (DESIGN.md §6):

* No proxy model: QSortFilterProxyModel calls back into Python for every comparison and takes
  seconds on 100,000 rows; sorting a Python list with a key function takes milliseconds.
* Rows are the plain tuples SQLite returns (:data:`~desktop.services.views.TokenRow`). A row's
  display text is made only when a view asks for it; the lower-cased text the filter searches
  is made with the rows (by :func:`prepare_rows`, in the table reader's thread for big tables),
  one compact string per row.
* One order is kept: every row ascending by the sort column, ties by token id. Descending is
  that order read backwards, so a sort never copies rows it does not have to, and each column's
  order is kept until the rows change.
* Changes arrive as a handful of rows (:meth:`TokenTableModel.update_rows`): each moves to its
  new place by bisection instead of the whole table being read and sorted again.

What the table shows never includes a secret, except a secret the person chose to reveal,
which the window hides again after a short while. Filtering never looks at a revealed secret.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QPalette

from desktop.domain import tokens
from desktop.domain.intervals import describe_interval
from desktop.gui import icons
from desktop.services.views import (
    Names,
    TokenRow,
    TokenView,
    token_view,
)

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TOKEN = 0
    NAME = 1
    LABEL = 2
    ROLE = 3
    STATUS = 4
    ROTATION = 5
    NEXT_ROTATION = 6
    CREATED = 7
    ENVIRONMENT = 8  # shown when the table holds every environment's tokens


HEADERS: tuple[str, ...] = (
    "API Token",
    "Name",
    "Label",
    "Role",
    "Status",
    "Rotation",
    "Next rotation",
    "Created",
    "Environment",
)
HEADER_TIPS: tuple[str, ...] = (
    "The token, masked: its prefix and last four characters",
    "The agent the token belongs to",
    "What the token is for",
    "The agent's role, which decides what the token may call",
    "Inactive tokens answer 401 to every request",
    "How often the secret is replaced automatically",
    "When the secret is next replaced (local time)",
    "When the token was created (local time)",
    "The environment the token lives in",
)

TOKEN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
# Roles as plain ints, compared in data() without touching the enum classes.
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_TOKEN_ID = int(TOKEN_ID_ROLE)
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_ROLES = frozenset((_FONT, _FOREGROUND, _DECORATION, _TOOLTIP, _TOKEN_ID))
# From this many rows on, the rows are kept out of the cycle collector's way (see adopt).
FREEZE_AT = 20_000


# ----------------------------------------------------------------- text


_DAYS: dict[int, str] = {}  # local day number → "YYYY-MM-DD"
_OFFSETS: dict[int, int | None] = {}  # UTC hour → local offset in minutes (None: it changes)


def _offset_minutes(minute: int) -> int:
    """The local UTC offset, in minutes, at a POSIX minute; looked up once per hour of time."""
    hour = minute // 60
    offset = _OFFSETS.get(hour, -1)
    if offset == -1:
        start = datetime.fromtimestamp(hour * 3600).astimezone().utcoffset()
        end = datetime.fromtimestamp(hour * 3600 + 3599).astimezone().utcoffset()
        offset = int(start.total_seconds()) // 60 if start == end and start is not None else None
        if len(_OFFSETS) > 100_000:
            _OFFSETS.clear()
        _OFFSETS[hour] = offset
    if offset is None:  # the clocks change within this hour: ask for this very minute
        exact = datetime.fromtimestamp(minute * 60).astimezone().utcoffset()
        return int(exact.total_seconds()) // 60 if exact is not None else 0
    return offset


def _minute_text(minute: int) -> str:
    """Local time to the minute ("2026-01-05 09:00") of a POSIX minute number. 100,000 rows
    need it twice each for the filter's text, so it works from cached days and offsets."""
    local = minute + _offset_minutes(minute)
    day, in_day = divmod(local, 1440)
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = (_EPOCH_DAY + timedelta(days=day)).isoformat()
    hours, minutes = divmod(in_day, 60)
    return f"{text} {hours:02d}:{minutes:02d}"


_EPOCH_DAY = date(1970, 1, 1)


def format_time(value: datetime | None) -> str:
    """Local time to the minute, or an em dash."""
    if value is None:
        return "—"
    return _minute_text(math.floor(value.timestamp()) // 60)


def _epoch_text(seconds: int | None) -> str:
    return "—" if seconds is None else _minute_text(seconds // 60)


def _next_rotation_text(data: TokenRow) -> str:
    """The Next rotation cell: local time, "(paused)" while inactive, or an em dash."""
    text = _epoch_text(data.next_rotation)
    if data.next_rotation is not None and not data.active:
        text += " (paused)"
    return text


def format_duration(value: timedelta) -> str:
    """``1 hour``, ``3 days``, ``2 weeks``."""
    seconds = int(value.total_seconds())
    for word, unit in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return f"1 {word}" if count == 1 else f"{count} {word}s"
    return f"{seconds} seconds"


@lru_cache(maxsize=256)
def _rotation_text(seconds: int | None) -> str:
    if not seconds:
        return "Never"
    text = describe_interval(timedelta(seconds=seconds))
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=256)
def _folded_rotation_text(seconds: int | None) -> str:
    return _rotation_text(seconds).casefold()


# The filter's text keeps to Latin-1 (one byte a character, half the memory of 100,000 rows'
# text): the masked token's dots and the dash of "no next rotation" become control characters,
# in the text searched and in what is searched for alike. No label or name holds one.
_FILTER_MARKS = str.maketrans({"•": "\x01", "—": "\x02"})
_MASK_PREFIX = tokens.mask("").casefold().translate(_FILTER_MARKS)  # what precedes the hint
_NO_NEXT = "—".translate(_FILTER_MARKS)  # the Next rotation cell without one


def _haystack(
    data: TokenRow,
    agents: dict[int, tuple[str, str]],
    environments: dict[int, str] | None,
) -> str:
    """Everything the filter searches in a row: each column's text, lower-cased (*agents* and
    *environments* hold names already lower-cased; None: no Environment column), with the two
    non-Latin-1 marks swapped as _FILTER_MARKS says. Never a revealed secret."""
    agent, role = agents.get(data.agent_id, ("?", "?"))
    next_text = _NO_NEXT if data.next_rotation is None else _next_rotation_text(data)
    hay = (
        f"{_MASK_PREFIX}{data.hint.casefold()}\n{agent}\n"
        f"{data.label.casefold()}\n{role}\n"
        f"{'active' if data.active else 'inactive'}\n"
        f"{_folded_rotation_text(data.rotation_seconds)}\n{next_text}\n"
        f"{_minute_text(data.created // 60)}"
    )
    if environments is not None:
        hay += "\n" + environments.get(data.environment_id, "?")
    return hay


def _folded_names(
    names: Names, show_environment: bool
) -> tuple[dict[int, tuple[str, str]], dict[int, str] | None]:
    agents = {
        key: (agent.casefold(), role.casefold()) for key, (agent, role) in names.agents.items()
    }
    if not show_environment:
        return agents, None
    return agents, {key: name.casefold() for key, name in names.environments.items()}


def describe_token(token: TokenView) -> str:
    """How the window names a token to a person: masked, with its agent and label."""
    label = f"label “{token.label}”" if token.label else "no label"
    return f"{token.masked} (agent {token.agent}, {label})"


class _Row:
    """One token: its row from the database, and what the table shows of it (made when first
    needed, dropped when the row changes)."""

    __slots__ = ("data", "hay", "slot", "texts")

    def __init__(self, data: TokenRow) -> None:
        self.data = data
        self.texts: tuple[str, ...] | None = None
        self.hay: str | None = None
        self.slot = -1  # its place among the rows by id (see prepare_rows)


def _dense_ranks(names: dict[int, str]) -> dict[int, int]:
    """Each id's place among the names, case-insensitively (equal names share a place)."""
    folded = {key: name.casefold() for key, name in names.items()}
    places = {name: n for n, name in enumerate(sorted(set(folded.values())))}
    return {key: places[name] for key, name in folded.items()}


def _key_function(column: Column, ranks: dict[Column, dict[int, int]]) -> Callable[[_Row], Any]:
    """The sort key of *column*: plain Python values, so list.sort never calls into Qt."""
    if column in ranks:
        ranked = ranks[column]
        if column == Column.ENVIRONMENT:
            return lambda row: ranked.get(row.data.environment_id, -1)
        return lambda row: ranked.get(row.data.agent_id, -1)
    if column == Column.TOKEN:
        return lambda row: row.data.hint
    if column == Column.LABEL:
        return lambda row: row.data.label.casefold()
    if column == Column.STATUS:
        return lambda row: not row.data.active
    if column == Column.ROTATION:
        return lambda row: row.data.rotation_seconds or math.inf
    if column == Column.NEXT_ROTATION:
        return lambda row: math.inf if row.data.next_rotation is None else row.data.next_rotation
    return lambda row: row.data.created


def _with_id(key: Callable[[_Row], Any]) -> Callable[[_Row], tuple[Any, int]]:
    """*key*, ties broken by token id: the full order every list of rows is kept in."""

    def ordered(row: _Row) -> tuple[Any, int]:
        return key(row), row.data.id

    return ordered


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """A table's rows, indexed and sorted: built by :func:`prepare_rows` on any thread, then
    taken over by :meth:`TokenTableModel.adopt` in the GUI thread."""

    names: Names
    show_environment: bool
    by_id: list[_Row]
    hays: list[str]  # each row's filter text, by id (row.slot)
    orders: dict[Column, list[_Row]]  # every row, ascending by each column, ties by id
    ranks: dict[Column, dict[int, int]]
    inactive: int


def prepare_rows(names: Names, rows: Iterable[TokenRow], *, show_environment: bool) -> PreparedRows:
    """Everything the model needs from *rows*, made without touching Qt. A list of rows is
    taken over: its rows are replaced in place."""
    ranks = {
        Column.NAME: _dense_ranks({key: agent for key, (agent, _) in names.agents.items()}),
        Column.ROLE: _dense_ranks({key: role for key, (_, role) in names.agents.items()}),
        Column.ENVIRONMENT: _dense_ranks(names.environments),
    }
    # Equal values share one object: 100,000 rows hold a few thousand labels, a handful of
    # schedules and errors, and SQLite hands each row its own copies (10 MB of them). Each row
    # is replaced in place, so the copies are freed as the shared ones take their place.
    rows = rows if isinstance(rows, list) else list(rows)
    shared: dict[Any, Any] = {}
    same = shared.setdefault
    for n, data in enumerate(rows):
        rows[n] = TokenRow(
            data.id,
            data.environment_id,
            same(data.agent_id, data.agent_id),
            same(data.label, data.label),
            data.active,
            data.hint,
            data.generation,
            same(data.rotation, data.rotation),
            same(data.rotation_seconds, data.rotation_seconds),
            same(data.grace_seconds, data.grace_seconds),
            data.next_rotation,
            data.last_rotated,
            data.grace_until,
            same(data.last_error, data.last_error),
            data.created,
        )
    del shared
    by_id = sorted((_Row(data) for data in rows), key=lambda row: row.data.id)
    # Each row's filter text, made here (off the GUI thread when a TableReader calls this) in
    # one pass, so the strings lie in memory in id order; the filter reads them in that order
    # (half the time of reading them in a sort order, which jumps all over memory).
    agents, environments = _folded_names(names, show_environment)
    hays: list[str] = []
    for slot, row in enumerate(by_id):
        row.slot = slot
        row.hay = _haystack(row.data, agents, environments)
        hays.append(row.hay)
    inactive = sum(1 for row in by_id if not row.data.active)
    # Every column's order, so that sorting by any of them later costs nothing. Python's sort
    # is stable: rows with equal keys stay in id order.
    orders = {each: sorted(by_id, key=_key_function(each, ranks)) for each in Column}
    return PreparedRows(names, show_environment, by_id, hays, orders, ranks, inactive)


def _views_to_rows(views: Iterable[TokenView]) -> tuple[Names, list[TokenRow]]:
    """Rows and names for token records (tests and small tables build the model from these)."""
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
            )
        )
    names = Names(
        {number: name for name, number in environments.items()},
        {number: pair for pair, number in agents.items()},
    )
    return names, rows


class TokenTableModel(QAbstractTableModel):
    """Tokens (of one environment, or of all); sortable by any column, filtered on any column's
    text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenTableModel")
        self._names = Names({}, {})
        self._show_environment = False
        self._rows: dict[int, _Row] = {}  # every token, by id
        self._hays: list[str] = []  # their filter texts, in id order (row.slot)
        self._order: list[_Row] = []  # every token, ascending by the sort column, ties by id
        self._orders: dict[Column, list[_Row]] = {}  # every column's order, kept up to date
        self._filtered: list[_Row] | None = None  # those matching the filter, same order
        self._filter = ""
        self._sort_column = Column.CREATED
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._descending = False  # the sort order, as data() reads it
        self._inactive = 0
        self._ranks: dict[Column, dict[int, int]] = {}
        self._folded_agents: dict[int, tuple[str, str]] = {}  # agent id → (agent, role)
        self._folded_environments: dict[int, str] | None = None
        self._revealed: dict[int, tuple[int, str]] = {}  # token id → (generation, secret)
        # While the rows are being read: the first screen's rows (in view order) and how many
        # rows there are in all (see show_first_rows).
        self._first: list[_Row] | None = None
        self._first_total = 0
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._mono_italic = QFont(self._mono)
        self._mono_italic.setItalic(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    # ----------------------------------------------------------------- Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return self._first_total if self._first is not None else len(self._visible)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every role of every cell painted: plain ints and few calls (DESIGN.md §6).
        if role == _DISPLAY:
            row = self._row_at(index.row())  # an invalid index has row -1
            if row is None:
                return None  # (or past the first screen while the rows are being read)
            column = index.column()
            if column == Column.TOKEN and self._revealed:
                revealed = self._revealed.get(row.data.id)
                if revealed is not None:
                    return revealed[1]
            return (row.texts or self._texts(row))[column]
        if role not in _ROLES:
            return None
        row = self._row_at(index.row())
        if row is None:
            return None
        data = row.data
        if role == _TOKEN_ID:
            return data.id
        active = data.active
        column = index.column()
        if role == _FONT:
            if column == Column.TOKEN:
                return self._mono if active else self._mono_italic
            return None if active else self._italic
        if role == _FOREGROUND:
            if active:
                return None
            return QGuiApplication.palette().brush(
                QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
            )
        if role == _DECORATION:
            if column == Column.NEXT_ROTATION and data.last_error:
                return icons.icon("warning")
            return None
        return self._tooltip(row, Column(column))  # the tooltip role

    def _tooltip(self, row: _Row, column: Column) -> str | None:
        data = row.data
        if column == Column.TOKEN:
            if data.id in self._revealed:
                return "Revealed; it is hidden again shortly"
            return f"{tokens.mask(data.hint)}: copy or reveal it from the Token menu"
        if column == Column.STATUS and not data.active:
            return "Inactive: every request with this token gets 401"
        if column == Column.ROTATION and data.rotation_seconds:
            if data.grace_seconds:
                grace = format_duration(timedelta(seconds=data.grace_seconds))
                return f"After each rotation the previous secret keeps working for {grace}"
            return "After each rotation the previous secret stops working at once"
        if column == Column.NEXT_ROTATION:
            if data.last_error:
                return (
                    f"The last scheduled rotation failed: {data.last_error}\n"
                    "It is tried again automatically."
                )
            if data.next_rotation is not None and not data.active:
                return "Inactive tokens are not rotated; it is due when activated again"
        if column == Column.LABEL and data.label:
            return str(data.label)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(HEADERS):
            return
        column = Column(column)
        if column == self._sort_column and order == self._sort_order:
            return
        if self._first is not None:  # applied when the rows arrive (see adopt)
            self._sort_column, self._sort_order = column, order
            self._descending = order == Qt.SortOrder.DescendingOrder
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        anchors = [(self._at(index.row()), index.column()) for index in persistent]
        if column != self._sort_column:
            self._sort_column = column
            self._order = self._orders.get(column, [])  # (none before the first load)
            if self._filtered is not None:
                needle = self._filter
                self._filtered = self._matching(self._order, needle)
        self._sort_order = order
        self._descending = order == Qt.SortOrder.DescendingOrder
        self.changePersistentIndexList(
            persistent, [self._index_of(row, column) for row, column in anchors]
        )
        self.layoutChanged.emit()

    # ----------------------------------------------------------------- contents

    def load(self, names: Names, rows: Iterable[TokenRow], *, show_environment: bool) -> None:
        """Replace the contents (a reset: the view keeps selection by id, see MainWindow)."""
        self.adopt(prepare_rows(names, rows, show_environment=show_environment))

    def adopt(self, prepared: PreparedRows) -> None:
        """Take over rows made by :func:`prepare_rows` (a reset, like :meth:`load`); the sort
        and filter asked for meanwhile apply."""
        self.beginResetModel()
        self._first = None
        self._use_names(prepared.names, prepared.show_environment)
        self._ranks = prepared.ranks
        self._rows = {row.data.id: row for row in prepared.by_id}
        self._hays = prepared.hays
        # A revealed secret is dropped once its token is gone or has a new secret.
        self._revealed = {
            token_id: value
            for token_id, value in self._revealed.items()
            if token_id in self._rows and self._rows[token_id].data.generation == value[0]
        }
        self._inactive = prepared.inactive
        self._orders = prepared.orders
        self._order = self._orders[self._sort_column]
        self._filtered = None
        if self._filter:
            self._filtered = self._matching(self._order, self._filter)
        self.endResetModel()
        if len(self._rows) >= FREEZE_AT:
            # 100,000 rows live as long as the window: keep Python's cycle collector from
            # walking them over and over (a full pass took 100 ms, a visible stall). They hold
            # no cycles, so reference counting still frees them when they are replaced.
            gc.freeze()

    def show_first_rows(
        self, names: Names, rows: Sequence[TokenRow], total: int, *, show_environment: bool
    ) -> None:
        """Show the first screen's *rows* (already in view order) of *total* while all of them
        are read; :meth:`adopt` takes over then. Meanwhile rows past these show empty, and a
        sort or filter asked for waits for the rows."""
        self.beginResetModel()
        self._use_names(names, show_environment)
        self._first = [_Row(data) for data in rows]
        self._first_total = max(total, len(rows))
        self._rows, self._order, self._orders, self._filtered = {}, [], {}, None
        self._hays = []
        self._inactive = 0
        self.endResetModel()

    def _use_names(self, names: Names, show_environment: bool) -> None:
        self._names = names
        self._show_environment = show_environment
        self._folded_agents, self._folded_environments = _folded_names(names, show_environment)

    @property
    def loading(self) -> bool:
        """True while only the first screen's rows are here (see :meth:`show_first_rows`)."""
        return self._first is not None

    def set_tokens(self, tokens: Iterable[TokenView], *, show_environment: bool = False) -> None:
        """Replace the contents with these token records."""
        names, rows = _views_to_rows(tokens)
        self.load(names, rows, show_environment=show_environment)

    def update_rows(self, rows: Iterable[TokenRow], gone: Iterable[int] = ()) -> None:
        """Take the current rows of changed tokens, and drop the tokens in *gone*. Rows that
        change move to their new place; only a token appearing or disappearing resets the
        model (the view keeps its selection by token id). Ignored while the rows are being
        read: the reader started after these changes, or its caller catches up after."""
        if self._first is not None:
            return
        latest = {data.id: data for data in rows}  # a token named twice: the later row
        changes = [(self._rows.get(token_id), data) for token_id, data in latest.items()]
        removed = [self._rows[token_id] for token_id in set(gone) if token_id in self._rows]
        if removed or any(row is None for row, _ in changes):
            # Rows come and go: a reset (cheap for the view), each row put in or taken out of
            # every order by bisection, never a rebuild of 100,000 rows.
            self.beginResetModel()
            for leaving in removed:
                self._remove(leaving)
            for known, data in changes:
                if known is None:
                    self._insert(data)
                elif known.data != data:
                    if known.data.generation != data.generation:
                        self._revealed.pop(data.id, None)
                    self._inactive += (not data.active) - (not known.data.active)
                    self._update(known, data, moves=True)
            self.endResetModel()
            return
        key = self._key(self._sort_column)
        needle = self._filter
        updates: list[tuple[_Row, TokenRow, bool]] = []  # row, new data, moves on screen
        for row, data in changes:
            assert row is not None
            if row.data == data:
                continue
            if row.data.generation != data.generation:
                self._drop_revealed(data.id)
            self._inactive += (not data.active) - (not row.data.active)
            probe = _Row(data)
            moves = key(probe) != key(row) or bool(
                needle and (needle in self._hay(probe)) != (needle in self._hay(row))
            )
            updates.append((row, data, moves))
        if not updates:
            return
        moving = any(moves for _, _, moves in updates)
        if moving:
            self.layoutAboutToBeChanged.emit()
            persistent = self.persistentIndexList()
            anchors = [(self._at(index.row()), index.column()) for index in persistent]
        for row, data, moves in updates:
            self._update(row, data, moves)
        if moving:
            self.changePersistentIndexList(
                persistent, [self._index_of(row, column) for row, column in anchors]
            )
            self.layoutChanged.emit()
            return
        shown = (self._place(row) for row, _, _ in updates)
        places = [place for place in shown if place is not None]
        if places:
            self.dataChanged.emit(
                self.index(min(places), 0), self.index(max(places), len(HEADERS) - 1)
            )

    def _insert(self, data: TokenRow) -> None:
        """A token new to the table (inside a reset): in every order, and the filter's."""
        row = _Row(data)
        row.slot = len(self._hays)
        self._hays.append(self._hay(row))
        self._rows[data.id] = row
        self._inactive += not data.active
        for column, rows in self._orders.items():
            insort(rows, row, key=_with_id(self._key(column)))
        if self._filtered is not None and self._filter in self._hay(row):
            insort(self._filtered, row, key=_with_id(self._key(self._sort_column)))

    def _remove(self, row: _Row) -> None:
        """A token gone from the table (inside a reset)."""
        for column, rows in self._orders.items():
            place = self._find(rows, row, self._key(column))
            if place is not None:
                del rows[place]
        if self._filtered is not None:
            place = self._find(self._filtered, row)
            if place is not None:
                del self._filtered[place]
        del self._rows[row.data.id]
        self._hays[row.slot] = ""  # the slot stays taken: the other rows keep theirs
        self._inactive -= not row.data.active
        self._revealed.pop(row.data.id, None)

    def _update(self, row: _Row, data: TokenRow, moves: bool) -> None:
        """Give *row* its new data, moving it to its new place in every column's order (and
        the filtered rows) where that changes; the shown order only when *moves*."""
        probe = _Row(data)
        relocated: list[tuple[list[_Row], Callable[[_Row], Any]]] = []
        for column, rows in self._orders.items():
            key = self._key(column)
            if rows is self._order and not moves:
                continue
            if rows is not self._order and key(probe) == key(row):
                continue
            place = self._find(rows, row, key)
            assert place is not None
            del rows[place]
            relocated.append((rows, key))
        filtered = self._filtered
        if moves and filtered is not None:
            place = self._find(filtered, row)
            if place is not None:
                del filtered[place]
        self._replace(row, data)
        for rows, key in relocated:
            insort(rows, row, key=_with_id(key))
        if moves and filtered is not None and self._filter in self._hay(row):
            insort(filtered, row, key=_with_id(self._key(self._sort_column)))

    def set_filter(self, text: str) -> None:
        """Show only tokens whose text in any column contains *text* (case-insensitive)."""
        needle = text.strip().casefold().translate(_FILTER_MARKS)
        if needle == self._filter:
            return
        if self._first is not None:  # applied when the rows arrive (see adopt)
            self._filter = needle
            return
        self.beginResetModel()
        if not needle:
            self._filtered = None
        else:
            # Typing on narrows what already matched: search only that.
            narrowing = self._filtered is not None and self._filter in needle
            source = self._filtered if narrowing and self._filtered is not None else self._order
            self._filtered = self._matching(source, needle)
        self._filter = needle
        self.endResetModel()

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def sort_column(self) -> Column:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    @property
    def shows_environment(self) -> bool:
        return self._show_environment

    # ----------------------------------------------------------------- rows and places

    @property
    def _visible(self) -> list[_Row]:
        return self._order if self._filtered is None else self._filtered

    def _row_at(self, place: int) -> _Row | None:
        first = self._first
        if first is not None:
            return first[place] if 0 <= place < len(first) else None
        visible = self._order if self._filtered is None else self._filtered
        count = len(visible)
        if not 0 <= place < count:
            return None
        return visible[count - 1 - place] if self._descending else visible[place]

    def _at(self, place: int) -> _Row:
        row = self._row_at(place)
        if row is None:
            raise IndexError(place)
        return row

    def _rows_by_id(self) -> list[_Row]:
        return [self._rows[token_id] for token_id in sorted(self._rows)]

    def _key(self, column: Column) -> Callable[[_Row], Any]:
        return _key_function(column, self._ranks)

    def _find(
        self, rows: list[_Row], row: _Row, key: Callable[[_Row], Any] | None = None
    ) -> int | None:
        """Where *row* is in *rows*, ordered by *key* (the sort column's), by bisection."""
        ordered = _with_id(key or self._key(self._sort_column))
        place = bisect_left(rows, ordered(row), key=ordered)
        return place if place < len(rows) and rows[place] is row else None

    def _place(self, row: _Row) -> int | None:
        """The view row showing *row*, or None when the filter hides it."""
        if self._first is not None:
            return next((n for n, first in enumerate(self._first) if first is row), None)
        visible = self._visible
        place = self._find(visible, row)
        if place is None:
            return None
        if self._descending:
            return len(visible) - 1 - place
        return place

    def _index_of(self, row: _Row, column: int) -> QModelIndex:
        place = self._place(row)
        return QModelIndex() if place is None else self.index(place, column)

    def _replace(self, row: _Row, data: TokenRow) -> None:
        row.data = data
        row.texts = None
        row.hay = _haystack(data, self._folded_agents, self._folded_environments)
        if 0 <= row.slot < len(self._hays):
            self._hays[row.slot] = row.hay

    def _matching(self, rows: list[_Row], needle: str) -> list[_Row]:
        """Those of *rows* (in their order) whose filter text contains *needle*."""
        if len(rows) < len(self._hays) // 4:
            return [row for row in rows if needle in self._hay(row)]
        # Most rows: search the texts in memory order, then pick the matches in *rows*' order.
        found = [needle in hay for hay in self._hays]
        return [row for row in rows if found[row.slot]]

    # ----------------------------------------------------------------- text

    def _texts(self, row: _Row) -> tuple[str, ...]:
        texts = row.texts
        if texts is None:
            data = row.data
            agent, role = self._names.agents.get(data.agent_id, ("?", "?"))
            texts = row.texts = (
                tokens.mask(data.hint),
                agent,
                data.label,
                role,
                "Active" if data.active else "Inactive",
                _rotation_text(data.rotation_seconds),
                _next_rotation_text(data),
                _epoch_text(data.created),
                self._names.environments.get(data.environment_id, "?"),
            )
        return texts

    def _hay(self, row: _Row) -> str:
        hay = row.hay
        if hay is None:
            hay = row.hay = _haystack(row.data, self._folded_agents, self._folded_environments)
        return hay

    # ----------------------------------------------------------------- lookups

    def token_font(self) -> QFont:
        """The fixed-width font of the API Token column."""
        return QFont(self._mono)

    def token_at(self, row: int) -> TokenView:
        return token_view(self._at(row).data, self._names)

    def _shown_count(self) -> int:
        return len(self._first) if self._first is not None else len(self._visible)

    def token_ids(self) -> list[int]:
        """Every token shown, in view order (while loading: those of the first screen)."""
        return [self._at(place).data.id for place in range(self._shown_count())]

    def visible_tokens(self) -> list[TokenView]:
        return [self.token_at(place) for place in range(self._shown_count())]

    def all_tokens(self) -> list[TokenView]:
        rows = self._first if self._first is not None else self._rows_by_id()
        return [token_view(row.data, self._names) for row in rows]

    def has_token(self, token_id: int) -> bool:
        """True when the table holds this token (shown or hidden by the filter)."""
        return self._row_of_id(token_id) is not None

    def _row_of_id(self, token_id: int) -> _Row | None:
        if self._first is not None:
            return next((row for row in self._first if row.data.id == token_id), None)
        return self._rows.get(token_id)

    def row_of(self, token_id: int) -> int | None:
        row = self._row_of_id(token_id)
        return None if row is None else self._place(row)

    def rows_of(self, token_ids: Iterable[int]) -> list[int]:
        places = (self.row_of(token_id) for token_id in set(token_ids))
        return sorted(place for place in places if place is not None)

    def counts(self) -> tuple[int, int | None]:
        """(tokens, inactive tokens) in the table, whatever the filter; the inactive ones are
        not known (None) while the rows are being read."""
        if self._first is not None:
            return self._first_total, None
        return len(self._rows), self._inactive

    # ----------------------------------------------------------------- revealing

    def reveal(self, token_id: int, secret: str) -> None:
        """Show *secret* in the token's API Token cell until :meth:`conceal`."""
        row = self._row_of_id(token_id)
        if row is None:
            return
        self._revealed[token_id] = (row.data.generation, secret)
        self._token_cell_changed(token_id)

    def conceal(self, token_ids: Sequence[int] | None = None) -> None:
        """Mask the given (or every) revealed secret again."""
        ids = list(self._revealed) if token_ids is None else list(token_ids)
        for token_id in ids:
            self._drop_revealed(token_id)

    def revealed_ids(self) -> list[int]:
        return list(self._revealed)

    def _drop_revealed(self, token_id: int) -> None:
        if self._revealed.pop(token_id, None) is not None:
            self._token_cell_changed(token_id)

    def _token_cell_changed(self, token_id: int) -> None:
        row = self.row_of(token_id)
        if row is not None:
            cell = self.index(row, Column.TOKEN)
            self.dataChanged.emit(
                cell, cell, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole]
            )
