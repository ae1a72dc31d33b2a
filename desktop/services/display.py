"""Every text a person reads about dates, intervals and statuses, in one place.

The window and the command line word the same things the same way by calling these. The
command line prints times for scripts (UTC ISO 8601, :func:`format_utc`) and never loads Qt. The
window's times are local and spelled one way, in the person's locale: QLocale's short date and
time formats (``28.12.26 22:58`` in German, ``12/28/26 10:58 PM`` in American English), or ISO
8601 (``2026-12-28 22:58``) in the C locale, which names no convention of its own. QtCore is
loaded when the first local time is spelled.

The token table spells two times for each of 100,000 rows when it loads (for its filter), so
:func:`minute_text` asks QLocale once for each local day and each minute of a day and joins
the two, and works out UTC offsets once per hour of time rather than through ``datetime``.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from desktop.domain.clock import isoformat, utc
from desktop.domain.table import Names, TokenRow
from desktop.domain.tokens import mask
from desktop.services.views import TokenView

if TYPE_CHECKING:
    from PySide6.QtCore import QLocale

NO_TIME = "—"  # a time that is not set: no next rotation, never rotated
ACTIVE = "Active"
INACTIVE = "Inactive"
PAUSED = " (paused)"  # after the next rotation of an inactive token: it waits for activation
NEVER = "never"  # no automatic rotation
NEVER_EXPIRES = "Never"  # the Expires cell of a token without an expiry
EXPIRED = "Expired"  # the Expires cell once the expiry has passed
NEVER_USED = "Never"  # the Last used cell of a token no server has seen presented

# Marks some locales put in a time that nobody types: a narrow no-break space before "PM",
# right-to-left marks between the parts of a date. The filter reads them as a plain space or
# not at all (:func:`minute_key`; desktop.services.token_index folds what is typed the same way).
TIME_MARKS: dict[str, str | None] = {
    "\u00a0": " ",
    "\u202f": " ",
    "\u200e": None,
    "\u200f": None,
    "\u061c": None,
}
_FOLD = str.maketrans(TIME_MARKS)

# ----------------------------------------------------------------- local time, to the minute

_EPOCH_DAY = date(1970, 1, 1)
_ISO_DATE, _ISO_TIME = "yyyy-MM-dd", "HH:mm"


def _fold(text: str) -> str:
    """A time as the filter searches it: without case and without the marks above."""
    return text.casefold().translate(_FOLD)


def _unquote(literal: str) -> str:
    """The text of a literal part of a Qt date-time format (``'at'`` → ``at``)."""
    return literal.replace("''", "\0").replace("'", "").replace("\0", "'")


class _Spelling:
    """The default locale's short date and time formats with the local time zone, and the days,
    minutes of a day and UTC offsets worked out so far.

    A local time is the text of its day joined to the text of its minute; the locale's
    date-time format says in which order and with what around them. Replaced as a whole (see
    :func:`reset_local_times`), so the table's reader thread never mixes two locales.
    """

    __slots__ = (
        "_date",
        "_date_first",
        "_days",
        "_glue",
        "_locale",
        "_offsets",
        "_time",
        "_times",
        "date_format",
        "time_format",
    )

    def __init__(self, locale: QLocale) -> None:
        from PySide6.QtCore import QDate, QLocale, QTime

        self._locale, self._date, self._time = locale, QDate, QTime
        short = QLocale.FormatType.ShortFormat
        glue, date_first = ("", " ", ""), True
        if locale.language() == QLocale.Language.C:
            self.date_format, self.time_format = _ISO_DATE, _ISO_TIME
        else:
            self.date_format, self.time_format = locale.dateFormat(short), locale.timeFormat(short)
            whole = locale.dateTimeFormat(short)
            dates, times = whole.find(self.date_format), whole.find(self.time_format)
            dates_end, times_end = dates + len(self.date_format), times + len(self.time_format)
            if dates >= 0 and dates_end <= times:
                glue = (whole[:dates], whole[dates_end:times], whole[times_end:])
            elif times >= 0 and times_end <= dates:
                glue, date_first = (whole[:times], whole[times_end:dates], whole[dates_end:]), False
            # else: a date-time format that holds neither as such: the date, a space, the time
            glue = (_unquote(glue[0]), _unquote(glue[1]), _unquote(glue[2]))
        self._glue = (glue, (_fold(glue[0]), _fold(glue[1]), _fold(glue[2])))
        self._date_first = date_first
        self._days: tuple[dict[int, str], dict[int, str]] = ({}, {})  # shown, folded
        self._times: tuple[list[str | None], list[str | None]] = ([None] * 1440, [None] * 1440)
        self._offsets: dict[int, int | None] = {}  # UTC hour → offset in minutes (None: changes)

    def date_time_format(self) -> str:
        """The whole format, as a QDateTimeEdit takes it."""
        before, between, after = self._glue[0]
        first, second = (
            (self.date_format, self.time_format)
            if self._date_first
            else (self.time_format, self.date_format)
        )
        quote = self._quote
        return f"{quote(before)}{first}{quote(between)}{second}{quote(after)}"

    @staticmethod
    def _quote(literal: str) -> str:
        if not literal or not any(c.isalpha() for c in literal):
            return literal
        return "'" + literal.replace("'", "''") + "'"

    def offset(self, minute: int) -> int:
        """The local UTC offset, in minutes, at a POSIX minute; worked out once per hour."""
        hour = minute // 60
        offsets = self._offsets
        offset = offsets.get(hour, -1)
        if offset == -1:
            start = datetime.fromtimestamp(hour * 3600).astimezone().utcoffset()
            end = datetime.fromtimestamp(hour * 3600 + 3599).astimezone().utcoffset()
            offset = (
                int(start.total_seconds()) // 60 if start == end and start is not None else None
            )
            if len(offsets) > 100_000:
                offsets.clear()
            offsets[hour] = offset
        if offset is None:  # the clocks change within this hour: ask for this very minute
            exact = datetime.fromtimestamp(minute * 60).astimezone().utcoffset()
            return int(exact.total_seconds()) // 60 if exact is not None else 0
        return offset

    def text(self, local: int, folded: int) -> str:
        """A local minute number (minutes since 1970-01-01 00:00 local time), spelled;
        *folded* (0 or 1): as the filter searches it."""
        day, in_day = divmod(local, 1440)
        days = self._days[folded]
        day_text = days.get(day)
        if day_text is None:
            when = _EPOCH_DAY + timedelta(days=day)
            day_text = self._locale.toString(
                self._date(when.year, when.month, when.day), self.date_format
            )
            day_text = days[day] = _fold(day_text) if folded else day_text
        times = self._times[folded]
        time_text = times[in_day]
        if time_text is None:
            time_text = self._locale.toString(self._time(*divmod(in_day, 60)), self.time_format)
            time_text = times[in_day] = _fold(time_text) if folded else time_text
        before, between, after = self._glue[folded]
        if self._date_first:
            return f"{before}{day_text}{between}{time_text}{after}"
        return f"{before}{time_text}{between}{day_text}{after}"


_spelling: _Spelling | None = None


def _current() -> _Spelling:
    global _spelling  # one spelling for the process, replaced as a whole
    spelling = _spelling
    if spelling is None:
        from PySide6.QtCore import QLocale

        spelling = _spelling = _Spelling(QLocale())
    return spelling


def reset_local_times() -> None:
    """Spell local times afresh from the default QLocale and the time zone: after
    ``QLocale.setDefault`` or a change of ``TZ`` (texts already made are not remade)."""
    global _spelling  # one spelling for the process, replaced as a whole
    _spelling = None


def date_time_format() -> str:
    """The Qt format of every local time shown (for a QDateTimeEdit that shows one)."""
    return _current().date_time_format()


def minute_text(minute: int) -> str:
    """Local time to the minute of a POSIX minute number, in the locale's short format: the
    table's fast path, from cached days, minutes and offsets (it says what QLocale says)."""
    spelling = _current()
    return spelling.text(minute + spelling.offset(minute), 0)


