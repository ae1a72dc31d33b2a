"""TokenIndex: the token table's rows in memory, ordered, filtered and kept up to date.

The window's table model (desktop.gui.token_model) is a thin Qt adapter over this; everything
here is plain Python, tested without a display. It has to stay instant at 100,000 tokens, so
(the README's Performance section):

* Rows are the typed rows storage returns (:class:`~desktop.domain.table.TokenRow`). A row's
  display text is made only when a view asks for it; the lower-cased text the filter searches
  is made with the rows (by :func:`prepare_rows`, in the table reader's thread for big tables),
  one compact string per row.
* Every column's order is generated from :data:`desktop.domain.table.ORDERS`, the definition
  the SQL of the first screen follows too, and kept: every row ascending by the column, ties by
  token id. Descending is that order read backwards, so a sort never copies rows.
* Changes arrive as a handful of rows (:meth:`TokenIndex.plan_update`): each moves to its new
  place in every order by bisection instead of the whole table being read and sorted again.

The filter never looks at a secret: the index never holds one.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from heapq import heapify, heappop, heappush
from operator import attrgetter
from typing import Any

from desktop.domain import tokens
from desktop.domain.table import (
    DEFAULT_SORT,
    NAME_SOURCES,
    ORDERS,
    Column,
    Names,
    SortTerm,
    TokenRow,
    nocase,
)
from desktop.domain.usage import is_unused
from desktop.services.display import (
    NEVER_EXPIRES,
    NEVER_USED,
    PAUSED,
    TIME_MARKS,
    cell_texts,
    minute_key,
    rotates_before_expiry,
    rotation_text,
    status_text,
)
from desktop.services.views import TokenView, token_view

# From this many rows on, the rows are kept out of the cycle collector's way (see adopt).
FREEZE_AT = 20_000

Key = Callable[["Row"], Any]


class Row:
    """One token: its row from the database, and what the table shows of it (made when first
    needed, dropped when the row changes)."""

    __slots__ = ("data", "hay", "slot", "texts")

    def __init__(self, data: TokenRow) -> None:
        self.data = data
        self.texts: tuple[str, ...] | None = None
        self.hay: str | None = None
        self.slot = -1  # its place among the rows by id (see prepare_rows)


# ----------------------------------------------------------------- orders, from ORDERS

# The row field each name source stands for: names are ordered through their ids' ranks.
_NAME_IDS = {
    "agent": "data.agent_id",
    "role": "data.agent_id",
    "environment": "data.environment_id",
}
Ranks = dict[tuple[str, bool], dict[int, int]]  # (name source, nocase) → id → rank
_LAST = math.inf  # where nulls_last puts a missing number
_FIRST = -math.inf  # where nulls_first puts one


def _dense_ranks(names: dict[int, str], *, fold: bool) -> dict[int, int]:
    """Each id's place among the names (equal names share a place); *fold*: as
    :func:`~desktop.domain.table.nocase` compares them, like the SQL."""
    compared = {key: nocase(name) for key, name in names.items()} if fold else names
    places = {name: n for n, name in enumerate(sorted(set(compared.values())))}
    return {key: places[name] for key, name in compared.items()}


def name_ranks(names: Names) -> Ranks:
    """For each name source an order uses, and the way it compares: id → the rank of its
    name. Sorting ranks (ints) instead of names makes a sort of 100,000 rows fast."""
    sources = {
        "agent": {key: agent for key, (agent, _) in names.agents.items()},
        "role": {key: role for key, (_, role) in names.agents.items()},
        "environment": names.environments,
    }
    used = {
        (term.source, term.nocase)
        for terms in ORDERS.values()
        for term in terms
        if term.source in NAME_SOURCES
    }
    return {
        (source, fold): _dense_ranks(sources[source], fold=fold) for source, fold in sorted(used)
    }


def _term_key(term: SortTerm, ranks: Ranks) -> Key:
    """One :class:`SortTerm` as a key on rows: plain Python values, the fastest spelling of
    each kind (a C attribute getter wherever nothing is computed)."""
    if term.source in NAME_SOURCES:
        if term.negate or term.nulls_last or term.nulls_first:
            raise ValueError(f"{term}: names order by rank only")
        ranked, ident = ranks[term.source, term.nocase], attrgetter(_NAME_IDS[term.source])
        return lambda row: ranked.get(ident(row), -1)
    if term.source not in TokenRow._fields:
        raise ValueError(f"{term}: no such field")
    get = attrgetter(f"data.{term.source}")
    if term.nulls_first:
        if term.nocase or term.nulls_last or term.negate:
            raise ValueError(f"{term}: no key for this combination")
        return lambda row: _FIRST if (value := get(row)) is None else value
    match term.nocase, term.nulls_last, term.negate:
        case False, False, False:
            return get
        case True, False, False:
            return lambda row: nocase(get(row))
        case False, False, True:
            return lambda row: not get(row)
        case False, True, False:  # numbers only: a missing one after every other
            return lambda row: _LAST if (value := get(row)) is None else value
    raise ValueError(f"{term}: no key for this combination")


def _expiry_key(row: Row) -> float:
    """A row's place in the Expires order (never: last), as :data:`ORDERS` has it."""
    expires = row.data.expires
    return _LAST if expires is None else expires


