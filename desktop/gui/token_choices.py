"""TokenChoices: the tokens a combo box offers, 100,000 of them without 100,000 items.

A QComboBox filled with ``addItem`` builds an item per token (seconds at 100,000 tokens, and the
dialog would freeze as it opens). This model serves the combo box from the rows the table reads
(:meth:`TokenService.token_table`) and makes an entry's text only when it is shown. A few fixed
entries can come before the tokens ("All tokens") or after them ("#7 (deleted)").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QListView

from desktop.services.display import token_choice
from desktop.services.views import Names, TokenRow

AnyIndex = QModelIndex | QPersistentModelIndex
Entry = tuple[str, int | None]  # text, token id (None: not a token, like "All tokens")


class TokenChoices(QAbstractListModel):
    """Entries for *rows*, each named by *describe* (by default as the display module names a
    token among choices), made only when the combo box shows it."""

    def __init__(
        self,
        names: Names,
        rows: list[TokenRow],
        describe: Callable[[TokenRow, Names], str] = token_choice,
        *,
        leading: list[Entry] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._names = names
        self._rows = sorted(rows, key=lambda row: row.id)
        self._ids = [row.id for row in self._rows]
        self._describe = describe
        self._leading = list(leading or [])
        self._trailing: list[Entry] = []

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self._leading) + len(self._rows) + len(self._trailing)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole):
            return None
        place = index.row()
        if place < 0 or place >= self.rowCount():
            return None
        if place < len(self._leading):
            text, token_id = self._leading[place]
        elif place < len(self._leading) + len(self._rows):
            row = self._rows[place - len(self._leading)]
            if role == Qt.ItemDataRole.UserRole:
                return row.id
            return self._describe(row, self._names)
        else:
            text, token_id = self._trailing[place - len(self._leading) - len(self._rows)]
        return text if role == Qt.ItemDataRole.DisplayRole else token_id

    def row_of(self, token_id: int | None) -> int | None:
        """The entry of this token (or fixed entry), found without reading every entry."""
        for place, (_, entry_id) in enumerate(self._leading):
            if entry_id == token_id:
                return place
        if token_id is not None:
            place = bisect_left(self._ids, token_id)
            if place < len(self._ids) and self._ids[place] == token_id:
                return len(self._leading) + place
        for place, (_, entry_id) in enumerate(self._trailing):
            if entry_id == token_id:
                return len(self._leading) + len(self._rows) + place
        return None

    def add_trailing(self, text: str, token_id: int | None) -> int:
        """Add a fixed entry after the tokens; its row."""
        place = self.rowCount()
        self.beginInsertRows(QModelIndex(), place, place)
        self._trailing.append((text, token_id))
        self.endInsertRows()
        return place


def offer(combo: QComboBox, choices: TokenChoices) -> None:
    """Let *combo* offer *choices* (replacing, and dropping, what it offered before)."""
    previous = combo.model()
    combo.setModel(choices)
    view = combo.view()
    if isinstance(view, QListView):
        view.setUniformItemSizes(True)  # the popup never measures every entry
    if isinstance(previous, TokenChoices) and previous is not choices:
        previous.deleteLater()
