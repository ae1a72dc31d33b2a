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

import getpass
import os
import socket

MAX_USER = 64  # a user name longer than this is cut: it is a label in the audit log
MAX_HOST = 64  # and so is a host name (a DNS label is at most 63 characters)


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


def host() -> str:
    """This machine's name as people call it: the host name up to its first dot
    (``laptop``, not ``laptop.example.org``), shown as itself; ``unknown host`` when the
    system gives none."""
    try:
        name = socket.gethostname()
    except OSError:
        name = ""
    name = "".join(ch for ch in name.split(".")[0] if ch.isprintable() and not ch.isspace())
    return name[:MAX_HOST] or "unknown host"


def person() -> str:
    """The operating-system user on this machine: ``alice@laptop``."""
    return f"{os_user()}@{host()}"


def window(user: str | None = None) -> str:
    """The window's actions: the person alone (``alice@laptop``), or *user* as given."""
    return user or person()


def command_line(user: str | None = None) -> str:
    """A command typed (or scripted) by *user*: ``alice@laptop (command line)``."""
    return f"{user or person()} (command line)"


def scheduler(user: str | None = None) -> str:
    """A scheduled rotation run under *user*'s account: ``scheduler (alice@laptop)``."""
    return f"scheduler ({user or person()})"
