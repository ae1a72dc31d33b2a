"""Whose keyring holds a token's secret, and what follows for everyone else.

A registry shared by a team never holds a secret: each lives in the keyring of the admin whose
desktop issued it, the token's *holder* (``alice@laptop``, named as
:func:`desktop.domain.people.person` names people). Every other admin sees the token and may
change all of it but its secret: copying or revealing is refused with the reason, a refresh
issues a new secret into their own keyring and makes them the holder, and only the holder's
TokenDesk performs the scheduled rotations (anyone else's would put a secret where nobody
expects it). So a rotation falls behind while its holder's desktop is off; once it is overdue
by more than :data:`OVERDUE_AFTER`, every admin is told, and who holds it.
"""

from __future__ import annotations

from datetime import timedelta

# A scheduled rotation later than this is flagged to everyone: a desktop that was off for a
# night has caught up by then, so what is left is a holder who is away (or gone).
OVERDUE_AFTER = timedelta(days=1)
_OVERDUE_SECONDS = int(OVERDUE_AFTER.total_seconds())


def not_held(holder: str) -> str:
    """Why this window may neither copy nor reveal a secret held by *holder*, and what to do."""
    return f"The secret is in {holder}'s keyring; Refresh to get a new one in yours"


def overdue(
    next_rotation: float | None, now: float, *, active: bool, expires: float | None
) -> bool:
    """Whether a scheduled rotation (*next_rotation*, POSIX seconds) is overdue by more than
    :data:`OVERDUE_AFTER` at *now*: only a rotation that would happen, of an active token that
    has not expired, is ever late."""
    if next_rotation is None or not active:
        return False
    if expires is not None and now >= expires:
        return False
    return now - next_rotation > _OVERDUE_SECONDS


def overdue_text(since: str, holder: str) -> str:
    """The flag of an overdue rotation: *since* is when it was due, as the reader shows times."""
    return f"overdue since {since}, held by {holder}"
