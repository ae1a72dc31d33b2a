"""The token table's Qt model: a thin QAbstractTableModel over a TokenIndex.

The rows, their orders, the filter and the updates by bisection live in
:class:`desktop.services.token_index.TokenIndex`, plain Python tested without a display; their
texts come from :mod:`desktop.services.display`. This adapter answers the view (cell texts,
fonts, icons, tooltips), keeps the secrets a person chose to reveal, and tells the view
what each change does: a reset when tokens come or go, a layout change (persistent indexes
following their tokens) when rows move, a repaint of the changed rows otherwise.

No proxy model (the README's Performance section): QSortFilterProxyModel calls back into
Python for every comparison and takes seconds on 100,000 rows; the index sorts Python lists in
milliseconds.

What the table shows never includes a secret, except a secret the person chose to reveal,
which the window hides again after a short while. Filtering never looks at a revealed secret.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QFontDatabase, QIcon

from desktop.domain import holders, tokens
from desktop.domain.clock import Clock, SystemClock
from desktop.domain.table import Column
from desktop.gui import icons
from desktop.gui.widgets import sentence
from desktop.services.display import (
    EXPIRED,
    EXPIRED_ROTATION_TIP,
    EXPIRES_FIRST_TIP,
    EXPIRES_TIP,
    INACTIVE_TIP,
    NO_TIME,
    PAUSED_TIP,
    epoch_text,
    expired_tip,
    grace_text,
    previous_secret_text,
    rotates_before_expiry,
    rotation_failed_text,
    usage_tip,
)
from desktop.services.token_index import (
    PreparedRows,
    Row,
    TokenIndex,
    Update,
    filter_needle,
    prepare_rows,
)
from desktop.services.views import Names, TokenRow, TokenView, token_view

AnyIndex = QModelIndex | QPersistentModelIndex

HEADERS: tuple[str, ...] = (
    "API Token",
    "Name",
    "Label",
    "Role",
    "Status",
    "ID",
    "Rotation",
    "Next rotation",
    "Expires",
    "Created",
    "Environment",
    "Last used",
)
HEADER_TIPS: tuple[str, ...] = (
    "The token, masked: its prefix and last four characters",
    "The agent the token belongs to",
    "What the token is for",
    "The agent's role, which decides what the token may call",
    "Inactive tokens answer 401 to every request",
    "The token's number: the audit log and every dialog name the token by it",
    "How often the secret is replaced automatically",
    "When the secret is next replaced (local time)",
    "When the token stops being accepted (local time); expired tokens get 401 and are not rotated",
    "When the token was created (local time)",
    "The environment the token lives in",
    "When a request last presented the token to a TokenDesk server (local time)",
)

# Where the header's saved layout (widths, order, sort) is kept: named after the columns, so a
# layout saved for other columns is never laid over these (QHeaderView restores by position).
HEADER_STATE_KEY = "window/tokenTableHeader-" + format(
    zlib.crc32("\n".join(HEADERS).encode()), "08x"
)
# A running grace period's end is looked for at least this often, so a wall clock that jumps
# (a suspend, a time change) leaves its icon for a minute at most.
GRACE_CHECK_MS = 60_000

TOKEN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
# Roles as plain ints, compared in data() without touching the enum classes.
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_TOKEN_ID = int(TOKEN_ID_ROLE)
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_ROLES = frozenset((_FONT, _DECORATION, _TOOLTIP, _TOKEN_ID))
_EXPIRES, _NEXT_ROTATION = int(Column.EXPIRES), int(Column.NEXT_ROTATION)
_EXPIRY_COLUMNS = frozenset((_EXPIRES, _NEXT_ROTATION))  # what an expired token's cells change
# The longest wait between two looks for tokens that expired meanwhile: the timer is only a
# wake-up (a suspended machine or a clock set forward is noticed at the next look).
EXPIRY_CHECK_MAX_MS = 60_000


class TokenTableModel(QAbstractTableModel):
    """Tokens (of one environment, or of all); sortable by any column, filtered on any column's
    text."""

    # A token shown expired since the last look: what depends on it may differ now.
    tokensExpired = Signal()

    def __init__(self, parent: Any = None, clock: Clock | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenTableModel")
        self._clock: Clock = clock or SystemClock()
        self._index = TokenIndex()
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._revealed: dict[int, tuple[int, str]] = {}  # token id → (generation, secret)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        # The Status badges (inactive, active): drawn on the first paint, then shared by all rows.
        self._badges: tuple[QIcon, QIcon] | None = None
        # Expiry: a wake-up at the next expiry shown (see check_expiry).
        self._person: str | None = None  # whose keyring the window reaches (see use_person)
        self._expiry_checked = self._now()
        self.expiry_timer = QTimer(self)
        self.expiry_timer.setObjectName("expiryTimer")
        self.expiry_timer.setSingleShot(True)
        self.expiry_timer.timeout.connect(self.check_expiry)
        # Repaints the API Token cells when a replaced secret's grace ends (nothing in the
        # database changes then); set for the earliest end, see _schedule_grace_end.
        self.grace_timer = QTimer(self)
        self.grace_timer.setObjectName("graceTimer")
        self.grace_timer.setSingleShot(True)
        self.grace_timer.timeout.connect(self._grace_check)
        self._grace_end: int | None = None

    # ----------------------------------------------------------------- Qt model API

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._index.row_count()

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
        # Called for every role of every cell painted: plain ints and few calls.
        if role == _DISPLAY:
            row = self._index.row_at(index.row())  # an invalid index has row -1
            if row is None:
                return None  # (or past the first screen while the rows are being read)
            column = index.column()
            if column == Column.TOKEN and self._revealed:
                revealed = self._revealed.get(row.data.id)
                if revealed is not None:
                    return revealed[1]
            expires = row.data.expires
            if expires is not None and column in _EXPIRY_COLUMNS and self._now() >= expires:
                return EXPIRED if column == _EXPIRES else NO_TIME
            return (row.texts or self._index.texts(row))[column]
        if role not in _ROLES:
            return None
        row = self._index.row_at(index.row())
        if row is None:
            return None
        data = row.data
        if role == _TOKEN_ID:
            return data.id
        column = index.column()
        if role == _FONT:
            # An inactive row looks like any other (it can be selected and acted on); its
            # state is the Status cell's badge.
            return self._mono if column == Column.TOKEN else None
        if role == _DECORATION:
            if column == Column.STATUS:
                badges = self._badges
                if badges is None:
                    badges = self._badges = (icons.status_badge(False), icons.status_badge(True))
                return badges[data.active]
            if column == Column.NEXT_ROTATION and (data.last_error or self._overdue(data)):
                return icons.icon("warning")
            if column == Column.EXPIRES and self._expired(data):
                return icons.icon("error")
            if column == Column.TOKEN and self._in_grace(data):
                return icons.icon("grace")
            if column == Column.NAME and data.agent_id in self._index.names.refusals:
                return icons.icon("warning")
            return None
        return self._tooltip(row, Column(column))  # the tooltip role

    def _tooltip(self, row: Row, column: Column) -> str | None:
        data = row.data
        if column == Column.TOKEN:
            if data.id in self._revealed:
                tip = "Revealed; it is hidden again shortly"
            elif self._person is not None and data.holder != self._person:
                tip = f"{tokens.mask(data.hint)}: {holders.not_held(data.holder)}"
            else:
                tip = f"{tokens.mask(data.hint)}: copy or reveal it from the Token menu"
            if data.grace_until is not None and self._in_grace(data):
                tip += "\n" + previous_secret_text(data.grace_until, self._now())
            return tip
        names = self._index.names
        if column == Column.NAME:
            refusal = names.refusal(data)
            if refusal is not None:
                return f"{refusal[:1].upper()}{refusal[1:]}: every request with this token gets 401"
            return None
        if column == Column.ROLE:
            grants = names.grants(data)
            role = names.role(data)
            if not grants:
                return f"{role} grants nothing: every request with this token gets 403"
            return f"{role} allows:\n" + "\n".join(grants)
        if column == Column.STATUS and not data.active:
            return INACTIVE_TIP
        if column == Column.ROTATION and data.rotation_seconds:
            return grace_text(data.grace_seconds)
        if column == Column.EXPIRES and data.expires is not None:
            return expired_tip(data.expires) if self._expired(data) else EXPIRES_TIP
        if column == Column.NEXT_ROTATION:
            if data.last_error:
                return rotation_failed_text(data.last_error)
            if self._overdue(data):
                late = holders.overdue_text(epoch_text(data.next_rotation), data.holder)
                return f"{sentence(late)}: only their TokenDesk rotates it"
            if data.next_rotation is not None and self._expired(data):
                return EXPIRED_ROTATION_TIP
            if data.next_rotation is not None and not rotates_before_expiry(data):
                return EXPIRES_FIRST_TIP
            if data.next_rotation is not None and not data.active:
                return PAUSED_TIP
        if column == Column.LABEL and data.label:
            return str(data.label)
        if column == Column.LAST_USED:
            return usage_tip(data)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(HEADERS):
            return
        column = Column(column)
        if column == self._index.sort_column and order == self._sort_order:
            return
        self._sort_order = order
        descending = order == Qt.SortOrder.DescendingOrder
        if self._index.loading:  # applied when the rows arrive (see adopt)
            self._index.set_sort(column, descending=descending)
            return
        self.layoutAboutToBeChanged.emit()
        anchors = self._anchors()
        self._index.set_sort(column, descending=descending)
        self._follow(anchors)
        self.layoutChanged.emit()

    # ----------------------------------------------------------------- contents

    def load(self, names: Names, rows: Iterable[TokenRow], *, show_environment: bool) -> None:
        """Replace the contents (a reset: the view keeps selection by id, see MainWindow)."""
        self.adopt(prepare_rows(names, rows, show_environment=show_environment))

    def adopt(self, prepared: PreparedRows) -> None:
        """Take over rows made by :func:`prepare_rows` (a reset, like :meth:`load`); the sort
        and filter asked for meanwhile apply."""
        self.beginResetModel()
        self._index.adopt(prepared)
        # A revealed secret is dropped once its token is gone or has a new secret.
        held = self._index.row_of_id
        self._revealed = {
            token_id: value
            for token_id, value in self._revealed.items()
            if (row := held(token_id)) is not None and row.data.generation == value[0]
        }
        self.endResetModel()
        self.check_expiry()
        self._schedule_grace_end()

    def show_first_rows(
        self, names: Names, rows: Sequence[TokenRow], total: int, *, show_environment: bool
    ) -> None:
        """Show the first screen's *rows* (already in view order) of *total* while all of them
        are read; :meth:`adopt` takes over then. Meanwhile rows past these show empty, and a
        sort or filter asked for waits for the rows."""
        self.beginResetModel()
        self._index.show_first_rows(names, rows, total, show_environment=show_environment)
        self.endResetModel()
        self._schedule_grace_end()

    def take_names(self, names: Names) -> bool:
        """Newer names where every name shown reads as before (see TokenIndex.take_names): the
        Name and Role cells' warnings and tooltips follow. False: read the rows again."""
        if not self._index.take_names(names):
            return False
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, Column.NAME),
                self.index(self.rowCount() - 1, Column.ROLE),
                [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole],
            )
        return True

    @property
    def loading(self) -> bool:
        """True while only the first screen's rows are here (see :meth:`show_first_rows`)."""
        return self._index.loading

    def update_rows(self, rows: Iterable[TokenRow], gone: Iterable[int] = ()) -> None:
        """Take the current rows of changed tokens, and drop the tokens in *gone*. Rows that
        change move to their new place; only a token appearing or disappearing resets the
        model (the view keeps its selection by token id). Ignored while the rows are being
        read: the reader started after these changes, or its caller catches up after."""
        update = self._index.plan_update(rows, gone)
        if update is None:
            return
        try:
            self._apply(update)
        finally:
            self._schedule_expiry_check()
            self._schedule_grace_end()

    def _apply(self, update: Update) -> None:
        if update.reset:
            # Rows come and go: a reset (cheap for the view); the index still moves each row
            # by bisection, never rebuilding 100,000 rows.
            self.beginResetModel()
            self._index.apply(update)
            for token_id in update.renewed:
                self._revealed.pop(token_id, None)
            for row in update.removed:
                self._revealed.pop(row.data.id, None)
            self.endResetModel()
            return
        for token_id in update.renewed:
            self._drop_revealed(token_id)
        if update.moves:
            self.layoutAboutToBeChanged.emit()
            anchors = self._anchors()
            self._index.apply(update)
            self._follow(anchors)
            self.layoutChanged.emit()
            return
        self._index.apply(update)
        shown = (self._index.place(row) for row in update.rows)
        places = [place for place in shown if place is not None]
        if places:
            self.dataChanged.emit(
                self.index(min(places), 0), self.index(max(places), len(HEADERS) - 1)
            )

    def _anchors(self) -> list[tuple[QModelIndex, Row, int]]:
        """The view's persistent indexes, with the row and column each points at."""
        at = self._index.at
        return [(index, at(index.row()), index.column()) for index in self.persistentIndexList()]

    def _follow(self, anchors: list[tuple[QModelIndex, Row, int]]) -> None:
        """Move the persistent indexes to where their rows are now (invalid: filtered out)."""
        place = self._index.place
        moved = []
        for _, row, column in anchors:
            now = place(row)
            moved.append(QModelIndex() if now is None else self.index(now, column))
        self.changePersistentIndexList([index for index, _, _ in anchors], moved)

    def set_filter(self, text: str) -> None:
        """Show only tokens whose text in any column contains *text* (case-insensitive)."""
        needle = filter_needle(text)
        if needle == self._index.filter_text:
            return
        if self._index.loading:  # applied when the rows arrive (see adopt)
            self._index.set_filter(needle)
            return
        self.beginResetModel()
        self._index.set_filter(needle)
        self.endResetModel()

    @property
    def filter_text(self) -> str:
        return self._index.filter_text

    def set_unused(self, cutoff: int | None) -> None:
        """Show only the tokens unused at *cutoff* (POSIX seconds; see
        :mod:`desktop.domain.usage`), as well as matching the filter; None: all of them."""
        if cutoff == self._index.unused_cutoff:
            return
        if self._index.loading:  # applied when the rows arrive (see adopt)
            self._index.set_unused(cutoff)
            return
        self.beginResetModel()
        self._index.set_unused(cutoff)
        self.endResetModel()

    @property
    def filtering(self) -> bool:
        """True while some tokens are held back, by the filter's text or as not unused."""
        return self._index.filtering

    def update_usage(self, uses: Iterable[tuple[int, int, int]]) -> list[int]:
        """Take the latest uses read (token id, last use, count) as the rows' own: the rows
        whose use changed move in the Last used order by bisection, as any change does. The
        ids of the tokens shown whose use changed."""
        rows = self._index.usage_rows(uses)
        if rows:
            self.update_rows(rows)
        return [row.id for row in rows]

    def tokens_of(self, token_ids: Iterable[int]) -> list[TokenView]:
        """The tokens held (shown or hidden by the filter) of these ids, in that order."""
        rows = (self._index.row_of_id(token_id) for token_id in token_ids)
        return [token_view(row.data, self._index.names) for row in rows if row is not None]

    def latest_use(self) -> int | None:
        """The latest use among the tokens held (POSIX seconds), or None."""
        return self._index.latest_use()

    def unused_ids(self, cutoff: int) -> list[int]:
        """The tokens held, whatever the filter, unused at *cutoff*, by id."""
        return self._index.unused_ids(cutoff)

    @property
    def sort_column(self) -> Column:
        return self._index.sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    @property
    def shows_environment(self) -> bool:
        return self._index.show_environment

    # ----------------------------------------------------------------- expiry

    def use_clock(self, clock: Clock) -> None:
        """Read the Expires cells and grace periods against *clock* (the service's: tests
        travel in time)."""
        self._clock = clock
        self._expiry_checked = self._now()
        self._schedule_expiry_check()
        self._schedule_grace_end()

    def _expired(self, data: TokenRow) -> bool:
        return data.expires is not None and self._now() >= data.expires

    def use_person(self, person: str) -> None:
        """Whose keyring this window reaches (alice@laptop): another admin's tokens say in
        their API Token cell that the secret is in their keyring."""
        self._person = person

    def _overdue(self, data: TokenRow) -> bool:
        """A scheduled rotation more than a day late (its holder's TokenDesk has not run):
        flagged in the Next rotation cell, read against the same clock as expiry."""
        return holders.overdue(
            data.next_rotation, self._now(), active=bool(data.active), expires=data.expires
        )

    @Slot()
    def check_expiry(self) -> None:
        """Repaint the Expires and Next rotation cells when a token expired since the last
        look (they say so from then on, though nothing in the database changed), tell
        :attr:`tokensExpired`, and wake up again at the next expiry."""
        now = self._now()
        passed = self._index.next_expiry_after(self._expiry_checked)
        self._expiry_checked = now
        if passed is not None and passed <= now:
            if self.rowCount():
                first, last = sorted((_NEXT_ROTATION, _EXPIRES))
                self.dataChanged.emit(self.index(0, first), self.index(self.rowCount() - 1, last))
            self.tokensExpired.emit()
        self._schedule_expiry_check()

    def _schedule_expiry_check(self) -> None:
        coming = self._index.next_expiry_after(self._now())
        if coming is None:
            self.expiry_timer.stop()
            return
        wait = (coming - self._now()) * 1000 + 1
        self.expiry_timer.start(int(min(max(wait, 0), EXPIRY_CHECK_MAX_MS)))

    # ----------------------------------------------------------------- lookups

    def token_font(self) -> QFont:
        """The fixed-width font of the API Token column."""
        return QFont(self._mono)

    def token_at(self, row: int) -> TokenView:
        return self._index.token_at(row)

    def token_ids(self) -> list[int]:
        """Every token shown, in view order (while loading: those of the first screen)."""
        return self._index.token_ids()

    def visible_tokens(self) -> list[TokenView]:
        return self._index.visible_tokens()

    def all_tokens(self) -> list[TokenView]:
        return self._index.all_tokens()

    def has_token(self, token_id: int) -> bool:
        """True when the table holds this token (shown or hidden by the filter)."""
        return self._index.row_of_id(token_id) is not None

    def row_of(self, token_id: int) -> int | None:
        return self._index.place_of(token_id)

    def rows_of(self, token_ids: Iterable[int]) -> list[int]:
        return self._index.places_of(token_ids)

    def counts(self) -> tuple[int, int | None]:
        """(tokens, inactive tokens) in the table, whatever the filter; the inactive ones are
        not known (None) while the rows are being read."""
        return self._index.counts()

    # ----------------------------------------------------------------- grace periods

    def _now(self) -> int:
        """The clock's now, in whole POSIX seconds, as the rows keep times."""
        return math.floor(self._clock.now().timestamp())

    def _in_grace(self, data: TokenRow) -> bool:
        """True while a secret this token replaced still works."""
        return data.grace_until is not None and data.grace_until > self._now()

    def _schedule_grace_end(self) -> None:
        """Wake when the earliest running grace period ends (or within GRACE_CHECK_MS)."""
        now = self._now()
        self._grace_end = end = self._index.next_grace_end(now)
        if end is None:
            self.grace_timer.stop()
            return
        self.grace_timer.start(min((end - now) * 1000, GRACE_CHECK_MS))

    @Slot()
    def _grace_check(self) -> None:
        """A grace period may have ended: the API Token cells lose its icon and tooltip."""
        end = self._grace_end
        if end is not None and end <= self._now() and self.rowCount():
            self.dataChanged.emit(
                self.index(0, Column.TOKEN),
                self.index(self.rowCount() - 1, Column.TOKEN),
                [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole],
            )
        self._schedule_grace_end()

    # ----------------------------------------------------------------- revealing

    def reveal(self, token_id: int, secret: str) -> None:
        """Show *secret* in the token's API Token cell until :meth:`conceal`."""
        row = self._index.row_of_id(token_id)
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
