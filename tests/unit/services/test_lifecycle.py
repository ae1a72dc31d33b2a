"""A token's life through the service: create, status, label, schedule, refresh, rotate,
delete and reveal, on a real SQLite file and the in-memory secret store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.domain import tokens
from desktop.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    RuleViolation,
    SecretMismatch,
    SecretStoreUnavailable,
)
from desktop.secrets.memory import InMemorySecretStore
from desktop.services.lifecycle import as_interval
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.models import Intent, Token
from tests.helpers.clock import FakeClock


def snapshot(service: TokenService) -> list[dict[str, object]]:
    return [t.to_json() for t in service.tokens()]


def test_create_stores_only_fingerprint_and_hint(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice", label="  nightly import  ")
    row = Token.select().where(Token.id == issued.token.id).get(handle)
    assert issued.token.label == "nightly import"
    assert row.fingerprint == tokens.fingerprint(issued.secret)
    assert row.hint == issued.secret[-4:]
    assert memory_store.get(secret_key(row.uuid, 0)) == issued.secret
    assert service.reveal(issued.token.id) == issued.secret
    assert issued.secret not in repr(issued)


@pytest.mark.parametrize(
    ("environment", "agent", "label", "error", "message"),
    [
        ("Sandbox", "alice", None, RuleViolation, "API access disabled"),
        ("Production", "newbie", None, RuleViolation, "never logged in"),
        ("Production", "unsigned", None, RuleViolation, "usage agreement"),
        ("Nowhere", "alice", None, NotFound, "unknown environment"),
        ("Production", "nobody", None, NotFound, "unknown agent"),
        ("Production", "alice", "x" * 201, InvalidInput, "too long"),
        ("Production", "alice", "tab\there", InvalidInput, "control characters"),
    ],
)
def test_refused_create_changes_nothing(
    service: TokenService,
    memory_store: InMemorySecretStore,
    environment: str,
    agent: str,
    label: str | None,
    error: type[Exception],
    message: str,
) -> None:
    handle = service.unit_of_work.database.handle
    before = snapshot(service), len(service.audit())
    with pytest.raises(error, match=message):
        service.create_token(environment, agent, label=label)
    assert (snapshot(service), len(service.audit())) == before
    assert Token.select().bind(handle).count() == 0
    assert memory_store.keys() == []


def test_label_of_exactly_200_characters_is_accepted(service: TokenService) -> None:
    assert service.create_token("Production", "alice", label="y" * 200).token.label == "y" * 200


def test_second_token_for_an_agent_warns_why(service: TokenService) -> None:
    assert service.create_token("Production", "alice").warnings == ()
    second = service.create_token("Production", "alice")
    assert len(second.warnings) == 1
    assert "origin of requests" in second.warnings[0]
    assert len(service.tokens()) == 2


def test_a_secret_pasted_as_a_label_or_name_is_refused(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", label="first")
    before = [t.to_json() for t in service.tokens()], len(service.audit())
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        service.set_label(issued.token.id, f"copied {issued.secret} by mistake")
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        service.create_token("Production", "alice", label=tokens.generate())
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        service.add_agent(issued.secret, "Reader")
    assert ([t.to_json() for t in service.tokens()], len(service.audit())) == before


def test_text_that_only_looks_like_a_token_is_a_fine_label(service: TokenService) -> None:
    lookalike = "tdk_" + "A" * 49  # right shape, wrong checksum
    assert not tokens.is_well_formed(lookalike)
    issued = service.create_token("Production", "alice", label=f"see {lookalike}")
    assert issued.token.label == f"see {lookalike}"


def test_status_change_gives_401_and_back(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    assert service.set_status(issued.token.id, False).status == "Inactive"
    decision = service.verify("Production", issued.secret, "GET", "/Loans")
    assert (decision.status, decision.reason) == (401, "token is inactive")
    service.set_status(issued.token.id, True)
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    actions = [event.action for event in service.audit(issued.token.id)]
    assert actions == ["activate", "deactivate", "create"]


def test_a_change_to_what_is_already_so_is_not_audited(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", label="same")
    service.set_status(issued.token.id, True)
    service.set_label(issued.token.id, "same")
    assert [event.action for event in service.audit(issued.token.id)] == ["create"]


def test_refresh_keeps_identity_and_replaces_the_secret(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice", label="ci")
    fresh = service.refresh(issued.token.id)
    assert (fresh.token.id, fresh.token.agent, fresh.token.label) == (
        issued.token.id,
        "alice",
        "ci",
    )
    assert fresh.secret != issued.secret
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert service.verify("Production", fresh.secret, "GET", "/Loans").status == 200
    uuid = Token.select().where(Token.id == issued.token.id).get(handle).uuid
    assert memory_store.get(secret_key(uuid, 0)) is None
    assert memory_store.get(secret_key(uuid, 1)) == fresh.secret
    assert Intent.select().bind(handle).count() == 0


def test_refresh_with_grace_keeps_the_old_secret_for_a_while(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", grace="1h")
    fresh = service.refresh(issued.token.id)  # uses the token's configured grace
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    again = service.refresh(issued.token.id, grace="0")  # an explicit 0 overrides it
    assert service.verify("Production", fresh.secret, "GET", "/Loans").status == 401
    # ... for the secret it replaces: the hour promised to the first one is kept.
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 200
    assert service.verify("Production", again.secret, "GET", "/Loans").status == 200


def test_refresh_of_a_token_being_changed_elsewhere_is_a_conflict(service: TokenService) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    row = Token.select().where(Token.id == issued.token.id).get(handle)
    claim = service.journal.claim(row, "refresh", "refresh", to_generation=1)
    with service.journal.carrying(claim), pytest.raises(Conflict, match="changed elsewhere"):
        service.refresh(issued.token.id)
    assert service.token(issued.token.id).generation == 0


def test_delete_is_permanent_but_audited(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    uuid = Token.select().where(Token.id == issued.token.id).get(handle).uuid
    service.delete(issued.token.id)
    assert service.tokens() == []
    assert memory_store.get(secret_key(uuid, 0)) is None
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert [e.action for e in service.audit(issued.token.id)] == ["delete", "create"]
    with pytest.raises(NotFound):
        service.token(issued.token.id)
    # ids are never reused, so audit events keep pointing at one token
    assert service.create_token("Production", "alice").token.id == issued.token.id + 1


def test_label_and_schedule_changes_are_audited(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    service.set_label(issued.token.id, "renamed")
    view = service.set_rotation(issued.token.id, "2w", grace="1d")
    assert (view.rotation, view.rotation_interval, view.grace) == (
        "2w",
        timedelta(weeks=2),
        timedelta(days=1),
    )
    assert view.next_rotation_at == service.clock.now() + timedelta(weeks=2)
    cleared = service.set_rotation(issued.token.id, None)
    assert cleared.rotation is None and cleared.next_rotation_at is None
    actions = [event.action for event in service.audit(issued.token.id)]
    assert actions == ["schedule", "schedule", "label", "create"]


def test_reveal_checks_the_secret_against_its_fingerprint(
    service: TokenService, memory_store: InMemorySecretStore
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    key = secret_key(Token.select().where(Token.id == issued.token.id).get(handle).uuid, 0)
    memory_store.put(key, tokens.generate())
    with pytest.raises(SecretMismatch, match="different secret"):
        service.reveal(issued.token.id)
    memory_store.delete(key)
    with pytest.raises(SecretMismatch, match="missing from the keyring"):
        service.reveal(issued.token.id)


def test_without_a_store_secrets_are_out_of_reach_but_reads_work(service: TokenService) -> None:
    issued = service.create_token("Production", "alice")
    service.set_store(None)
    for action in (
        lambda: service.reveal(issued.token.id),
        lambda: service.refresh(issued.token.id),
        lambda: service.delete(issued.token.id),
        lambda: service.create_token("Production", "alice"),
    ):
        with pytest.raises(SecretStoreUnavailable, match="keyring"):
            action()
    assert [t.id for t in service.tokens()] == [issued.token.id]


def test_due_tokens_rotate_once_and_the_schedule_moves_on(
    service: TokenService, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", rotation="1d")
    other = service.create_token("Production", "alice", rotation="2d")
    assert service.due_token_ids() == []
    assert service.next_due_at() == clock.now() + timedelta(days=1)
    assert service.next_due_at("Sandbox") is None
    clock.advance(timedelta(days=1, hours=1))
    assert service.due_token_ids() == [issued.token.id]
    report = service.rotate_due()
    assert report.rotated == (issued.token.id,) and not report.failed
    view = service.token(issued.token.id)
    assert view.generation == 1
    assert view.next_rotation_at == clock.now() + timedelta(days=1)
    assert service.rotate_if_due(issued.token.id) is None  # no longer due
    assert service.token(other.token.id).generation == 0


def test_a_failed_rotation_is_recorded_on_the_token(
    service: TokenService, memory_store: InMemorySecretStore, clock: FakeClock
) -> None:
    issued = service.create_token("Production", "alice", rotation="1d")
    clock.advance(timedelta(days=2))
    memory_store.available = False
    report = service.rotate_due()
    assert [token_id for token_id, _ in report.failed] == [issued.token.id]
    assert service.token(issued.token.id).last_error is not None
    assert service.audit(issued.token.id)[0].action == "rotate-failed"


@pytest.mark.parametrize(
    ("value", "grace", "expected"),
    [
        (None, False, (None, None)),
        (" 30D ", False, (timedelta(days=30), "30d")),
        (timedelta(hours=2), False, (timedelta(hours=2), "2h")),
        (timedelta(days=14), False, (timedelta(days=14), "2w")),
        (timedelta(0), True, (timedelta(0), "0")),
    ],
)
def test_intervals_come_as_text_or_timedelta(
    value: timedelta | str | None, grace: bool, expected: tuple[object, object]
) -> None:
    assert as_interval(value, grace=grace) == expected


@pytest.mark.parametrize("value", [timedelta(0), timedelta(hours=-1), timedelta(minutes=30)])
def test_intervals_must_be_positive_whole_hours(value: timedelta) -> None:
    with pytest.raises(InvalidInput, match="interval must be"):
        as_interval(value)
