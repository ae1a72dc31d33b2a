"""Table rows made by hand, for tests of what reads them (names, views, orders) without a
database: one active token with no schedule, and the fields a test cares about replaced."""

from __future__ import annotations

from typing import Any

from desktop.domain.table import TokenRow

PLAIN = TokenRow(
    id=1,
    environment_id=1,
    agent_id=1,
    label="",
    active=1,
    hint="abcd",
    generation=0,
    rotation=None,
    rotation_seconds=None,
    grace_seconds=0,
    next_rotation=None,
    last_rotated=None,
    grace_until=None,
    last_error=None,
    created=0,
)


def token_row(**fields: Any) -> TokenRow:
    """:data:`PLAIN` with *fields* replaced (an unknown field name fails the test)."""
    return PLAIN._replace(**fields)