def _last_use_key(row: Row) -> float:
    """A row's place in the Last used order (never used: first), as :data:`ORDERS` has it."""
    last_used = row.data.last_used
    return _FIRST if last_used is None else last_used


def sort_key(column: Column, ranks: Ranks) -> Key:
    """The ascending key of *column*, generated from :data:`ORDERS` (ties are not broken
    here: see :func:`with_id`)."""
    keys = [_term_key(term, ranks) for term in ORDERS[column]]
    if len(keys) == 1:
        return keys[0]
    return lambda row: tuple(key(row) for key in keys)


def with_id(key: Key) -> Callable[[Row], tuple[Any, int]]:
    """*key*, ties broken by token id: the full order every list of rows is kept in."""

    def ordered(row: Row) -> tuple[Any, int]:
        return key(row), row.data.id

    return ordered


# ----------------------------------------------------------------- the filter's text

# The filter's text keeps to Latin-1 (one byte a character, half the memory of 100,000 rows'
# text): the masked token's dots and the dash of "no next rotation" become control characters,
# in the text searched and in what is searched for alike. No label or name holds one. The marks
# some locales put in a time (display.TIME_MARKS) become a plain space or go, on both sides too.
_FILTER_MARKS = str.maketrans({"•": "\x01", "—": "\x02", **TIME_MARKS})
_MASK_PREFIX = tokens.mask("").casefold().translate(_FILTER_MARKS)  # what precedes the hint
_NO_NEXT = "—".translate(_FILTER_MARKS)  # the Next rotation cell without one
_ACTIVE, _INACTIVE = status_text(True).casefold(), status_text(False).casefold()  # Status, folded
_NEVER_EXPIRES = NEVER_EXPIRES.casefold()  # the Expires cell without an expiry, folded
_NEVER_USED = NEVER_USED.casefold()  # the Last used cell of a token never used, folded


def filter_needle(text: str) -> str:
    """What the filter searches for when a person types *text*."""
    return text.strip().casefold().translate(_FILTER_MARKS)


@lru_cache(maxsize=256)
def _folded_rotation_text(seconds: int | None) -> str:
    return rotation_text(seconds).casefold()


