"""The records handed to the command line and the window: built from a table row, turned into
JSON with UTC times, and never holding a secret, except the one-time :class:`IssuedSecret`,
whose repr hides it. On a real SQLite file and the in-memory store."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from desktop.domain import tokens
from desktop.domain.table import Names, TokenRow
from desktop.services.tokens import TokenService
from desktop.services.views import (
    AgentView,
    AuditView,
    EnvironmentView,
    IssuedSecret,
    RoleView,
    token_view,
)
from tests.helpers.clock import FakeClock
from tests.helpers.rows import token_row

NAMES = Names(environments={1: "Production"}, agents={2: ("alice", "Reader")})
CREATED = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp())


SCHEDULED = token_row(
    id=7,
    agent_id=2,
    label="nightly import",
    hint="wxyz",
    generation=3,
    rotation="daily",
    rotation_seconds=86_400,
    grace_seconds=3_600,
    next_rotation=CREATED + 86_400,
    last_rotated=CREATED + 60,
    grace_until=CREATED + 3_660,
    created=CREATED,
)


def row(**fields: Any) -> TokenRow:
    """A token rotated daily with an hour's grace, rotated a minute after it was created."""
    return SCHEDULED._replace(**fields)


def test_a_token_view_is_built_from_a_row_and_its_names() -> None:
    view = token_view(row(), NAMES)
    assert (view.id, view.environment, view.agent, view.role) == (
        7,
        "Production",
        "alice",
        "Reader",
    )
    assert (view.label, view.status, view.active) == ("nightly import", "Active", True)
    assert (view.hint, view.generation, view.rotation) == ("wxyz", 3, "daily")
    assert view.rotation_interval == timedelta(days=1)
    assert view.grace == timedelta(hours=1)
    created = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert view.created_at == created
    assert view.next_rotation_at == created + timedelta(days=1)
    assert view.last_rotated_at == created + timedelta(minutes=1)
    assert view.grace_until == created + timedelta(hours=1, minutes=1)
    assert view.masked == "tdk_••••••••wxyz"


def test_a_row_without_a_schedule_has_no_times() -> None:
    view = token_view(
        row(
            active=0,
            rotation=None,
            rotation_seconds=None,
            grace_seconds=0,
            next_rotation=None,
            last_rotated=None,
            grace_until=None,
        ),
        NAMES,
    )
    assert (view.status, view.active) == ("Inactive", False)
    assert view.rotation is None and view.rotation_interval is None
    assert view.grace == timedelta(0)
    assert view.next_rotation_at is view.last_rotated_at is view.grace_until is None


def test_a_row_naming_unknown_ids_still_makes_a_view() -> None:
    view = token_view(row(environment_id=5, agent_id=6), NAMES)
    assert (view.environment, view.agent, view.role) == ("?", "?", "?")


def test_a_token_view_as_json_is_utc_and_carries_no_secret() -> None:
    view = token_view(row(last_error="keyring is locked", holder="alice@laptop"), NAMES)
    assert view.to_json() == {
        "id": 7,
        "environment": "Production",
        "agent": "alice",
        "label": "nightly import",
        "role": "Reader",
        "status": "Active",
        "rotation": "daily",
        "next_rotation_at": "2026-01-06T09:00:00Z",
        "last_rotated_at": "2026-01-05T09:01:00Z",
        "grace_seconds": 3600,
        "grace_until": "2026-01-05T10:01:00Z",
        "hint": "wxyz",
        "masked": "tdk_••••••••wxyz",
        "generation": 3,
        "last_error": "keyring is locked",
        "created_at": "2026-01-05T09:00:00Z",
        "expires_at": None,
        "holder": "alice@laptop",
        "last_used_at": None,
        "use_count": 0,
        "delivery_command": None,
        "delivery_set_by": None,
    }
    json.dumps(view.to_json())  # plain values only
    expiring = token_view(row(expires=int(datetime(2027, 4, 1, tzinfo=UTC).timestamp())), NAMES)
    assert expiring.to_json()["expires_at"] == "2027-04-01T00:00:00Z"
    used = token_view(
        row(last_used=int(datetime(2026, 12, 1, 14, 32, tzinfo=UTC).timestamp())), NAMES
    )
    assert used.to_json()["last_used_at"] == "2026-12-01T14:32:00Z"


