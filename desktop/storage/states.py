"""The values the database keeps that the layers above compare against, and how it keeps
times, without importing Peewee: the window's first screen is read before Peewee is loaded
(see :class:`~desktop.storage.database.Database`), so what it needs lives here and
:mod:`~desktop.storage.models` takes it from here."""

from __future__ import annotations

from datetime import UTC, datetime

# Token.status and Agent.status.
ACTIVE = "Active"
INACTIVE = "Inactive"

# Token.phase: only READY tokens exist for users; the others are mid-change (see the journal).
READY = "ready"
CREATING = "creating"
DELETING = "deleting"

# The formats a DateTimeField tries when the text is not ISO 8601 (Peewee's own).
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
    "%Y-%m-%d",
)


def naive(value: datetime) -> datetime:
    """SQLite keeps naive datetimes; TokenDesk's are UTC, so convert and drop the zone."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def parse_stored_time(value: object) -> object:
    """A stored time as a DateTimeField reads it (the same rules, so raw reads and model reads
    agree): a datetime when the text is one, otherwise the value unchanged (None stays None)."""
    if not value or not isinstance(value, str):
        return value
    text = value
    if len(text) > 10 and text[10] == " ":
        text = text[:10] + "T" + text[11:]
    if text[-1:] == "Z":
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for layout in _TIME_FORMATS:
        try:
            return datetime.strptime(value, layout)
        except ValueError:
            pass
    return value


__all__ = [
    "ACTIVE",
    "CREATING",
    "DELETING",
    "INACTIVE",
    "READY",
    "naive",
    "parse_stored_time",
]
