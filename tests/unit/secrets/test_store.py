"""The keyring-backed store's own rules, on stand-in backends: which keyring is trusted, what a
person is told when it cannot be used, and how every backend failure is turned into one error.
No keyring is reached here (the contract shared with the real one is in test_store_contract)."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import keyring.errors
import pytest

from desktop.domain.errors import SecretStoreUnavailable
from desktop.secrets import store as secret_store
from desktop.secrets.secret_service import CollectionLocked, KeyringDidNotAnswer, NoAnswer
from desktop.secrets.store import (
    CANARY_KEY,
    SERVICE,
    KeyringSecretStore,
    open_secret_store,
    remedy,
    select_backend,
)

if TYPE_CHECKING:
    import keyring.backend

FAKES = "tests_unit_fake_keyring_backends"


class StandInBackend:
    """Entries in a dict; every call recorded. Not a ``KeyringBackend`` subclass: those
    register themselves with keyring, and the store needs only these three calls."""

    priority = 5.0

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get", service, username))
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", service, username))
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", service, username))
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("No such password!")


class FailingBackend(StandInBackend):
    """Every call fails with *error*, as a backend does when its keyring cannot be reached."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


def on(backend: StandInBackend) -> KeyringSecretStore:
    return KeyringSecretStore(cast("keyring.backend.KeyringBackend", backend))


# ------------------------------------------------------------------ which backend is trusted


class _CannotWorkHere(type):
    """keyring's backends raise from ``priority`` when they cannot work on this machine."""

    @property
    def priority(cls) -> float:
        raise RuntimeError("Unable to initialize SecretService: no D-Bus\nTraceback detail")


class Broken(metaclass=_CannotWorkHere):
    pass


class Unusable:
    priority = 0


class Usable(StandInBackend):
    pass


