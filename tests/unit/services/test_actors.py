"""Who an audit event names: the operating-system user, and whether it was the window, the
command line or the scheduler."""

from __future__ import annotations

import getpass
import os

import pytest

from desktop.services import actors


def test_each_way_of_working_names_the_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    assert actors.os_user() == "alice"
    assert actors.window() == "alice"
    assert actors.command_line() == "alice (command line)"
    assert actors.scheduler() == "scheduler (alice)"
    assert actors.scheduler("bob") == "scheduler (bob)"


@pytest.mark.parametrize("error", [OSError("no such user"), KeyError("getpwuid(): uid not found")])
def test_a_user_missing_from_the_passwd_database_is_named_by_uid(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """In a container the user may have no passwd entry and no LOGNAME: getuser() raises."""

    def no_user() -> str:
        raise error

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert actors.os_user() == f"uid {os.getuid()}"
    assert actors.command_line() == f"uid {os.getuid()} (command line)"


def test_a_user_name_is_printable_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "ali\x1b[31mce\u200b\nx")
    assert actors.os_user() == "ali[31mce x"
    monkeypatch.setenv("LOGNAME", "a" * 500)
    assert actors.os_user() == "a" * actors.MAX_USER
    monkeypatch.setenv("LOGNAME", "\x07\t ")
    assert actors.os_user() == f"uid {os.getuid()}"
