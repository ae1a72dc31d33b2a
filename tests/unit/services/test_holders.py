"""A secret stays in the keyring of the admin who issued it, its holder: everyone else may not
copy or reveal it, may refresh it into their own keyring (and so hold it), and never rotates
it on schedule; a rotation its holder's desktop has left undone for a day is flagged to all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop.domain.errors import RuleViolation
from desktop.services.tokens import TokenService
from tests.helpers.admins import ALICE, BOB
from tests.helpers.clock import FakeClock


def test_the_one_who_creates_a_token_holds_it(service: TokenService, alice: TokenService) -> None:
    assert service.person  # this machine's user, as the audit log names them
    mine = service.create_token("Production", "alice").token
    hers = alice.create_token("Production", "alice").token
    assert (mine.holder, hers.holder) == (service.person, ALICE)
    assert service.token(hers.id).to_json()["holder"] == ALICE
    assert [t.holder for t in service.tokens()] == [service.person, ALICE]
    _, _, rows = service.token_table()  # the window's table, read in bulk and by id
    assert [row.holder for row in rows] == [service.person, ALICE]
    assert [row.holder for row in service.token_rows([hers.id])] == [ALICE]


def test_no_one_else_may_reveal_the_secret_and_their_keyring_is_not_asked(
    alice: TokenService, bob: TokenService
) -> None:
    issued = alice.create_token("Production", "alice")
    bob.set_store(None)  # the reason comes first: no keyring would have it anyway
    with pytest.raises(RuleViolation) as refused:
        bob.reveal(issued.token.id)
    assert str(refused.value) == (
        f"the secret of token {issued.token.id} is in alice@laptop's keyring; refresh the "
        "token to get a new one in yours"
    )
    assert issued.secret not in str(refused.value)
    assert alice.reveal(issued.token.id) == issued.secret


def test_a_refresh_by_another_admin_makes_them_the_holder(
    alice: TokenService, bob: TokenService
) -> None:
    issued = alice.create_token("Production", "alice", rotation="1d")
    assert bob.set_label(issued.token.id, "nightly").holder == ALICE  # no secret: no change
    fresh = bob.refresh(issued.token.id)
    assert fresh.token.holder == BOB
    assert bob.reveal(issued.token.id) == fresh.secret
    with pytest.raises(RuleViolation, match="in bob@desktop's keyring"):
        alice.reveal(issued.token.id)
    event = bob.audit(issued.token.id)[0]
    assert (event.actor, event.action) == (BOB, "refresh")
    assert event.details.endswith("; holder changed from alice@laptop to bob@desktop")
    assert fresh.secret not in event.details and issued.secret not in event.details
    again = bob.refresh(issued.token.id)  # the holder's own refresh changes no holder
    assert "holder" not in bob.audit(issued.token.id)[0].details
    assert again.token.holder == BOB


def test_only_the_holders_scheduler_rotates_a_token(
    alice: TokenService, bob: TokenService, clock: FakeClock
) -> None:
    hers = alice.create_token("Production", "alice", rotation="1d").token
    his = bob.create_token("Production", "alice", rotation="1d").token
    clock.advance(timedelta(days=1, minutes=1))
    assert bob.due_token_ids() == [his.id]
    report = bob.rotate_due(actor="scheduler (bob@desktop)")
    assert (report.rotated, report.failed, report.skipped) == ((his.id,), (), ())
    assert bob.rotate_if_due(hers.id) is None  # asked by id: still not his to rotate
    assert alice.token(hers.id).generation == 0
    assert not [e for e in alice.audit(hers.id) if e.action == "rotate-failed"]
    assert alice.rotate_due().rotated == (hers.id,)
    rotated = alice.token(hers.id)
    assert (rotated.generation, rotated.holder) == (1, ALICE)  # a rotation keeps its holder
    assert "holder" not in alice.audit(hers.id)[0].details


def test_a_token_refreshed_elsewhere_leaves_its_old_holders_schedule(
    alice: TokenService, bob: TokenService, clock: FakeClock
) -> None:
    token = alice.create_token("Production", "alice", rotation="1d").token
    bob.refresh(token.id)
    clock.advance(timedelta(days=2))
    assert alice.due_token_ids() == []
    assert alice.rotate_due().rotated == ()
    assert bob.rotate_due().rotated == (token.id,)


def test_a_rotation_late_by_more_than_a_day_is_overdue_for_everyone(
    alice: TokenService, bob: TokenService, clock: FakeClock
) -> None:
    token = alice.create_token("Production", "alice", rotation="1d").token
    clock.advance(timedelta(days=2))  # due a day ago: alice's desktop may just have woken up
    assert not bob.token(token.id).rotation_overdue(clock.now())
    clock.advance(timedelta(seconds=1))
    assert bob.token(token.id).rotation_overdue(clock.now())
    assert alice.token(token.id).rotation_overdue(clock.now())
    alice.set_status(token.id, False)  # an inactive token is not rotated: nothing is late
    assert not alice.token(token.id).rotation_overdue(clock.now())
    alice.set_status(token.id, True)
    alice.rotate_due()
    assert not bob.token(token.id).rotation_overdue(clock.now())