def minute_key(minute: int) -> str:
    """:func:`minute_text` as the table's filter searches it: without case, and with the marks
    of :data:`TIME_MARKS` folded."""
    spelling = _current()
    return spelling.text(minute + spelling.offset(minute), 1)


def epoch_text(seconds: int | None) -> str:
    """Local time to the minute of POSIX *seconds* (a table row's time), or an em dash."""
    return NO_TIME if seconds is None else minute_text(seconds // 60)


def format_time(value: datetime | None) -> str:
    """Local time to the minute in the locale's short format, or an em dash (a naive
    *value* is UTC, as everywhere in TokenDesk)."""
    if value is None:
        return NO_TIME
    return minute_text(math.floor(utc(value).timestamp()) // 60)


def format_local_time(value: datetime) -> str:
    """The same text as :func:`format_time`: one spelling of a time throughout the window."""
    return format_time(value)


def widest_times() -> list[str]:
    """Times as wide as any :func:`minute_text` gives (two-digit days and hours, every month,
    morning and evening), for sizing a column by font metrics instead of by its rows."""
    spelling = _current()
    local = []
    for month in range(1, 13):
        day = (date(2026, month, 28) - _EPOCH_DAY).days * 1440
        local += [day + 10 * 60 + 58, day + 22 * 60 + 58]
    return [spelling.text(minute, 0) for minute in local]


# ----------------------------------------------------------------- times for scripts


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
    """A token's schedule in a sentence, ``Every 30 days; next 2026-12-02 09:00``."""
    if interval is None:
        return "Not rotated automatically"
    text = rotation_text(int(interval.total_seconds()))
    if next_at is not None:
        text += f"; next {format_time(next_at)}"
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


def last_used_text(row: TokenRow) -> str:
    """The Last used cell: local time to the minute, or "Never"."""
    return NEVER_USED if row.last_used is None else epoch_text(row.last_used)


def requests_text(count: int) -> str:
    """How often a token was presented: ``1 request``, ``1,204 requests``."""
    return f"{count:,} request{'' if count == 1 else 's'}"


def usage_phrase(last_used: datetime | None, count: int) -> str:
    """A token's use in a few words, ``2026-12-01 14:32 · 1,204 requests`` (local time), or
    ``Never``: the details pane's Last used line."""
    if last_used is None:
        return NEVER_USED
    return f"{format_time(last_used)} · {requests_text(count)}"


def usage_tip(row: TokenRow) -> str:
    """The Last used cell's tooltip: how often, or that no server has seen it."""
    if row.last_used is None:
        return "No request has presented this token to a TokenDesk server (tokendesk serve)"
    return f"{requests_text(row.use_count)} in all, as TokenDesk servers counted them"


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
        expires_text(row),
        epoch_text(row.created),
        names.environments.get(row.environment_id, "?"),
        last_used_text(row),
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
