"""Rotation and grace intervals: ``Nh``, ``Nd``, ``Nw`` or a named preset.

Parsing and the canonical spellings live here; the words a person reads (``every 30 days``)
are :mod:`desktop.services.display`'s.
"""

from __future__ import annotations

import re
from datetime import timedelta

from desktop.domain.errors import InvalidInput

PRESETS: dict[str, timedelta] = {
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "quarterly": timedelta(days=90),
}
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_PATTERN = re.compile(r"([1-9][0-9]{0,5})([hdw])")
# The longest interval anyone could mean: ten years. Beyond it datetimes overflow soon enough.
MAXIMUM = timedelta(days=3660)


def parse_interval(text: str) -> timedelta:
    """Parse a positive interval; raise :class:`InvalidInput` with a readable message."""
    cleaned = text.strip().lower()
    if cleaned in PRESETS:
        return PRESETS[cleaned]
    match = _PATTERN.fullmatch(cleaned)
    if match is None:
        raise InvalidInput(
            f"invalid interval {text!r}: use Nh, Nd or Nw (N a positive whole number), "
            "or daily, weekly, monthly, quarterly"
        )
    value = int(match.group(1)) * _UNITS[match.group(2)]
    if value > MAXIMUM:
        raise InvalidInput(f"invalid interval {text!r}: at most {MAXIMUM.days} days")
    return value


def parse_grace(text: str) -> timedelta:
    """Like :func:`parse_interval`, but ``0`` (no grace: invalid at once) is allowed."""
    if text.strip() in {"0", "0h", "0d", "0w"}:
        return timedelta(0)
    return parse_interval(text)


def format_interval(value: timedelta | None) -> str:
    """The shortest canonical spelling: ``daily``, ``12h``, ``3w``, ``0`` or ``never``."""
    if value is None:
        return "never"
    if value == timedelta(0):
        return "0"
    for name, preset in PRESETS.items():
        if value == preset:
            return name
    seconds = int(value.total_seconds())
    for suffix, unit_seconds in (("w", 604800), ("d", 86400), ("h", 3600)):
        if seconds % unit_seconds == 0:
            return f"{seconds // unit_seconds}{suffix}"
    return f"{seconds}s"
