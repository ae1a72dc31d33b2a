"""The unit of work: a transaction, its audit events and one notification per change."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from desktop.domain.errors import NotFound, RuleViolation
from desktop.services.journal import own_host
from desktop.services.tokens import TokenService
from desktop.storage.models import AuditEvent, Environment, Intent


@pytest.fixture
def heard(service: TokenService) -> list[int]:
    calls: list[int] = []
    service.add_listener(lambda: calls.append(1))
    return calls


def test_each_change_is_heard_once_after_it_is_complete(
    service: TokenService, heard: list[int]
) -> None:
    issued = service.create_token("Production", "alice")  # three transactions, one change
    assert len(heard) == 1
    service.refresh(issued.token.id)
    service.set_label(issued.token.id, "x")
    service.delete(issued.token.id)
    assert len(heard) == 4


def test_a_refused_change_is_not_heard_and_leaves_nothing(
    service: TokenService, heard: list[int]
) -> None:
    handle = service.unit_of_work.database.handle
    events = AuditEvent.select().bind(handle).count()
    with pytest.raises(RuleViolation):
        service.add_environment("Production", api_enabled=True)
    with pytest.raises(NotFound):
        service.set_label(999, "x")
    with pytest.raises(RuleViolation):
        service.create_token("Sandbox", "alice")
    assert heard == []
    assert AuditEvent.select().bind(handle).count() == events


def test_an_audit_event_commits_or_vanishes_with_its_transaction(service: TokenService) -> None:
    handle = service.unit_of_work.database.handle
    work = service.unit_of_work
    events = AuditEvent.select().bind(handle).count()

    def doomed() -> None:
        with work.transaction() as audit:
            doomed = Environment.insert(name="Doomed", name_key="doomed", created_at=work.now())
            doomed.bind(handle).execute()
            audit("env-add", None, "environment Doomed")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        doomed()
    assert AuditEvent.select().bind(handle).count() == events
    assert Environment.select().where(Environment.name == "Doomed").get_or_none(handle) is None
    with work.transaction() as audit:
        audit("note", None, "kept", actor="someone")
    event = AuditEvent.select().bind(handle).order_by(AuditEvent.id.desc()).get()
    assert (event.actor, event.details, event.at) == ("someone", "kept", work.now())


def test_every_commit_passes_the_seam(service: TokenService) -> None:
    commits: list[str] = []

    @contextmanager
    def counted() -> Iterator[None]:
        commits.append("before")
        yield
        commits.append("after")

    service.unit_of_work.commit_hook = counted
    issued = service.create_token("Production", "alice")
    assert len(commits) == 2 * 2  # the row with its intent; then ready, intent dropped
    service.refresh(issued.token.id)
    assert len(commits) == 2 * 5  # the intent; the new generation; the intent dropped
    assert commits == ["before", "after"] * 5


@pytest.mark.sqlite_only  # looks from a second sqlite3 connection
def test_the_seam_is_entered_inside_the_transaction_and_left_after_the_commit(
    service: TokenService,
) -> None:
    """Raising in the seam before COMMIT rolls the transaction back; once it is left, what
    the transaction wrote is committed, seen from another connection."""
    path = service.unit_of_work.database.handle.database
    seen: list[list[str]] = []

    @contextmanager
    def refusing() -> Iterator[None]:
        raise RuntimeError("stopped at the commit")
        yield

    service.unit_of_work.commit_hook = refusing
    with pytest.raises(RuntimeError, match="stopped at the commit"):
        service.add_environment("Never", api_enabled=True)

    @contextmanager
    def looking() -> Iterator[None]:
        yield
        with closing(sqlite3.connect(path)) as other:
            seen.append([name for (name,) in other.execute("SELECT name FROM environment")])

    service.unit_of_work.commit_hook = looking
    service.add_environment("Staging", api_enabled=True)
    assert seen == [["Production", "Sandbox", "Staging"]]
    service.unit_of_work.commit_hook = None
    assert [env.name for env in service.environments()] == ["Production", "Sandbox", "Staging"]


def test_a_write_that_changes_nothing_is_not_heard(service: TokenService, heard: list[int]) -> None:
    token_id = service.create_token("Production", "alice").token.id
    service.set_label(token_id, "x")
    service.set_status(token_id, False)
    service.set_api_enabled("Production", True)
    assert len(heard) == 3
    service.set_label(token_id, "x")  # the label it has
    service.set_status(token_id, False)  # the status it has
    service.set_api_enabled("Production", True)
    service.update_agent("alice", has_logged_in=True)
    assert len(heard) == 3


def test_recovery_is_heard_once_when_it_finished_or_undid_something(
    service: TokenService, heard: list[int]
) -> None:
    handle = service.unit_of_work.database.handle
    issued = service.create_token("Production", "alice")
    assert service.reconcile().rolled_back == ()
    assert len(heard) == 1  # recovery with nothing to do is not heard
    # A refresh that died after its intent: recovery undoes it, without an audit event.
    service.unit_of_work.commit_hook = None
    intent_fields = {
        "token": issued.token.id,
        "kind": "refresh",
        "from_generation": 0,
        "to_generation": 1,
        "action": "refresh",
        "actor": "cli",
        "owner_pid": os.getpid(),  # this process, not carrying it out: abandoned
        "owner_host": own_host(),
        "created_at": service.unit_of_work.now(),
    }
    Intent.insert(**intent_fields).bind(handle).execute()
    assert service.reconcile().rolled_back == (issued.token.id,)
    assert len(heard) == 2


def test_a_removed_listener_is_not_called_again(service: TokenService) -> None:
    calls: list[str] = []

    def listener() -> None:
        calls.append("heard")

    service.add_listener(listener)
    service.add_environment("Staging", api_enabled=True)
    service.remove_listener(listener)
    service.remove_listener(listener)  # removing twice is harmless
    service.add_environment("Testing", api_enabled=True)
    assert calls == ["heard"]