class AlsoUsable(StandInBackend):
    pass


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A module of stand-in backends, importable by name as the allowlist imports them."""
    module = types.ModuleType(FAKES)
    for cls in (Broken, Unusable, Usable, AlsoUsable):
        setattr(module, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, FAKES, module)
    return module


def allow(monkeypatch: pytest.MonkeyPatch, *names: str, module: str = FAKES) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(secret_store, "_ALLOWED", {"linux": [(module, n) for n in names]})


def test_the_trusted_backends_are_named_ones_never_a_chainer_file_or_fail_backend() -> None:
    assert secret_store._ALLOWED == {
        "linux": [
            ("desktop.secrets.secret_service", "SecretService"),
            ("keyring.backends.kwallet", "DBusKeyring"),
        ],
        "darwin": [("keyring.backends.macOS", "Keyring")],
        "win32": [("keyring.backends.Windows", "WinVaultKeyring")],
    }


@pytest.mark.usefixtures("fakes")
def test_the_first_allowed_backend_that_can_work_here_is_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allow(monkeypatch, "Broken", "Unusable", "Usable", "AlsoUsable")
    chosen: object = select_backend()
    assert type(chosen) is Usable


@pytest.mark.usefixtures("fakes")
def test_without_a_usable_backend_each_refusal_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    allow(monkeypatch, "Broken", "Unusable", "Missing")
    secret_store._ALLOWED["linux"].append(("tests_unit_no_such_module", "Keyring"))
    with pytest.raises(SecretStoreUnavailable) as raised:
        select_backend()
    message = str(raised.value)
    assert message.startswith("no usable system keyring (")
    assert f"{FAKES}.Broken: Unable to initialize SecretService: no D-Bus;" in message
    assert "Traceback detail" not in message  # one line per refusal
    assert f"{FAKES}.Unusable: not usable here;" in message
    assert f"{FAKES}.Missing: " in message  # the class is not in the module
    assert "tests_unit_no_such_module.Keyring: No module named 'tests_unit_no_such_module'" in (
        message
    )
    assert message.endswith(f"; {remedy()}.")


def test_on_a_platform_without_a_supported_keyring_nothing_is_tried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "platform", "plan9")
    with pytest.raises(SecretStoreUnavailable, match="no supported keyring on platform plan9"):
        select_backend()


# ------------------------------------------------------------------ what a person is told


@pytest.mark.parametrize(
    ("platform", "says"),
    [
        ("linux", ["GNOME Keyring or KWallet", "DBUS_SESSION_BUS_ADDRESS"]),
        ("darwin", ["unlock your login Keychain"]),
        ("win32", ["Windows Credential Manager"]),
        ("freebsd14", ["start and unlock your system keyring"]),
    ],
)
def test_the_remedy_fits_the_platform(
    monkeypatch: pytest.MonkeyPatch, platform: str, says: list[str]
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    text = remedy()
    for words in says:
        assert words in text
    assert text.endswith("then try again")


# ------------------------------------------------------------------ failures become one error

CALLS: dict[str, tuple[str, Callable[[KeyringSecretStore], object]]] = {
    "get": ("read a secret", lambda store: store.get("a-key")),
    "put": ("store a secret", lambda store: store.put("a-key", "tdk_never-in-a-message")),
    "delete": ("delete a secret", lambda store: store.delete("a-key")),
    "check": ("read a secret", lambda store: store.check()),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_backend_failure_becomes_unavailable_with_what_why_and_the_remedy(call: str) -> None:
    what, act = CALLS[call]
    store = on(FailingBackend(RuntimeError("the bus said no\nand a second line")))
    with pytest.raises(SecretStoreUnavailable) as raised:
        act(store)
    assert str(raised.value) == (
        f"cannot {what}: the system keyring ({store.backend_name}) is unavailable "
        f"(RuntimeError: the bus said no); {remedy()}. Nothing was changed."
    )
    # The backend's own exception is not chained: its traceback holds the call's arguments.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_a_locked_keyring_is_called_locked() -> None:
    store = on(FailingBackend(keyring.errors.KeyringLocked("Failed to unlock the collection!")))
    with pytest.raises(SecretStoreUnavailable, match=r"\(KeyringLocked: the keyring is locked\)"):
        store.get("a-key")


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_keyring_that_did_not_answer_is_said_so_and_nothing_was_changed(call: str) -> None:
    what, act = CALLS[call]
    store = on(FailingBackend(NoAnswer(2.5)))
    with pytest.raises(KeyringDidNotAnswer) as raised:
        act(store)
    assert isinstance(raised.value, SecretStoreUnavailable)  # the callers' "wait and retry"
    assert str(raised.value).startswith(
        f"cannot {what}: the keyring did not answer within 2.5 s; nothing was changed. "
    )
    assert store.backend_name in str(raised.value)
    assert "tdk_" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_collection_left_locked_is_called_locked() -> None:
    store = on(FailingBackend(CollectionLocked("the keyring is locked and was not unlocked")))
    with pytest.raises(
        SecretStoreUnavailable, match=r"\(CollectionLocked: the keyring is locked\)"
    ):
        store.put("a-key", "secret")


def test_a_child_forked_while_a_call_was_in_progress_can_still_call() -> None:
    """A fork copies a lock held by another thread as held, for ever: the child gets a new one."""
    import os
    import signal

    entered, release = threading.Event(), threading.Event()

    class Slow(StandInBackend):
        def get_password(self, service: str, username: str) -> str | None:
            entered.set()
            release.wait(10)
            return super().get_password(service, username)

    store = on(Slow())
    busy = threading.Thread(target=store.get, args=("held",))
    busy.start()
    try:
        assert entered.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: the call must not wait for the parent's thread
            status = 1
            try:
                signal.alarm(20)  # a child stuck on the lock dies instead of hanging the test
                release.set()  # only this process's copy: the parent's thread is not here
                on(StandInBackend()).put("in-the-child", "x")
                status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        busy.join(10)


def test_a_failure_without_a_message_is_named_by_its_kind() -> None:
    store = on(FailingBackend(OSError()))
    with pytest.raises(SecretStoreUnavailable, match=r"\(OSError: OSError\)"):
        store.put("a-key", "secret")


def test_a_keyring_error_without_a_message_still_explains_itself() -> None:
    store = on(FailingBackend(RuntimeError("\n")))  # only blank text: named by its kind, too
    with pytest.raises(SecretStoreUnavailable, match=r"RuntimeError: RuntimeError\)"):
        store.get("anything")


def test_deleting_what_the_backend_does_not_hold_is_no_error() -> None:
    backend = StandInBackend()
    on(backend).delete("never-stored")
    assert backend.calls == [("delete", SERVICE, "never-stored")]


def test_entries_live_under_the_tokendesk_service() -> None:
    backend = StandInBackend()
    store = on(backend)
    store.put("a-key", "a secret")
    assert backend.entries == {("TokenDesk", "a-key"): "a secret"}
    assert store.get("a-key") == "a secret"


def test_the_backend_name_and_repr_name_the_backend_class_never_a_secret() -> None:
    store = on(StandInBackend())
    store.put("a-key", "tdk_the-secret")
    assert store.backend_name == f"{__name__}.StandInBackend"
    assert repr(store) == f"KeyringSecretStore({store.backend_name!r}, service='TokenDesk')"


def test_check_only_reads_the_canary() -> None:
    backend = StandInBackend()
    on(backend).check()
    assert backend.calls == [("get", SERVICE, CANARY_KEY)]


def test_round_trip_writes_reads_and_removes_the_canary() -> None:
    backend = StandInBackend()
    on(backend).round_trip()
    assert [(call, key) for call, _, key in backend.calls] == [
        ("set", CANARY_KEY),
        ("get", CANARY_KEY),
        ("delete", CANARY_KEY),
    ]
    assert backend.entries == {}


def test_round_trip_reports_a_keyring_that_returns_something_else_and_still_cleans_up() -> None:
    class Forgetful(StandInBackend):
        def get_password(self, service: str, username: str) -> str | None:
            super().get_password(service, username)
            return None

    backend = Forgetful()
    with pytest.raises(SecretStoreUnavailable, match="did not return what was stored"):
        on(backend).round_trip()
    assert backend.entries == {}


@pytest.mark.parametrize(("check", "calls"), [(True, [("get", SERVICE, CANARY_KEY)]), (False, [])])
def test_opening_probes_the_chosen_backend_read_only_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, check: bool, calls: list[tuple[str, str, str]]
) -> None:
    backend = StandInBackend()
    monkeypatch.setattr(secret_store, "select_backend", lambda: backend)
    store = open_secret_store(check=check)
    assert store.backend_name == f"{__name__}.StandInBackend"
    assert backend.calls == calls


def test_keyring_calls_take_turns_across_threads() -> None:
    """gnome-keyring can crash when two calls from one process overlap; the store never lets
    them (the assertion counts overlaps, it does not time anything)."""

    class Overlaps(StandInBackend):
        def __init__(self) -> None:
            super().__init__()
            self.inside = 0
            self.most_inside = 0
            self._count = threading.Lock()

        def get_password(self, service: str, username: str) -> str | None:
            with self._count:
                self.inside += 1
                self.most_inside = max(self.most_inside, self.inside)
            time.sleep(0.001)  # widen the window an overlap would need
            with self._count:
                self.inside -= 1
            return None

    backend = Overlaps()
    store = on(backend)
    threads = [
        threading.Thread(target=lambda: [store.get("a-key") for _ in range(20)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.most_inside == 1
