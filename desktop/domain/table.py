"""The token table's rows and orders, defined once for every layer that reads them.

Storage selects exactly :class:`TokenRow`'s fields (its SELECT list is generated from them),
services and the window read them by name, and both the SQL that paints a first screen and the
in-memory sort follow :data:`ORDERS`. Times are whole POSIX seconds (UTC): 100,000 rows load
in a fraction of a second, and only the rows on screen are ever turned into text.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple


class TokenRow(NamedTuple):
    """One ready token as the table reads it: plain values, no names (see :class:`Names`)."""

    id: int
    environment_id: int
    agent_id: int
    label: str
    active: int  # 1 or 0
    hint: str
    generation: int
    rotation: str | None  # the interval as given, or None
    rotation_seconds: int | None
    grace_seconds: int
    next_rotation: int | None
    last_rotated: int | None
    grace_until: int | None
    last_error: str | None
    created: int
    expires: int | None = None  # from then on the token is refused; None: it never expires
    holder: str = ""  # whose keyring holds the secret: alice@laptop
    # When a forward-auth server last saw the token presented, and how often in all (the
    # token_usage table); None and 0: never.
    last_used: int | None = None
    use_count: int = 0

    def expired(self, now: float) -> bool:
        """Whether the token has expired at *now* (POSIX seconds)."""
        return self.expires is not None and now >= self.expires


@dataclass(frozen=True, slots=True)
class Names:
    """What the rows' ids stand for: environment names, and agents with their role; and what
    the table says beside them: why an agent's tokens are refused, what a role grants."""

    environments: dict[int, str]
    agents: dict[int, tuple[str, str]]  # agent id → (agent name, role name)
    # Agent id → why every request with its tokens gets 401 (access.agent_refusal); absent
    # for an agent who may use them.
    refusals: dict[int, str] = field(default_factory=dict)
    # Role name → what it grants, sorted ("GET /Loans"); absent or empty: nothing.
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def environment(self, row: TokenRow) -> str:
        return self.environments.get(row.environment_id, "?")

    def agent(self, row: TokenRow) -> str:
        return self.agents.get(row.agent_id, ("?", "?"))[0]

    def role(self, row: TokenRow) -> str:
        return self.agents.get(row.agent_id, ("?", "?"))[1]

    def refusal(self, row: TokenRow) -> str | None:
        """Why the row's agent may not use it now, or None when it may."""
        return self.refusals.get(row.agent_id)

    def grants(self, row: TokenRow) -> tuple[str, ...]:
        """What the row's role allows (``GET /Loans``, …), sorted."""
        return self.permissions.get(self.role(row), ())


class Column(IntEnum):
    """The table's columns, in the window's order."""

    TOKEN = 0
    NAME = 1
    LABEL = 2
    ROLE = 3
    STATUS = 4
    ID = 5  # the token's number, "#3": it never changes, unlike the masked secret
    ROTATION = 6
    NEXT_ROTATION = 7
    EXPIRES = 8
    CREATED = 9
    ENVIRONMENT = 10  # shown when the table holds every environment's tokens
    LAST_USED = 11  # last of all, so the columns before keep their numbers


class SortTerm(NamedTuple):
    """One term of a column's order, ascending; ties are broken by token id.

    *source* is a :class:`TokenRow` field, or one of the names ``agent``, ``role`` and
    ``environment`` (looked up through :class:`Names`). ``nocase`` compares text without case;
    ``nulls_last`` puts rows without a value after all others, ``nulls_first`` before them
    (the engines disagree on where NULL goes, so an order says); ``negate`` orders true first.
    """

    source: str
    nocase: bool = False  # compared as :func:`nocase` folds it
    nulls_last: bool = False
    negate: bool = False
    nulls_first: bool = False


NAME_SOURCES = frozenset({"agent", "role", "environment"})

ORDERS: dict[Column, tuple[SortTerm, ...]] = {
    Column.TOKEN: (SortTerm("hint"),),
    Column.NAME: (SortTerm("agent", nocase=True),),
    Column.LABEL: (SortTerm("label", nocase=True),),
    Column.ROLE: (SortTerm("role", nocase=True),),
    Column.STATUS: (SortTerm("active", negate=True),),  # active first
    Column.ID: (SortTerm("id"),),
    Column.ROTATION: (SortTerm("rotation_seconds", nulls_last=True),),  # never last
    Column.NEXT_ROTATION: (SortTerm("next_rotation", nulls_last=True),),  # none last
    Column.EXPIRES: (SortTerm("expires", nulls_last=True),),  # never last
    Column.CREATED: (SortTerm("created"),),
    Column.ENVIRONMENT: (SortTerm("environment", nocase=True),),
    Column.LAST_USED: (SortTerm("last_used", nulls_first=True),),  # never used: the oldest
}

DEFAULT_SORT = Column.CREATED  # the order a table opens in: oldest first

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def nocase(text: str) -> str:
    """*text* as SQLite's ``COLLATE NOCASE`` compares it: only the 26 ASCII letters fold.

    Not :meth:`str.casefold`, which folds every script (``É`` to ``é``, ``ß`` to ``ss``): the
    SQL that paints a first screen and the in-memory orders would then disagree on names
    beyond ASCII. A person's search is another matter (it may fold more).
    """
    # lower() is NOCASE exactly for ASCII text, and several times quicker than translate():
    # it keeps sorting 100,000 labels about as quick as casefold() did.
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)
