"""The unit of work: a transaction, its audit events and one notification per change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from desktop.domain.errors import NotFound, RuleViolation
from desktop.services.tokens import TokenService
from desktop.storage.models import AuditEvent, Environment


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
    events = AuditEvent.select().count()
    with pytest.raises(RuleViolation):
        service.add_environment("Production")
    with pytest.raises(NotFound):
        service.set_label(999, "x")
    with pytest.raises(RuleViolation):
        service.create_token("Sandbox", "alice")
    assert heard == []
    assert AuditEvent.select().count() == events


def test_an_audit_event_commits_or_vanishes_with_its_transaction(service: TokenService) -> None:
    work = service._context.work
    events = AuditEvent.select().count()

    def doomed() -> None:
        with work.transaction() as audit:
            Environment.create(name="Doomed", created_at=work.now())
            audit("env-add", None, "environment Doomed")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        doomed()
    assert AuditEvent.select().count() == events
    assert Environment.get_or_none(Environment.name == "Doomed") is None
    with work.transaction() as audit:
        audit("note", None, "kept", actor="someone")
    event = AuditEvent.select().order_by(AuditEvent.id.desc()).get()
    assert (event.actor, event.details, event.at) == ("someone", "kept", work.now())


def test_every_commit_passes_the_seam(service: TokenService) -> None:
    commits: list[str] = []
    original = service._write

    @contextmanager
    def counted() -> Iterator[None]:
        with original():
            yield
            commits.append("commit")

    service._write = counted
    issued = service.create_token("Production", "alice")
    assert len(commits) == 2  # the row with its intent; then ready, intent dropped
    service.refresh(issued.token.id)
    assert len(commits) == 5  # the intent; the new generation; the intent dropped
    assert service._context.work.begin is counted
