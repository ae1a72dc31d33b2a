"""When a token expires, as a person writes it, and the rule every expiry must meet.

A person writes a date (``2027-03-31``) or a date and time (``2027-03-31T18:00``, with an
optional UTC offset such as ``+02:00`` or ``Z``). A date alone means the END of that day: the
token works through all of it and expires at the midnight that ends it, local time (so
``--expires 2027-03-31`` is what "valid until 31 March" means to a person). A time without an
offset is local time too. Whatever was written, the instant is kept in UTC, to the second.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput

WHEN_HELP = (
    "a date (YYYY-MM-DD: the token works through that day, local time, and expires at the "
    "midnight that ends it) or a date and time (YYYY-MM-DDTHH:MM, local time unless it ends in "
    "an offset such as +02:00 or Z)"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def end_of_day(day: date) -> datetime:
    """The midnight (local time) that ends *day*, in UTC: when a token valid "until *day*"
    expires."""
    return datetime.combine(day + timedelta(days=1), time(0)).astimezone(UTC)


def parse_when(text: str) -> datetime:
    """The instant *text* names (see the module's rules), in UTC to the second; raises
    :class:`InvalidInput` with the rules when it names none."""
    if tokens.appears_in(text):  # checked first: the message below repeats the text
        raise InvalidInput("an expiry must not contain a token secret")
    value = text.strip()
    if _DATE.fullmatch(value):
        try:
            return end_of_day(date.fromisoformat(value))
        except ValueError:
            pass
    elif len(value) > 10 and _DATE.fullmatch(value[:10]) and value[10] in "T ":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            # Naive means local: astimezone() reads it so.
            return moment.astimezone(UTC).replace(microsecond=0)
    raise InvalidInput(f"invalid date {value[:40]!r}: write {WHEN_HELP}")


def check_expiry(expires_at: datetime, now: datetime) -> datetime:
    """*expires_at* in UTC to the second, when it is after *now*; an expiry in the past (or
    now) is refused: it is a typo far more often than a wish, and taking a token out of use
    at once is what deactivating it does."""
    value = expires_at.astimezone(UTC).replace(microsecond=0)
    if value <= now:
        shown = value.isoformat().replace("+00:00", "Z")
        raise InvalidInput(
            f"the expiry {shown} is not in the future: choose a later date or time "
            "(to stop a token at once, deactivate it)"
        )
    return value


__all__ = ["WHEN_HELP", "check_expiry", "end_of_day", "parse_when"]
