"""Which tokens nobody uses: the one rule the window and the command line apply.

A forward-auth server (``tokendesk serve``) records when each token was last presented to it.
An active token that no request has presented for :data:`UNUSED_DAYS` days is *unused*: a
secret that still opens the API while nothing needs it, and so a candidate for deactivation. A
token never presented counts from its creation, so a token made yesterday is not unused yet.
Inactive tokens are never unused: they open nothing already.
"""

from __future__ import annotations

UNUSED_DAYS = 90  # the window's offer and ``token list --unused`` without a number
DAY_SECONDS = 86_400


def unused_cutoff(now: float, days: int = UNUSED_DAYS) -> int:
    """The moment (whole POSIX seconds) before which a last use, or a creation never followed
    by a use, makes an active token unused at *now*."""
    return int(now) - days * DAY_SECONDS


def is_unused(active: bool | int, last_used: float | None, created: float, cutoff: float) -> bool:
    """Whether a token is unused at *cutoff* (see :func:`unused_cutoff`): active, and neither
    used nor created since."""
    return bool(active) and (created if last_used is None else last_used) < cutoff
