"""Who an audit event names: the operating-system user on their host, and whether it was the
window, the command line or the scheduler."""

from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path

import pytest

from desktop.app import open_context
from desktop.secrets.memory import InMemorySecretStore
from desktop.services import actors


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    """alice, on a machine called laptop.example.org."""
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setattr(socket, "gethostname", lambda: "laptop.example.org")


@pytest.mark.usefixtures("laptop")
def test_each_way_of_working_names_the_user_and_host() -> None:
    assert actors.os_user() == "alice"
    assert actors.host() == "laptop"
    assert actors.window() == "alice@laptop"
    assert actors.command_line() == "alice@laptop (command line)"
    assert actors.scheduler() == "scheduler (alice@laptop)"
    assert actors.scheduler("bob") == "scheduler (bob)"


@pytest.mark.usefixtures("laptop")
def test_the_audit_log_names_user_and_host(
    data_dir: Path, memory_store: InMemorySecretStore, registry: str | None
) -> None:
    """On either engine: a registry shared by a team tells its admins' machines apart."""
    for actor in (None, actors.window()):
        context = open_context(data_dir, store=memory_store, database=registry, actor=actor)
        try:
            context.service.add_environment(f"Made by {actor}", api_enabled=False)
            (event, *_) = context.service.audit()
        finally:
            context.close()
        assert event.actor == (actor or "alice@laptop (command line)")
    assert actors.window() == "alice@laptop"


def test_a_host_without_a_name_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "")
    assert actors.host() == "unknown host"
    monkeypatch.setattr(socket, "gethostname", lambda: "evil\x1b[31m host.example")
    assert actors.host() == "evil[31mhost"


@pytest.mark.parametrize("error", [OSError("no such user"), KeyError("getpwuid(): uid not found")])
def test_a_user_missing_from_the_passwd_database_is_named_by_uid(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """In a container the user may have no passwd entry and no LOGNAME: getuser() raises."""

    def no_user() -> str:
        raise error

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert actors.os_user() == f"uid {os.getuid()}"
    assert actors.command_line() == f"uid {os.getuid()}@{actors.host()} (command line)"


def test_a_user_name_is_printable_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "ali\x1b[31mce\u200b\nx")
    assert actors.os_user() == "ali[31mce x"
    monkeypatch.setenv("LOGNAME", "a" * 500)
    assert actors.os_user() == "a" * actors.MAX_USER
    monkeypatch.setenv("LOGNAME", "\x07\t ")
    assert actors.os_user() == f"uid {os.getuid()}"
