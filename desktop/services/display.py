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
from datetime import UTC, date, datetime, timedelta
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
NEVER_EXPIRES = "Never"  # the Expires cell of a token without an expiry
EXPIRED = "Expired"  # the Expires cell once the expiry has passed
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


def rotation_failed_text(error: str) -> str:
    """Why the next rotation is shown with a warning."""
    return f"The last scheduled rotation failed: {error}\nIt is tried again automatically."


def rotates_before_expiry(row: TokenRow) -> bool:
    """Whether the token's next rotation comes before it expires: one at or after the expiry
    never happens."""
    next_at, expires = row.next_rotation, row.expires
    return next_at is not None and (expires is None or next_at < expires)


EXPIRES_FIRST_TIP = "The token expires before this rotation, so it is not rotated again"
EXPIRED_ROTATION_TIP = "Expired tokens are not rotated"
EXPIRES_TIP = "From then on every request with this token gets 401 (local time)"


def expires_text(row: TokenRow) -> str:
    """The Expires cell as stored: local time, or "Never" (an expired token's cell says
    :data:`EXPIRED`; the window decides that with its clock)."""
    return NEVER_EXPIRES if row.expires is None else epoch_text(row.expires)


def expired_tip(expires: int) -> str:
    """The tooltip of an expired token's Expires cell (*expires*: POSIX seconds)."""
    when = format_local_time(datetime.fromtimestamp(expires, UTC))
    return (
        f"Expired {when}: every request with this token gets 401 and it is not rotated. "
        "Set a later expiry (Token → Expiry…) to use it again"
    )


def expiry_phrase(expires_at: datetime | None, now: datetime) -> str:
    """A token's expiry in words: ``never``, ``Tue 2 Dec 2026 09:00`` or ``expired Tue …``."""
    if expires_at is None:
        return NEVER
    when = format_local_time(expires_at)
    return f"expired {when}" if now >= expires_at else when


def next_rotation_text(row: TokenRow) -> str:
    """The Next rotation cell: local time, "(paused)" while inactive, or an em dash (none, or
    none before the token expires)."""
    if not rotates_before_expiry(row):
        return NO_TIME
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
        rotation_text(row.rotation_seconds),
        next_rotation_text(row),
        expires_text(row),
        epoch_text(row.created),
        names.environments.get(row.environment_id, "?"),
    )


# ----------------------------------------------------------------- naming a token


def token_choice(row: TokenRow, names: Names) -> str:
    """A token in a list of choices, ``#3 — Ada Servicing Bot — Dashboard``."""
    return f"#{row.id} — {names.agent(row)} — {row.label or '(no label)'}"


def token_choice_masked(row: TokenRow, names: Names) -> str:
    """A token in a list of choices, with its masked token and whether it is inactive:
    ``#3 — Ada — Dashboard (tdk_••••••••AbCd, inactive)``; never the secret."""
    state = "" if row.active else ", inactive"
    label = f" — {row.label}" if row.label else ""
    return f"#{row.id} — {names.agent(row)}{label} ({mask(row.hint)}{state})"


def describe_token(token: TokenView) -> str:
    """How the window names a token to a person: masked, with its agent and label."""
    label = f"label “{token.label}”" if token.label else "no label"
    return f"{token.masked} (agent {token.agent}, {label})"
