"""Changes appear in every open window: made by another process (here a real ``tokendesk``
command), they are read as the change log names them, on SQLite by polling and on PostgreSQL
as soon as the server announces the commit, even after the server restarted."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.app import Context, open_context
from desktop.gui.main_window import MainWindow
from desktop.secrets.store import KeyringSecretStore
from tests.gui.conftest import ROOT, make_tokens, model, open_window
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_three_agents
from tests.helpers.postgres import PostgresServer

WAIT_MS = 30_000  # generous: what must happen, never how fast (the benchmark measures that)
HOUR_MS = 3_600_000  # a poll that never comes during a test


@pytest.fixture
def shared(
    data_dir: Path, keyring_store: KeyringSecretStore, clock: FakeClock, registry: str | None
) -> Iterator[Context]:
    """A window's context on the test's registry, with three agents and two tokens."""
    context = open_context(data_dir, store=keyring_store, clock=clock, database=registry)
    seed_three_agents(context.service)
    make_tokens(context.service, 2)
    yield context
    context.close()


def tokendesk(context: Context, registry: str | None, *args: str) -> None:
    """``tokendesk …`` in a process of its own, on the same registry as *context*."""
    where = ["--data-dir", str(context.data_dir)]
    if registry is not None:
        where += ["--database", registry]
    subprocess.run(
        [sys.executable, "-m", "desktop", *where, *args],
        check=True,
        cwd=ROOT,
        timeout=120,
        capture_output=True,
    )


def open_following(qtbot: QtBot, context: Context, poll_interval_ms: int) -> MainWindow:
    window = open_window(
        qtbot,
        context,
        poll_interval_ms=poll_interval_ms,
        listening_poll_interval_ms=HOUR_MS,
    )
    window.sync.start()
    return window


def inactive(window: MainWindow, row: int) -> bool:
    return model(window).token_at(row).status == "Inactive"


def test_a_command_run_elsewhere_appears_in_an_open_window(
    qtbot: QtBot, shared: Context, registry: str | None
) -> None:
    window = open_following(qtbot, shared, poll_interval_ms=200)
    token = model(window).token_at(1).id
    tokendesk(shared, registry, "token", "deactivate", str(token))
    qtbot.waitUntil(lambda: inactive(window, 1), timeout=WAIT_MS)
    assert window.counts_label.text() == "2 tokens, 1 inactive"
    window.close()


@pytest.mark.postgresql_only
def test_on_postgresql_the_server_wakes_the_window_without_polling(
    qtbot: QtBot, shared: Context, registry: str | None
) -> None:
    window = open_following(qtbot, shared, poll_interval_ms=HOUR_MS)
    listener = window.sync.change_listener
    assert listener is not None
    qtbot.waitUntil(lambda: listener.listening, timeout=WAIT_MS)
    token = model(window).token_at(1).id
    tokendesk(shared, registry, "token", "deactivate", str(token))
    qtbot.waitUntil(lambda: inactive(window, 1), timeout=WAIT_MS)
    window.close()
    assert not listener.listening


@pytest.mark.postgresql_only
def test_the_window_listens_again_after_the_server_restarts(
    qtbot: QtBot, shared: Context, registry: str | None, postgres_server: PostgresServer
) -> None:
    window = open_following(qtbot, shared, poll_interval_ms=HOUR_MS)
    listener = window.sync.change_listener
    assert listener is not None
    qtbot.waitUntil(lambda: listener.listening, timeout=WAIT_MS)
    postgres_server.restart()
    # Made while the window may not listen yet: it reads what it missed once it does.
    first, second = (model(window).token_at(row).id for row in (0, 1))
    tokendesk(shared, registry, "token", "deactivate", str(first))
    qtbot.waitUntil(lambda: inactive(window, 0), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: listener.listening, timeout=WAIT_MS)
    tokendesk(shared, registry, "token", "deactivate", str(second))
    qtbot.waitUntil(lambda: inactive(window, 1), timeout=WAIT_MS)
    window.close()


@pytest.mark.sqlite_only
def test_on_sqlite_the_window_polls(qtbot: QtBot, shared: Context) -> None:
    window = open_following(qtbot, shared, poll_interval_ms=200)
    assert window.sync.change_listener is None
    assert window.sync.poll_timer.interval() == 200
    window.close()


@pytest.mark.postgresql_only
def test_polling_slows_down_while_the_server_announces_commits(
    qtbot: QtBot, shared: Context
) -> None:
    window = open_following(qtbot, shared, poll_interval_ms=200)
    listener = window.sync.change_listener
    assert listener is not None
    qtbot.waitUntil(lambda: window.sync.poll_timer.interval() == HOUR_MS, timeout=WAIT_MS)
    assert listener.listening
    window.close()


@pytest.mark.postgresql_only
def test_a_server_away_is_said_once_not_at_every_poll(
    qtbot: QtBot,
    shared: Context,
    registry: str,
    postgres_server: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    window = open_window(qtbot, shared)
    postgres_server.drop(registry.split("/")[3].split("?")[0])  # ends its connections too
    with caplog.at_level(logging.WARNING, logger="desktop.gui.table_sync"):
        for _ in range(3):
            window.sync.poll()
    said = [r.getMessage() for r in caplog.records if r.name == "desktop.gui.table_sync"]
    assert len(said) == 1
    assert said[0].startswith("checking the database for changes failed: ")
    assert registry not in said[0]  # the registry's name, never its URL
    window.close()
