"""Who an audit event names: the operating-system user, and how the change was made.

The window's actions name the user alone (``alice``), the command line's say so
(``alice (command line)``), and scheduled rotations name the scheduler and whose account it ran
under (``scheduler (alice)``): the window's rotation runner and ``rotate-due`` (what cron or a
systemd timer runs) alike, because in both the schedule, not the person, chose what to rotate.
"""

from __future__ import annotations

import getpass
import os

MAX_USER = 64  # a user name longer than this is cut: it is a label in the audit log


def os_user() -> str:
    """The operating-system user's login name, as :func:`getpass.getuser` finds it.

    It fails in a container whose user has no entry in the passwd database (and no
    ``LOGNAME``/``USER`` variable): then ``uid 1000``, or ``unknown user`` where there are no
    uids. Characters that would not show as themselves are dropped, since the name is printed.
    """
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no such user; no pwd module (Windows)
        name = ""
    name = "".join(ch for ch in " ".join(name.split()) if ch.isprintable()).strip()[:MAX_USER]
    if name:
        return name
    getuid = getattr(os, "getuid", None)
    return f"uid {getuid()}" if getuid is not None else "unknown user"


def window(user: str | None = None) -> str:
    """The window's actions: the user alone."""
    return user or os_user()


def command_line(user: str | None = None) -> str:
    """A command typed (or scripted) by *user*: ``alice (command line)``."""
    return f"{user or os_user()} (command line)"


def scheduler(user: str | None = None) -> str:
    """A scheduled rotation run under *user*'s account: ``scheduler (alice)``."""
    return f"scheduler ({user or os_user()})"
