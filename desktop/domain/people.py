"""Who this desktop is: the operating-system user on this machine, ``alice@laptop``.

The audit log names people so (see :mod:`desktop.services.actors`), and a token names so the
person whose keyring holds its secret (see :mod:`desktop.domain.holders`). It lives here, below
every layer, because the storage's upgrade step names the holder of the tokens that were all
made on this machine before holders were recorded.
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