def _haystack(
    data: TokenRow,
    agents: dict[int, tuple[str, str]],
    environments: dict[int, str] | None,
) -> str:
    """Everything the filter searches in a row: each column's text, lower-cased (*agents* and
    *environments* hold names already lower-cased; None: no Environment column), with the two
    non-Latin-1 marks swapped as _FILTER_MARKS says."""
    agent, role = agents.get(data.agent_id, ("?", "?"))
    next_text = _NO_NEXT
    if data.next_rotation is not None and rotates_before_expiry(data):
        next_text = minute_key(data.next_rotation // 60) + ("" if data.active else PAUSED)
    expires = _NEVER_EXPIRES if data.expires is None else minute_key(data.expires // 60)
    used = _NEVER_USED if data.last_used is None else minute_key(data.last_used // 60)
    hay = (
        f"{_MASK_PREFIX}{data.hint.casefold()}\n{agent}\n"
        f"{data.label.casefold()}\n{role}\n"
        f"{_ACTIVE if data.active else _INACTIVE}\n#{data.id}\n"
        f"{_folded_rotation_text(data.rotation_seconds)}\n{next_text}\n{expires}\n"
        f"{minute_key(data.created // 60)}"
    )
    if environments is not None:
        hay += "\n" + environments.get(data.environment_id, "?")
    return f"{hay}\n{used}"


def _folded_names(
    names: Names, show_environment: bool
) -> tuple[dict[int, tuple[str, str]], dict[int, str] | None]:
    agents = {
        key: (agent.casefold(), role.casefold()) for key, (agent, role) in names.agents.items()
    }
    if not show_environment:
        return agents, None
    return agents, {key: name.casefold() for key, name in names.environments.items()}


# ----------------------------------------------------------------- building the rows


@dataclass(frozen=True, slots=True)
class PreparedRows:
    """A table's rows, indexed and sorted: built by :func:`prepare_rows` on any thread, then
    taken over by :meth:`TokenIndex.adopt`."""

    names: Names
    show_environment: bool
    by_id: list[Row]
    hays: list[str]  # each row's filter text, by id (row.slot)
    orders: dict[Column, list[Row]]  # every row, ascending by each column, ties by id
    ranks: Ranks  # see name_ranks
    inactive: int
    grace_ends: list[tuple[int, int]]  # (grace_until, token id) of the rows with one, a heap


def prepare_rows(names: Names, rows: Iterable[TokenRow], *, show_environment: bool) -> PreparedRows:
    """Everything the index needs from *rows*. A list of rows is taken over: its rows are
    replaced in place."""
    ranks = name_ranks(names)
    # Equal values share one object: 100,000 rows hold a few thousand labels, a handful of
    # schedules, errors and holders, and SQLite hands each row its own copies (10 MB of them).
    # Each row is replaced in place, so the copies are freed as the shared ones take their place.
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
            data.expires,
            same(data.holder, data.holder),  # a team has a few admins
            data.last_used,
            data.use_count,
        )
    del shared
    by_id = sorted((Row(data) for data in rows), key=lambda row: row.data.id)
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
    grace_ends = _grace_ends(row.data for row in by_id)
    # Every column's order, so that sorting by any of them later costs nothing. Python's sort
    # is stable: rows with equal keys stay in id order.
    orders = {each: sorted(by_id, key=sort_key(each, ranks)) for each in Column}
    return PreparedRows(names, show_environment, by_id, hays, orders, ranks, inactive, grace_ends)


def _grace_ends(rows: Iterable[TokenRow]) -> list[tuple[int, int]]:
    """The deadlines of the rows' replaced secrets, as a heap (most rows have none)."""
    ends = [(data.grace_until, data.id) for data in rows if data.grace_until is not None]
    heapify(ends)
    return ends


# ----------------------------------------------------------------- changes


@dataclass(frozen=True, slots=True)
class Update:
    """What a batch of changed rows will do, worked out before anything changes (see
    :meth:`TokenIndex.plan_update`), so a view can be told first."""

    reset: bool  # tokens appear or go: the shown rows are renumbered
    removed: list[Row]
    added: list[TokenRow]
    changed: list[tuple[Row, TokenRow, bool]]  # row, its new data, whether it moves on screen
    renewed: list[int]  # tokens with a new secret (a new generation)

    @property
    def moves(self) -> bool:
        """True when shown rows change places (or appear or disappear through the filter)."""
        return self.reset or any(moves for _, _, moves in self.changed)

    @property
    def rows(self) -> list[Row]:
        """The known rows that change."""
        return [row for row, _, _ in self.changed]


# ----------------------------------------------------------------- the index


class TokenIndex:
    """Tokens (of one environment, or of all), sorted by any column, filtered on any column's
    text; addressed by *place*, the row number a view shows (descending orders included)."""

    def __init__(self) -> None:
        self.names = Names({}, {})
        self.show_environment = False
        self._rows: dict[int, Row] = {}  # every token, by id
        self._hays: list[str] = []  # their filter texts, in id order (row.slot)
        self._order: list[Row] = []  # every token, ascending by the sort column, ties by id
        self._orders: dict[Column, list[Row]] = {}  # every column's order, kept up to date
        self._filtered: list[Row] | None = None  # those matching the filter, same order
        self._filter = ""
        # Only tokens unused at this cutoff (POSIX seconds; see desktop.domain.usage), or None.
        self._unused_before: int | None = None
        self._sort_column = DEFAULT_SORT
        self._descending = False
        self._inactive = 0
        self._ranks: Ranks = {}
        self._folded_agents: dict[int, tuple[str, str]] = {}  # agent id → (agent, role)
        self._folded_environments: dict[int, str] | None = None
        # While the rows are being read: the first screen's rows (in view order) and how many
        # rows there are in all (see show_first_rows).
        self._first: list[Row] | None = None
        self._first_total = 0
        # (grace_until, token id), earliest first; entries of rows changed since are stale and
        # dropped when met (see next_grace_end).
        self._grace_ends: list[tuple[int, int]] = []

    # ----------------------------------------------------------------- contents

    def load(self, names: Names, rows: Iterable[TokenRow], *, show_environment: bool) -> None:
        """Replace the contents."""
        self.adopt(prepare_rows(names, rows, show_environment=show_environment))

    def adopt(self, prepared: PreparedRows) -> None:
        """Take over rows made by :func:`prepare_rows`; the sort and filter asked for
        meanwhile apply."""
        self._first = None
        self._use_names(prepared.names, prepared.show_environment)
        self._ranks = prepared.ranks
        self._rows = {row.data.id: row for row in prepared.by_id}
        self._hays = prepared.hays
        self._inactive = prepared.inactive
        self._orders = prepared.orders
        self._order = self._orders[self._sort_column]
        self._grace_ends = prepared.grace_ends
        self._filtered = None
        if self.filtering:
            self._filtered = self._matching(self._order, self._filter)
        if len(self._rows) >= FREEZE_AT:
            # 100,000 rows live as long as the window: keep Python's cycle collector from
            # walking them over and over (a full pass took 100 ms, a visible stall). They hold
            # no cycles, so reference counting still frees them when they are replaced.
            gc.freeze()

    def show_first_rows(
        self, names: Names, rows: Sequence[TokenRow], total: int, *, show_environment: bool
    ) -> None:
        """Hold the first screen's *rows* (already in view order) of *total* while all of them
        are read; :meth:`adopt` takes over then. Meanwhile places past these hold nothing, and
        a sort or filter asked for waits for the rows."""
        self._use_names(names, show_environment)
        self._first = [Row(data) for data in rows]
        self._first_total = max(total, len(rows))
        self._rows, self._order, self._orders, self._filtered = {}, [], {}, None
        self._hays = []
        self._inactive = 0
        self._grace_ends = _grace_ends(rows)

    def take_names(self, names: Names) -> bool:
        """Take newer names in place, when every name the rows show reads as before (agents or
        environments added; standing or permissions changed): texts and orders stand, so only
        the ranks new names need are made. False: a name shown changed, read the rows again."""
        old = self.names
        for known, new in ((old.agents, names.agents), (old.environments, names.environments)):
            if any(new.get(key, value) != value for key, value in known.items()):
                return False
        self._use_names(names, self.show_environment)
        # A rank kept or made anew orders the names already known as before.
        self._ranks = name_ranks(names)
        return True

    def _use_names(self, names: Names, show_environment: bool) -> None:
        self.names = names
        self.show_environment = show_environment
        self._folded_agents, self._folded_environments = _folded_names(names, show_environment)

    @property
    def loading(self) -> bool:
        """True while only the first screen's rows are here (see :meth:`show_first_rows`)."""
        return self._first is not None

    def plan_update(self, rows: Iterable[TokenRow], gone: Iterable[int] = ()) -> Update | None:
        """What taking these current rows of changed tokens, and dropping the tokens in
        *gone*, will do; None when nothing changes (or while the rows are being read: the
        reader started after these changes, or its caller catches up after). Nothing changes
        until :meth:`apply`."""
        if self._first is not None:
            return None
        latest = {data.id: data for data in rows}  # a token named twice: the later row
        known = [(self._rows.get(token_id), data) for token_id, data in latest.items()]
        removed = [self._rows[token_id] for token_id in set(gone) if token_id in self._rows]
        added = [data for row, data in known if row is None]
        reset = bool(removed or added)
        key = sort_key(self._sort_column, self._ranks)
        filtering = self.filtering
        changed: list[tuple[Row, TokenRow, bool]] = []
        renewed: list[int] = []
        for row, data in known:
            if row is None or row.data == data:
                continue
            if row.data.generation != data.generation:
                renewed.append(data.id)
            if reset:
                moves = True
            else:
                probe = Row(data)
                moves = key(probe) != key(row) or (
                    filtering and self._admits(probe) != self._admits(row)
                )
            changed.append((row, data, moves))
        if not (reset or changed):
            return None
        return Update(reset, removed, added, changed, renewed)

    def apply(self, update: Update) -> None:
        """Make the change :meth:`plan_update` worked out: each row put in, taken out of or
        moved in every order by bisection, never a rebuild of 100,000 rows."""
        for leaving in update.removed:
            self._remove(leaving)
        for row, data, moves in update.changed:
            self._inactive += (not data.active) - (not row.data.active)
            self._update(row, data, moves)
        for data in update.added:
            self._insert(data)
        for data in [*update.added, *(data for _, data, _ in update.changed)]:
            if data.grace_until is not None:
                heappush(self._grace_ends, (data.grace_until, data.id))

    def _insert(self, data: TokenRow) -> None:
        """A token new to the table: in every order, and the filter's."""
        row = Row(data)
        row.slot = len(self._hays)
        self._hays.append(self.hay(row))
        self._rows[data.id] = row
        self._inactive += not data.active
        for column, rows in self._orders.items():
            insort(rows, row, key=with_id(self._key(column)))
        if self._filtered is not None and self._admits(row):
            insort(self._filtered, row, key=with_id(self._key(self._sort_column)))

    def _remove(self, row: Row) -> None:
        """A token gone from the table."""
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

    def _update(self, row: Row, data: TokenRow, moves: bool) -> None:
        """Give *row* its new data, moving it to its new place in every column's order (and
        the filtered rows) where that changes; the shown order only when *moves*."""
        probe = Row(data)
        relocated: list[tuple[list[Row], Key]] = []
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
            insort(rows, row, key=with_id(key))
        if moves and filtered is not None and self._admits(row):
            insort(filtered, row, key=with_id(self._key(self._sort_column)))

    # ----------------------------------------------------------------- sort and filter

    def set_filter(self, needle: str) -> None:
        """Hold only tokens whose filter text contains *needle* (see :func:`filter_needle`)."""
        if needle == self._filter:
            return
        if self._first is None:
            if not needle and self._unused_before is None:
                self._filtered = None
            else:
                # Typing on narrows what already matched: search only that.
                narrowing = self._filtered is not None and self._filter in needle
                source = self._filtered if narrowing and self._filtered is not None else self._order
                self._filtered = self._matching(source, needle)
        self._filter = needle  # (while loading: applied when the rows arrive, see adopt)

    def set_unused(self, cutoff: int | None) -> None:
        """Hold only the tokens unused at *cutoff* (:func:`desktop.domain.usage.is_unused`),
        as well as matching the filter; None: every token again."""
        if cutoff == self._unused_before:
            return
        self._unused_before = cutoff
        if self._first is None:  # (while loading: applied when the rows arrive, see adopt)
            self._filtered = self._matching(self._order, self._filter) if self.filtering else None

    @property
    def unused_cutoff(self) -> int | None:
        """The cutoff :meth:`set_unused` holds the tokens to, or None."""
        return self._unused_before

    @property
    def filtering(self) -> bool:
        """True while some tokens may be held back: by the filter's text, or as not unused."""
        return bool(self._filter) or self._unused_before is not None

    def _admits(self, row: Row) -> bool:
        """Whether *row* passes the filter's text and, when asked for, is unused."""
        needle, cutoff = self._filter, self._unused_before
        if needle and needle not in self.hay(row):
            return False
        data = row.data
        return cutoff is None or is_unused(data.active, data.last_used, data.created, cutoff)

    def set_sort(self, column: Column, *, descending: bool) -> None:
        """Order by *column* (while loading: once the rows arrive)."""
        if column != self._sort_column and self._first is None:
            self._order = self._orders.get(column, [])  # (none before the first load)
            if self._filtered is not None:
                self._filtered = self._matching(self._order, self._filter)
        self._sort_column = column
        self._descending = descending

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def sort_column(self) -> Column:
        return self._sort_column

    @property
    def descending(self) -> bool:
        return self._descending

    def _matching(self, rows: list[Row], needle: str) -> list[Row]:
        """Those of *rows* (in their order) whose filter text contains *needle* (and that are
        unused, when :meth:`set_unused` asks)."""
        cutoff = self._unused_before
        if cutoff is not None:
            rows = [
                row
                for row in rows
                if is_unused(row.data.active, row.data.last_used, row.data.created, cutoff)
            ]
            if not needle:
                return rows
        if len(rows) < len(self._hays) // 4:
            return [row for row in rows if needle in self.hay(row)]
        # Most rows: search the texts in memory order, then pick the matches in *rows*' order.
        found = [needle in hay for hay in self._hays]
        return [row for row in rows if found[row.slot]]

    def _key(self, column: Column) -> Key:
        return sort_key(column, self._ranks)

    def _find(self, rows: list[Row], row: Row, key: Key | None = None) -> int | None:
        """Where *row* is in *rows*, ordered by *key* (the sort column's), by bisection."""
        ordered = with_id(key or self._key(self._sort_column))
        place = bisect_left(rows, ordered(row), key=ordered)
        return place if place < len(rows) and rows[place] is row else None

    def _replace(self, row: Row, data: TokenRow) -> None:
        row.data = data
        row.texts = None
        row.hay = _haystack(data, self._folded_agents, self._folded_environments)
        if 0 <= row.slot < len(self._hays):
            self._hays[row.slot] = row.hay

    # ----------------------------------------------------------------- places

    def row_count(self) -> int:
        """The places a view shows: the rows the filter lets through (while loading: every
        row, most of them not here yet)."""
        if self._first is not None:
            return self._first_total
        return len(self._order if self._filtered is None else self._filtered)

    def row_at(self, place: int) -> Row | None:
        first = self._first
        if first is not None:
            return first[place] if 0 <= place < len(first) else None
        visible = self._order if self._filtered is None else self._filtered
        count = len(visible)
        if not 0 <= place < count:
            return None
        return visible[count - 1 - place] if self._descending else visible[place]

    def at(self, place: int) -> Row:
        row = self.row_at(place)
        if row is None:
            raise IndexError(place)
        return row

    def place(self, row: Row) -> int | None:
        """The place showing *row*, or None when the filter hides it."""
        if self._first is not None:
            return next((n for n, first in enumerate(self._first) if first is row), None)
        visible = self._order if self._filtered is None else self._filtered
        place = self._find(visible, row)
        if place is None:
            return None
        if self._descending:
            return len(visible) - 1 - place
        return place

    def _shown_count(self) -> int:
        if self._first is not None:
            return len(self._first)
        return len(self._order if self._filtered is None else self._filtered)

    # ----------------------------------------------------------------- text

    def texts(self, row: Row) -> tuple[str, ...]:
        """Every cell's text of *row*, in the columns' order; made once, until it changes."""
        texts = row.texts
        if texts is None:
            texts = row.texts = cell_texts(row.data, self.names)
        return texts

    def hay(self, row: Row) -> str:
        """What the filter searches in *row*."""
        hay = row.hay
        if hay is None:
            hay = row.hay = _haystack(row.data, self._folded_agents, self._folded_environments)
        return hay

    # ----------------------------------------------------------------- lookups

    def token_at(self, place: int) -> TokenView:
        return token_view(self.at(place).data, self.names)

    def token_ids(self) -> list[int]:
        """Every token shown, in view order (while loading: those of the first screen)."""
        return [self.at(place).data.id for place in range(self._shown_count())]

    def visible_tokens(self) -> list[TokenView]:
        return [self.token_at(place) for place in range(self._shown_count())]

    def all_tokens(self) -> list[TokenView]:
        """Every token held, by id, whatever the filter (while loading: the first screen's)."""
        if self._first is not None:
            rows = self._first
        else:
            rows = [self._rows[token_id] for token_id in sorted(self._rows)]
        return [token_view(row.data, self.names) for row in rows]

    def row_of_id(self, token_id: int) -> Row | None:
        """The row of this token, shown or hidden by the filter."""
        if self._first is not None:
            return next((row for row in self._first if row.data.id == token_id), None)
        return self._rows.get(token_id)

    def place_of(self, token_id: int) -> int | None:
        row = self.row_of_id(token_id)
        return None if row is None else self.place(row)

    def places_of(self, token_ids: Iterable[int]) -> list[int]:
        places = (self.place_of(token_id) for token_id in set(token_ids))
        return sorted(place for place in places if place is not None)

    def next_expiry_after(self, moment: float) -> int | None:
        """The earliest expiry later than *moment* (POSIX seconds) among the tokens held,
        whatever the filter, or None: a bisection of the Expires order (none while loading)."""
        order = self._orders.get(Column.EXPIRES)
        if not order:
            return None
        place = bisect_right(order, moment, key=_expiry_key)
        return order[place].data.expires if place < len(order) else None

    def next_grace_end(self, now: int) -> int | None:
        """The earliest deadline after *now* (POSIX seconds) of a secret a held token replaced,
        or None: when the table must next look again, as nothing in the database changes then."""
        ends = self._grace_ends
        while ends:
            until, token_id = ends[0]
            row = self.row_of_id(token_id)
            if until > now and row is not None and row.data.grace_until == until:
                return until
            heappop(ends)  # past, or the token changed or went since
        return None

    def latest_use(self) -> int | None:
        """The latest last use among the tokens held (POSIX seconds), or None when none was
        ever used (or while the rows are being read): the end of the Last used order."""
        order = self._orders.get(Column.LAST_USED)
        return order[-1].data.last_used if order else None

    def usage_rows(self, uses: Iterable[tuple[int, int, int]]) -> list[TokenRow]:
        """The rows of the tokens held whose use differs from *uses* (token id, last use,
        count), with that use: what :meth:`plan_update` then moves (tokens not held, and uses
        already shown, are left out)."""
        changed: list[TokenRow] = []
        held = self._rows
        for token_id, last_used, count in uses:
            row = held.get(token_id)
            if row is not None and (row.data.last_used, row.data.use_count) != (last_used, count):
                changed.append(row.data._replace(last_used=last_used, use_count=count))
        return changed

    def unused_ids(self, cutoff: int) -> list[int]:
        """The tokens held, whatever the filter, that are unused at *cutoff*, by id (none
        while the rows are being read). Only the start of the Last used order can hold them
        (never used, then used before *cutoff*), found by bisection: the window counts them
        after every change, and a scan of 100,000 rows took 40 ms."""
        order = self._orders.get(Column.LAST_USED)
        if not order:
            return []
        end = bisect_left(order, float(cutoff), key=_last_use_key)
        # Before *end* every row was used before the cutoff or never: is_unused, spelt out.
        found = []
        for row in order[:end]:
            data = row.data
            if data.active and (data.last_used is not None or data.created < cutoff):
                found.append(data.id)
        found.sort()
        return found

    def counts(self) -> tuple[int, int | None]:
        """(tokens, inactive tokens) held, whatever the filter; the inactive ones are not known
        (None) while the rows are being read."""
        if self._first is not None:
            return self._first_total, None
        return len(self._rows), self._inactive
