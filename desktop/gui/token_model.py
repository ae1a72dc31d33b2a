"""The token table: a plain QAbstractTableModel that sorts and filters in Python lists.

No proxy model: QSortFilterProxyModel calls back into Python for every comparison and takes
seconds on 100,000 rows; sorting a Python list with a key function and emitting
``layoutChanged`` takes milliseconds (DESIGN.md §6). The model keeps every token of the shown
environment (sorted) and the visible, filtered subset of it.

What the table shows never includes a secret, except a secret the person chose to reveal,
which the window hides again after a short while. Filtering never looks at a revealed secret.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
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

from desktop.domain.intervals import describe_interval
from desktop.gui import icons
from desktop.services.views import TokenView

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


HEADERS: tuple[str, ...] = (
    "API Token",
    "Name",
    "Label",
    "Role",
    "Status",
    "Rotation",
    "Next rotation",
    "Created",
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
)

TOKEN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_FOREVER = timedelta.max


_LOCAL_OFFSETS: dict[tuple[int, int, int, int], timedelta] = {}


def _local_offset(value: datetime) -> timedelta:
    """The local UTC offset at *value*, looked up once per hour of time (fast for big tables)."""
    key = (value.year, value.month, value.day, value.hour)
    offset = _LOCAL_OFFSETS.get(key)
    if offset is None:
        if len(_LOCAL_OFFSETS) > 200_000:
            _LOCAL_OFFSETS.clear()
        offset = value.astimezone().utcoffset() or timedelta(0)
        _LOCAL_OFFSETS[key] = offset
    return offset


def format_time(value: datetime | None) -> str:
    """Local time to the minute, or an em dash."""
    if value is None:
        return "—"
    utc_value = value.astimezone(UTC) if value.tzinfo is not UTC else value
    return (utc_value + _local_offset(utc_value)).isoformat(" ", "minutes")[:16]


def format_duration(value: timedelta) -> str:
    """``1 hour``, ``3 days``, ``2 weeks``."""
    seconds = int(value.total_seconds())
    for word, unit in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= unit and seconds % unit == 0:
            count = seconds // unit
            return f"1 {word}" if count == 1 else f"{count} {word}s"
    return f"{seconds} seconds"


def rotation_text(token: TokenView) -> str:
    return _describe_rotation(token.rotation_interval)


@lru_cache(maxsize=256)
def _describe_rotation(interval: timedelta | None) -> str:
    if interval is None:
        return "Never"
    text = describe_interval(interval)
    return text[:1].upper() + text[1:]


def next_rotation_text(token: TokenView) -> str:
    if token.next_rotation_at is None:
        return "—"
    text = format_time(token.next_rotation_at)
    return text if token.active else f"{text} (paused)"


def describe_token(token: TokenView) -> str:
    """How the window names a token to a person: masked, with its agent and label."""
    label = f"label “{token.label}”" if token.label else "no label"
    return f"{token.masked} (agent {token.agent}, {label})"


def _display_texts(token: TokenView) -> tuple[str, ...]:
    return (
        token.masked,
        token.agent,
        token.label,
        token.role,
        token.status,
        rotation_text(token),
        next_rotation_text(token),
        format_time(token.created_at),
    )


class _Row:
    """One token and what the table shows of it (computed when first needed)."""

    __slots__ = ("_haystack", "_texts", "token")

    def __init__(self, token: TokenView) -> None:
        self.token = token
        self._texts: tuple[str, ...] | None = None
        self._haystack: str | None = None

    @property
    def texts(self) -> tuple[str, ...]:
        if self._texts is None:
            self._texts = _display_texts(self.token)
        return self._texts

    @property
    def haystack(self) -> str:
        if self._haystack is None:
            self._haystack = "\n".join(self.texts).casefold()
        return self._haystack


def _optional_time(value: datetime | None) -> float:
    return value.timestamp() if value is not None else math.inf


# Sort keys per column: plain Python values, so list.sort never calls back into Qt.
_SORT_KEYS: dict[Column, Callable[[_Row], Any]] = {
    Column.TOKEN: lambda row: row.token.hint,
    Column.NAME: lambda row: row.token.agent.casefold(),
    Column.LABEL: lambda row: row.token.label.casefold(),
    Column.ROLE: lambda row: row.token.role.casefold(),
    Column.STATUS: lambda row: row.token.status,
    Column.ROTATION: lambda row: row.token.rotation_interval or _FOREVER,
    Column.NEXT_ROTATION: lambda row: _optional_time(row.token.next_rotation_at),
    Column.CREATED: lambda row: row.token.created_at,
}


class TokenTableModel(QAbstractTableModel):
    """The tokens of one environment; sortable by any column, filtered on any column's text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenTableModel")
        self._by_id: list[_Row] = []  # every token, by id
        self._all: list[_Row] = []  # every token, in the current sort order
        self._visible: list[_Row] = []  # those matching the filter, same order
        self._filter = ""
        self._sort_column = Column.CREATED
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._revealed: dict[int, tuple[int, str]] = {}  # token id → (generation, secret)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._mono_italic = QFont(self._mono)
        self._mono_italic.setItalic(True)
        self._italic = QFont()
        self._italic.setItalic(True)

    # ----------------------------------------------------------------- Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

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
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._visible):
            return None
        row = self._visible[index.row()]
        token = row.token
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == Column.TOKEN:
                revealed = self._revealed.get(token.id)
                if revealed is not None:
                    return revealed[1]
            return row.texts[column]
        if role == TOKEN_ID_ROLE:
            return token.id
        if role == Qt.ItemDataRole.FontRole:
            if column == Column.TOKEN:
                return self._mono if token.active else self._mono_italic
            return None if token.active else self._italic
        if role == Qt.ItemDataRole.ForegroundRole:
            if token.active:
                return None
            return QGuiApplication.palette().brush(
                QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
            )
        if role == Qt.ItemDataRole.DecorationRole:
            if column == Column.NEXT_ROTATION and token.last_error:
                return icons.icon("warning")
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(token, Column(column))
        return None

    def _tooltip(self, token: TokenView, column: Column) -> str | None:
        if column == Column.TOKEN:
            if token.id in self._revealed:
                return "Revealed; it is hidden again shortly"
            return f"{token.masked}: copy or reveal it from the Token menu"
        if column == Column.STATUS and not token.active:
            return "Inactive: every request with this token gets 401"
        if column == Column.ROTATION and token.rotation_interval is not None:
            if token.grace:
                return (
                    f"After each rotation the previous secret keeps working for "
                    f"{format_duration(token.grace)}"
                )
            return "After each rotation the previous secret stops working at once"
        if column == Column.NEXT_ROTATION:
            if token.last_error:
                return (
                    f"The last scheduled rotation failed: {token.last_error}\n"
                    "It is tried again automatically."
                )
            if token.next_rotation_at is not None and not token.active:
                return "Inactive tokens are not rotated; it is due when activated again"
        if column == Column.LABEL and token.label:
            return token.label
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(HEADERS):
            return
        self._sort_column = Column(column)
        self._sort_order = order
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        anchors = [(self._visible[index.row()].token.id, index.column()) for index in persistent]
        self._all = self._sorted(self._by_id)
        self._visible = self._matching(self._all)
        rows = {row.token.id: n for n, row in enumerate(self._visible)}
        self.changePersistentIndexList(
            persistent,
            [self.index(rows[token_id], column) for token_id, column in anchors],
        )
        self.layoutChanged.emit()

    # ----------------------------------------------------------------- contents

    def set_tokens(self, tokens: Iterable[TokenView]) -> None:
        """Replace the contents (a reset: the view keeps selection by id, see MainWindow)."""
        self.beginResetModel()
        self._by_id = sorted((_Row(token) for token in tokens), key=lambda row: row.token.id)
        generations = {row.token.id: row.token.generation for row in self._by_id}
        # A revealed secret is dropped once its token is gone or has a new secret.
        self._revealed = {
            token_id: value
            for token_id, value in self._revealed.items()
            if generations.get(token_id) == value[0]
        }
        self._all = self._sorted(self._by_id)
        self._visible = self._matching(self._all)
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Show only tokens whose text in any column contains *text* (case-insensitive)."""
        needle = text.strip().casefold()
        if needle == self._filter:
            return
        self.beginResetModel()
        self._filter = needle
        self._visible = self._matching(self._all)
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

    def _sorted(self, by_id: list[_Row]) -> list[_Row]:
        # Python's sort is stable (also reversed): tokens with equal keys stay in id order.
        return sorted(
            by_id,
            key=_SORT_KEYS[self._sort_column],
            reverse=self._sort_order == Qt.SortOrder.DescendingOrder,
        )

    def _matching(self, rows: list[_Row]) -> list[_Row]:
        needle = self._filter
        if not needle:
            return list(rows)
        return [row for row in rows if needle in row.haystack]

    # ----------------------------------------------------------------- lookups

    def token_font(self) -> QFont:
        """The fixed-width font of the API Token column."""
        return QFont(self._mono)

    def token_at(self, row: int) -> TokenView:
        return self._visible[row].token

    def visible_tokens(self) -> list[TokenView]:
        return [row.token for row in self._visible]

    def all_tokens(self) -> list[TokenView]:
        return [row.token for row in self._all]

    def row_of(self, token_id: int) -> int | None:
        for n, row in enumerate(self._visible):
            if row.token.id == token_id:
                return n
        return None

    def rows_of(self, token_ids: Iterable[int]) -> list[int]:
        wanted = set(token_ids)
        if not wanted:
            return []
        return [n for n, row in enumerate(self._visible) if row.token.id in wanted]

    def next_rotation(self) -> datetime | None:
        """The earliest scheduled rotation of an active token shown here, whatever the filter
        (inactive tokens are not rotated)."""
        return min(
            (
                row.token.next_rotation_at
                for row in self._all
                if row.token.active and row.token.next_rotation_at is not None
            ),
            default=None,
        )

    def counts(self) -> tuple[int, int]:
        """(tokens, inactive tokens) of the environment, whatever the filter."""
        inactive = sum(1 for row in self._all if not row.token.active)
        return len(self._all), inactive

    # ----------------------------------------------------------------- revealing

    def reveal(self, token_id: int, secret: str) -> None:
        """Show *secret* in the token's API Token cell until :meth:`conceal`."""
        generation = next(
            (row.token.generation for row in self._all if row.token.id == token_id), None
        )
        if generation is None:
            return
        self._revealed[token_id] = (generation, secret)
        self._token_cell_changed(token_id)

    def conceal(self, token_ids: Sequence[int] | None = None) -> None:
        """Mask the given (or every) revealed secret again."""
        ids = list(self._revealed) if token_ids is None else list(token_ids)
        for token_id in ids:
            if self._revealed.pop(token_id, None) is not None:
                self._token_cell_changed(token_id)

    def revealed_ids(self) -> list[int]:
        return list(self._revealed)

    def _token_cell_changed(self, token_id: int) -> None:
        row = self.row_of(token_id)
        if row is not None:
            cell = self.index(row, Column.TOKEN)
            self.dataChanged.emit(
                cell, cell, [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole]
            )
