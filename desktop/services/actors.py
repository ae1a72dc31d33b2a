"""Who an audit event names: the operating-system user on their machine, and how the change was
made.

A person is named with their host, ``alice@laptop``, since a registry shared on PostgreSQL keeps
one log for every admin's desktop (and two machines may each have an ``alice``). The window's
actions name the person alone (``alice@laptop``), the command line's say so
(``alice@laptop (command line)``), and scheduled rotations name the scheduler and whose account
it ran under (``scheduler (alice@laptop)``): the window's rotation runner and ``rotate-due``
(what cron or a systemd timer runs) alike, because in both the schedule, not the person, chose
what to rotate.
"""

from __future__ import annotations

# Named here for the audit log's callers; the naming itself is the domain's (the storage's
# upgrade step needs it too).
from desktop.domain.people import MAX_HOST, MAX_USER, host, os_user, person

__all__ = [
    "MAX_HOST",
    "MAX_USER",
    "command_line",
    "host",
    "os_user",
    "person",
    "scheduler",
    "window",
]


def window(user: str | None = None) -> str:
    """The window's actions: the person alone (``alice@laptop``), or *user* as given."""
    return user or person()


def command_line(user: str | None = None) -> str:
    """A command typed (or scripted) by *user*: ``alice@laptop (command line)``."""
    return f"{user or person()} (command line)"


def scheduler(user: str | None = None) -> str:
    """A scheduled rotation run under *user*'s account: ``scheduler (alice@laptop)``."""
    return f"scheduler ({user or person()})"
