"""The follower thread: an SQLite registry that is deleted or replaced counts as unreachable (an
open connection would go on reading the unlinked file, so the follower compares the path's
device and inode with the file it opened; a file put back heals, a new file there is read
afresh), and a fault of its own never stops it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from desktop.app import Context
from desktop.server.app import AuthApplication
from desktop.services.tokens import TokenService
from desktop.storage import queries
from desktop.storage.database import DB_FILENAME
from tests.unit.server.conftest import auth, call


@pytest.mark.sqlite_only
@pytest.mark.expect_log("registry unreachable for", level="WARNING")
def test_a_deleted_file_is_unreachable_and_heals_when_put_back(
    application: AuthApplication, service: TokenService, memory_context: Context
) -> None:
    issued = service.create_token("Production", "alice")
    follower = application.follower
    assert follower.catch_up()
    registry = memory_context.data_dir / DB_FILENAME
    aside = registry.with_name("moved-away")
    registry.rename(aside)
    try:
        assert not follower.catch_up()
        assert auth(application, "Production", issued.secret).status == 200  # within the bound
        follower.confirmed_at -= 31
        assert not follower.catch_up()
        assert auth(application, "Production", issued.secret).status == 503
        assert call(application, "/healthz").status == 503
        assert not registry.exists()  # waited for, never made anew
    finally:
        aside.rename(registry)
    assert follower.catch_up()
    assert auth(application, "Production", issued.secret).reason == (200, "allowed")


@pytest.mark.sqlite_only
def test_a_replaced_file_is_read_afresh(
    application: AuthApplication, service: TokenService, memory_context: Context, tmp_path: Path
) -> None:
    """A backup restored over the registry: the decisions become the backup's."""
    issued = service.create_token("Production", "alice")
    registry = memory_context.data_dir / DB_FILENAME
    backup = tmp_path / "backup"
    memory_context.database.execute("PRAGMA wal_checkpoint(FULL)")
    shutil.copy(registry, backup)
    follower = application.follower
    assert follower.catch_up()
    service.set_status(issued.token.id, False)
    assert follower.catch_up()
    assert auth(application, "Production", issued.secret).status == 401
    # As a restore goes: the writers are done and their WAL is in the file.
    memory_context.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(backup, registry.with_name("restored"))
    registry.with_name("restored").replace(registry)  # a new inode at the path
    assert follower.catch_up()
    assert auth(application, "Production", issued.secret).reason == (200, "allowed")


@pytest.mark.expect_log("the access index could not be kept current", level="ERROR")
def test_an_unexpected_error_is_logged_and_following_goes_on(
    application: AuthApplication, service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault in the follower's own code (not the registry's) is logged, and the thread goes
    on: were it to die, the worker would answer 503 until restarted, and say nothing of why."""
    follower = application.follower
    real = follower.catch_up
    faults = [RuntimeError("a fault of the follower's own")]

    def catch_up_once_faulty() -> bool:
        if faults:
            raise faults.pop()
        return real()

    monkeypatch.setattr(follower, "catch_up", catch_up_once_faulty)
    issued = service.create_token("Production", "alice")
    application.start()
    deadline = time.monotonic() + 10
    while auth(application, "Production", issued.secret).status != 200:
        assert time.monotonic() < deadline, "the token created never reached the index"
        time.sleep(0.05)
    assert not faults


@pytest.mark.expect_log("cannot read the registry", level="INFO")
def test_an_update_that_fails_half_way_leaves_the_index_it_had(
    application: AuthApplication, service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory read, then the tokens' rows fail (a failover between two statements): the
    index and cursor stay the ones before, whole, and the next look brings both up to date."""
    issued = service.create_token("Production", "alice")
    follower = application.follower
    assert follower.catch_up()
    before, cursor = follower.index, follower.cursor
    service.set_status(issued.token.id, False)
    service.update_agent("alice", signed_agreement=False)

    def failover(*args: object, **kwargs: object) -> list[object]:
        raise ConnectionError("the server closed the connection")

    with monkeypatch.context() as patch:
        patch.setattr(queries, "grant_rows", failover)
        assert not follower.catch_up()
    assert (follower.index, follower.cursor) == (before, cursor)
    assert auth(application, "Production", issued.secret).reason == (200, "allowed")
    assert follower.catch_up()
    assert auth(application, "Production", issued.secret).reason == (
        401,
        "agent 'alice' has not signed the usage agreement",
    )
