"""Every text a person reads about dates, intervals and statuses, in one place.

The window and the command line word the same things the same way by calling these. Nothing
here imports Qt: the command line uses it too, and the token table's own texts are tested
without a display.

Times a person reads are local; times a machine reads (``--json``, scripts) are UTC ISO 8601.
The token table formats two times for each of 100,000 rows when it loads (for its filter), so
:func:`minute_text` works from cached days and UTC offsets rather than from ``datetime``.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import lru_cache

from desktop.domain.clock import isoformat, utc
from desktop.domain.table import Names, TokenRow
from desktop.domain.tokens import mask
from desktop.services.views import TokenView

NO_TIME = "—"  # a time that is not set: no next rotation, never rotated
ACTIVE = "Active"
INACTIVE = "Inactive"
PAUSED = " (paused)"  # after the next rotation of an inactive token: it waits for activation
NEVER = "never"  # no automatic rotation
# As wide as any time minute_text gives (its digits are equally wide): sizes the table's columns.
WIDEST_TIME = "2026-01-05 09:00"

# ----------------------------------------------------------------- local time, to the minute

_EPOCH_DAY = date(1970, 1, 1)
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


def minute_text(minute: int) -> str:
    """Local time to the minute (``2026-01-05 09:00``) of a POSIX minute number: the table's
    fast path, from cached days and offsets (it says what ``datetime`` says)."""
    local = minute + _offset_minutes(minute)
    day, in_day = divmod(local, 1440)
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = (_EPOCH_DAY + timedelta(days=day)).isoformat()
    hours, minutes = divmod(in_day, 60)
    return f"{text} {hours:02d}:{minutes:02d}"


def epoch_text(seconds: int | None) -> str:
    """Local time to the minute of POSIX *seconds* (a table row's time), or an em dash."""
    return NO_TIME if seconds is None else minute_text(seconds // 60)


def format_time(value: datetime | None) -> str:
    """Local time to the minute (``2026-01-05 09:00``), or an em dash."""
    if value is None:
        return NO_TIME
    return minute_text(math.floor(value.timestamp()) // 60)


# ----------------------------------------------------------------- other spellings of a time

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_local_time(value: datetime) -> str:
    """A moment in the person's local time, e.g. ``Tue 2 Dec 2026 09:00`` (the same words
    whatever the C library's locale, like the rest of the window's text)."""
    local = utc(value).astimezone()
    day, month = _WEEKDAYS[local.weekday()], _MONTHS[local.month - 1]
    return f"{day} {local.day} {month} {local.year} {local:%H:%M}"


def format_seconds(value: datetime) -> str:
    """Local time to the second, ``2026-01-05 09:00:07``: when something happened."""
    return f"{utc(value).astimezone():%Y-%m-%d %H:%M:%S}"


def format_utc(value: datetime | None, missing: str = "-") -> str:
    """UTC ISO 8601 to the second (``2026-01-05T08:00:07Z``), or *missing*: for scripts."""
    return isoformat(value) or missing


# ----------------------------------------------------------------- intervals

_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60))


def _in_units(value: timedelta) -> tuple[int, str]:
    """The value as a count of its largest whole unit: ``(3, "day")``, ``(90, "minute")``."""
    seconds = int(value.total_seconds())
    for word, unit in _UNITS:
        if seconds >= unit and seconds % unit == 0:
            return seconds // unit, word
    return seconds, "second"


def format_duration(value: timedelta) -> str:
    """``1 hour``, ``3 days``, ``2 weeks``."""
    count, word = _in_units(value)
    return f"1 {word}" if count == 1 else f"{count} {word}s"


def describe_interval(value: timedelta | None) -> str:
    """How often, in words: ``every 30 days``, ``every 12 hours``, ``never``."""
    if value is None:
        return NEVER
    count, word = _in_units(value)
    return f"every {word}" if count == 1 else f"every {count} {word}s"


@lru_cache(maxsize=256)
def rotation_text(seconds: int | None) -> str:
    """The Rotation cell: ``Every day``, ``Every 12 hours``, ``Never``."""
    text = describe_interval(timedelta(seconds=seconds) if seconds else None)
    return text[:1].upper() + text[1:]


def rotation_name(rotation: str | None) -> str:
    """A schedule as given (``weekly``, ``12h``), or ``never``: the command line's lists."""
    return NEVER if rotation is None else rotation


def rotation_phrase(rotation: str | None, interval: timedelta | None) -> str:
    """A schedule as given and in words, ``weekly (every week)``, or ``never``."""
    if rotation is None:
        return NEVER
    return f"{rotation} ({describe_interval(interval)})"


def schedule_text(interval: timedelta | None, next_at: datetime | None) -> str:
    """A token's schedule in a sentence, ``Every 30 days; next Tue 2 Dec 2026 09:00``."""
    if interval is None:
        return "Not rotated automatically"
    text = rotation_text(int(interval.total_seconds()))
    if next_at is not None:
        text += f"; next {format_local_time(next_at)}"
    return text


def grace_text(grace_seconds: int) -> str:
    """What a rotation does to the previous secret."""
    if grace_seconds:
        grace = format_duration(timedelta(seconds=grace_seconds))
        return f"After each rotation the previous secret keeps working for {grace}"
    return "After each rotation the previous secret stops working at once"


# ----------------------------------------------------------------- statuses


def status_text(active: bool | int) -> str:
    """``Active`` or ``Inactive``, exactly."""
    return ACTIVE if active else INACTIVE


def yes_no(value: bool) -> str:
    """``yes`` or ``no``: a flag such as whether an agent has logged in."""
    return "yes" if value else "no"


INACTIVE_TIP = "Inactive: every request with this token gets 401"
PAUSED_TIP = "Inactive tokens are not rotated; it is due when activated again"


def previous_secret_text(until: int, now: int) -> str:
    """While a replaced secret still works: ``Previous secret valid until 14:39`` (local time;
    the date too when it is not today)."""
    text = epoch_text(until)
    if text[:10] == epoch_text(now)[:10]:
        text = text[11:]
    return f"Previous secret valid until {text}"


def rotation_failed_text(error: str) -> str:
    """Why the next rotation is shown with a warning."""
    return f"The last scheduled rotation failed: {error}\nIt is tried again automatically."


def next_rotation_text(row: TokenRow) -> str:
    """The Next rotation cell: local time, "(paused)" while inactive, or an em dash."""
    text = epoch_text(row.next_rotation)
    if row.next_rotation is not None and not row.active:
        text += PAUSED
    return text


def cell_texts(row: TokenRow, names: Names) -> tuple[str, ...]:
    """Every cell of a token table row, in the columns' order (desktop.domain.table.Column)."""
    agent, role = names.agents.get(row.agent_id, ("?", "?"))
    return (
        mask(row.hint),
        agent,
        row.label,
        role,
        status_text(row.active),
        token_ref(row.id),
        rotation_text(row.rotation_seconds),
        next_rotation_text(row),
        epoch_text(row.created),
        names.environments.get(row.environment_id, "?"),
    )


# ----------------------------------------------------------------- naming a token

# What becomes of a secret once it is shown: the one story every dialog and the README tell.
KEPT_IN_KEYRING = (
    "The secret stays in this desktop user's keyring: you can copy or reveal it again here at "
    "any time, and nobody else can read it."
)


def token_ref(token_id: int) -> str:
    """How a token is known everywhere, ``#3``: its id, which never changes (its masked secret
    changes with every refresh). The ID column, the audit log, titles and texts all say it."""
    return f"#{token_id}"


def token_title(title: str, token_id: int) -> str:
    """A dialog's title about one token, ``Rotation Schedule — Token #3``."""
    return f"{title} — Token {token_ref(token_id)}"


def token_choice(row: TokenRow, names: Names) -> str:
    """A token in a list of choices, ``#3 — Ada Servicing Bot — Dashboard``."""
    return f"{token_ref(row.id)} — {names.agent(row)} — {row.label or '(no label)'}"


def token_choice_masked(row: TokenRow, names: Names) -> str:
    """A token in a list of choices, with its masked token and whether it is inactive:
    ``#3 — Ada — Dashboard (tdk_••••••••AbCd, inactive)``; never the secret."""
    state = "" if row.active else ", inactive"
    label = f" — {row.label}" if row.label else ""
    return f"{token_ref(row.id)} — {names.agent(row)}{label} ({mask(row.hint)}{state})"


def describe_token(token: TokenView) -> str:
    """How a sentence names a token, after the word "token": ``#3 (agent Ada, label
    “dashboard”)``."""
    label = f"label “{token.label}”" if token.label else "no label"
    return f"{token_ref(token.id)} (agent {token.agent}, {label})"
