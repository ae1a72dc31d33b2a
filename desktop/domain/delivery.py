"""Delivering a rotated secret: the rules, apart from running anything.

A token may name a delivery command, which its holder's TokenDesk runs after every refresh and
scheduled rotation with the new secret on standard input, as certbot runs its deploy hooks
(:mod:`desktop.services.delivery` runs it). The rules here decide what may run, when a failed
delivery is tried again, and what of a command's output may be written down:

* Only the person who set the command runs it, and only while they hold the token. A registry
  shared by a team on PostgreSQL lets anyone store a command; were it run on whichever desktop
  holds the token, one admin could make another's desktop hand them her secret. A refresh by
  another admin moves the token to them (:mod:`desktop.domain.holders`): the command stays
  stored, but it is not run with their secret until they set it again themselves.
* A failure is tried again after 1, 5 and 15 minutes, then every 30, while the replaced secret
  still works: the grace period is what keeps clients working meanwhile. Once it ends, clients
  fail anyway, and the failure is left to a person.
* A command's output may echo the secret: only its exit status and at most a short last line of
  its standard error are kept, with the secret (and anything shaped like one) masked.
"""

from __future__ import annotations

import signal
from datetime import timedelta

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput

MAX_COMMAND = 1000  # a shell command line, not a script: a script goes in a file it names
MAX_TAIL = 120  # the most of a failed command's last line of standard error that is kept
MASK = "•••"
# After the first failure, then the second, the third; every later one waits RETRY_EVERY.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
RETRY_EVERY = timedelta(minutes=30)
TIMEOUT_SECONDS = 60.0  # then the command's whole process group is killed


def clean_command(text: str | None) -> str | None:
    """A delivery command as stored: trimmed, one line, at most :data:`MAX_COMMAND`
    characters, never holding a secret; None (no delivery) for None or blank text."""
    if text is None or not text.strip():
        return None
    command = text.strip()
    if len(command) > MAX_COMMAND:
        raise InvalidInput(
            f"delivery command is too long: {len(command)} characters, at most {MAX_COMMAND} "
            "(put a longer one in a script and name the script)"
        )
    if any(not ch.isprintable() for ch in command):
        raise InvalidInput("delivery command must be one line, without control characters")
    if tokens.appears_in(command):
        raise InvalidInput(
            "delivery command must not contain a token secret: it reads the new secret on "
            "standard input"
        )
    return command


def refusal(set_by: str | None, holder: str) -> str | None:
    """Why a delivery command must not run with *holder*'s secret, or None when it may: it was
    set by someone else (or by nobody known), whose command would then read her secret."""
    if set_by is not None and set_by == holder:
        return None
    who = set_by or "someone unknown"
    return (
        f"delivery command set by {who}, not by the holder {holder}: not run; set it again "
        f"from {holder}"
    )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the *attempts*-th failed attempt (1 for the first)."""
    if attempts < 1:
        return timedelta(0)
    return RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else RETRY_EVERY


def redact(text: str, secret: str) -> str:
    """*text* with every occurrence of *secret*, and of anything shaped like a secret, masked."""
    if secret:
        text = text.replace(secret, MASK)
    return tokens.EMBEDDED.sub(MASK, text) if tokens.PREFIX in text else text


def last_line(output: bytes, secret: str) -> str:
    """The last line of a command's standard error that says anything, masked (see
    :func:`redact`), shown as itself and at most :data:`MAX_TAIL` characters; "" for none."""
    text = redact(output.decode("utf-8", "replace"), secret)
    for line in reversed(text.splitlines()):
        shown = "".join(ch for ch in line if ch.isprintable()).strip()
        if shown:
            return shown if len(shown) <= MAX_TAIL else shown[: MAX_TAIL - 1].rstrip() + "…"
    return ""


def exit_text(returncode: int | None, *, timed_out: bool = False, timeout: float = 0.0) -> str:
    """How a command ended, for the audit log: ``exit status 0``, ``killed by SIGTERM``, or
    that it ran out of time and was killed."""
    if timed_out:
        return f"timed out after {timeout:g} s and was killed"
    if returncode is None:
        return "did not finish"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit status {returncode}"