def test_views_are_frozen() -> None:
    view = token_view(row(), NAMES)
    with pytest.raises(FrozenInstanceError):
        view.label = "changed"  # type: ignore[misc]
    assert replace(view, label="changed").label == "changed" and view.label == "nightly import"


def test_an_agent_says_why_it_may_not_get_a_token() -> None:
    ready = AgentView(1, "alice", "Reader", True, True, 0)
    assert ready.eligible and ready.ineligible_reason() is None
    newbie = replace(ready, has_logged_in=False, signed_agreement=False)
    assert not newbie.eligible
    assert newbie.ineligible_reason() == (
        "has never logged in and has not signed the usage agreement"
    )
    assert replace(ready, signed_agreement=False).ineligible_reason() == (
        "has not signed the usage agreement"
    )
    assert replace(ready, has_logged_in=False).ineligible_reason() == "has never logged in"
    assert not replace(ready, has_logged_in=False).eligible
    assert replace(ready, disabled=True).ineligible_reason() == "is disabled"
    assert not replace(ready, disabled=True).eligible


def test_directory_records_as_json() -> None:
    assert EnvironmentView(1, "Sandbox", False, 2).to_json() == {
        "name": "Sandbox",
        "api_enabled": False,
        "tokens": 2,
    }
    assert RoleView(1, "Reader", ("GET /Customers", "GET /Loans")).to_json() == {
        "name": "Reader",
        "permissions": ["GET /Customers", "GET /Loans"],
    }
    assert AgentView(3, "newbie", "Reader", False, True, 0).to_json() == {
        "name": "newbie",
        "role": "Reader",
        "has_logged_in": False,
        "signed_agreement": True,
        "disabled": False,
        "eligible": False,
        "tokens": 0,
    }
    at = datetime(2026, 1, 5, 9, 0, 30, 500_000)  # naive, as SQLite hands it back
    assert AuditView(9, at, "cli", "create", None, "label x").to_json() == {
        "at": "2026-01-05T09:00:30Z",
        "actor": "cli",
        "action": "create",
        "token": None,
        "details": "label x",
    }


def test_the_issued_secret_is_hidden_from_repr() -> None:
    secret = tokens.generate()
    issued = IssuedSecret(token_view(row(), NAMES), secret, ("no rotation",))
    assert issued.secret == secret
    assert secret not in repr(issued)
    assert secret not in str(issued)
    assert "no rotation" in repr(issued)


def test_no_record_of_a_real_service_holds_a_secret(
    service: TokenService, clock: FakeClock
) -> None:
    """Every record a caller can get, as JSON and as repr, after a create and a refresh."""
    first = service.create_token("Production", "alice", label="one", rotation="daily")
    clock.advance(timedelta(hours=1))
    second = service.refresh(first.token.id, grace="1h")
    secrets = {first.secret, second.secret, service.reveal(first.token.id)}
    assert secrets == {first.secret, second.secret}
    records: list[object] = [
        *service.environments(),
        *service.roles(),
        *service.agents(),
        *service.tokens(),
        *service.audit(),
        first.token,
        second.token,
    ]
    assert len(records) > 10
    for record in records:
        text = json.dumps(record.to_json(), ensure_ascii=False) + repr(record)  # type: ignore[attr-defined]
        for secret in secrets:
            assert secret not in text
            assert secret[len(tokens.PREFIX) : -tokens.HINT_LENGTH] not in text
    assert first.secret not in repr(first) and second.secret not in repr(second)
