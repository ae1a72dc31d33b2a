"""When the keyring is missing or locked: say so, keep reading, change nothing, and wait.

Three situations, all real: a process with no D-Bus session at all (``DBUS_SESSION_BUS_ADDRESS``
removed), a gnome-keyring whose collection is locked (in a private session of its own, so the rest
of the suite keeps its unlocked one; locking needs no prompt, and unlocking goes through
gnome-keyring's own master-password call), and a keyring that comes back. A change journaled
before the keyring went away must stay journaled -- neither rolled back nor forward -- until it
returns, and then be finished.

Run as ``python -m tests.integration.test_keyring_unavailable store|service DATA_DIR``, this module
is also the child process that meets the missing keyring; it prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.app import open_context
from desktop.domain import tokens
from desktop.domain.errors import SecretStoreUnavailable, TokenDeskError
from desktop.paths import database_url
from desktop.secrets.store import CANARY_KEY, KeyringSecretStore, open_secret_store
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.database import Database
from desktop.storage.models import AuditEvent, Intent, PreviousSecret, Token
from tests.helpers import keyring_session

ROOT = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 60  # a guard against a keyring call that waits for a prompt nobody answers
MASTER_PASSWORD = "unlock"  # what keyring_session.start() unlocks the login collection with
CRASH_STATUS = 137


# ---------------------------------------------------------------------- the child process


def snapshot(database: Database) -> dict[str, Any]:
    """Everything a change could touch in the database."""
    handle = database.handle
    rows = Token.select().bind(handle).order_by(Token.id)
    return {
        "tokens": [[t.id, t.phase, t.status, t.generation, t.fingerprint, t.label] for t in rows],
        "previous": [
            [p.token_id, p.fingerprint, str(p.valid_until)]
            for p in PreviousSecret.select().bind(handle).order_by(PreviousSecret.id)
        ],
        "intents": [[i.token_id, i.kind] for i in Intent.select().bind(handle).order_by(Intent.id)],
        "audit": AuditEvent.select().bind(handle).count(),
    }


def attempt(call: Callable[[], object]) -> str:
    try:
        call()
    except TokenDeskError as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


def child_service(data_dir: Path, secrets: list[str]) -> dict[str, Any]:
    context = open_context(
        data_dir, database=database_url()
    )  # needs the keyring: a missing one is recorded, not raised
    service = context.service
    recovery = context.recovery
    ready = [t.id for t in service.tokens()]
    before = snapshot(context.database)
    attempts = {
        "create": attempt(lambda: service.create_token("Prod", "bot")),
        "refresh": attempt(lambda: service.refresh(ready[0])),
        "delete": attempt(lambda: service.delete(ready[0])),
        "reveal": attempt(lambda: service.reveal(ready[0])),
    }
    index = service.access_index()
    result = {
        "problem": context.keyring_problem,
        "store": repr(service.store),
        "recovery": [
            list(recovery.rolled_forward),
            list(recovery.rolled_back),
            list(recovery.waiting),
            recovery.problem,
        ],
        "tokens": ready,
        "attempts": attempts,
        "before": before,
        "after": snapshot(context.database),
        "verify": [service.verify("Prod", s, "GET", "/Loans").status for s in secrets],
        "index": [index.verify("Prod", s, "GET", "/Loans").status for s in secrets],
    }
    context.close()
    return result


def child_main(argv: list[str]) -> int:
    command = argv[0]
    if command == "store":
        try:
            open_secret_store()
        except SecretStoreUnavailable as error:
            print(json.dumps({"error": str(error)}))
        else:
            print(json.dumps({"error": None}))
        return 0
    secrets = sys.stdin.read().split()
    print(json.dumps(child_service(Path(argv[1]), secrets)))
    return 0


# ---------------------------------------------------------------------- helpers


def run_child(command: str, data_dir: Path | None, env: dict[str, str], stdin: str = "") -> Any:
    argv = [sys.executable, "-m", "tests.integration.test_keyring_unavailable", command]
    if data_dir is not None:
        argv.append(str(data_dir))
    result = subprocess.run(
        argv,
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def without_dbus() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    return env


def seed(data_dir: Path, store: KeyringSecretStore) -> list[tuple[int, str]]:
    """Two tokens (id, secret) in environment Prod for agent bot."""
    context = open_context(data_dir, store=store, database=database_url())
    try:
        service = context.service
        service.add_environment("Prod", api_enabled=True)
        service.add_role("Reader", ["GET /Loans"])
        service.add_agent("bot", "Reader", has_logged_in=True, signed_agreement=True)
        made = [service.create_token("Prod", "bot", label=f"t{n}") for n in range(2)]
        return [(issued.token.id, issued.secret) for issued in made]
    finally:
        context.close()


def crash(data_dir: Path, op: str, token_id: int, kind: str, nth: int) -> None:
    """Run the crash driver until just after the nth event of that kind, where it dies."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.helpers.crash_driver",
            str(data_dir),
            op,
            "--token",
            str(token_id),
            "--at",
            f"{kind}:{nth}",
            "--when",
            "after",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == CRASH_STATUS, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].split()[2] == kind


def assert_consistent(database: Database, store: KeyringSecretStore) -> None:
    """No journal; each token's current generation is in the keyring and matches."""
    handle = database.handle
    assert Intent.select().bind(handle).count() == 0
    for row in Token.select().bind(handle):
        current = store.get(secret_key(row.uuid, row.generation))
        assert current is not None and tokens.fingerprint(current) == row.fingerprint
        for other in range(row.generation + 2):
            if other != row.generation:
                assert store.get(secret_key(row.uuid, other)) is None


@pytest.fixture
def own_keyring(keyring_store: KeyringSecretStore) -> Iterator[KeyringSecretStore]:
    """A private Secret Service for this test alone (its address is exported meanwhile)."""
    if not keyring_session.tools_available():
        pytest.skip("dbus-daemon or gnome-keyring-daemon not installed")
    session = keyring_session.start(MASTER_PASSWORD)
    try:
        yield open_secret_store()
    finally:
        session.stop()


def default_collection() -> Any:
    import secretstorage

    return secretstorage.get_default_collection(secretstorage.dbus_init())


def unlock_with_master_password() -> None:
    """gnome-keyring's own unlock call: no prompt (the Secret Service API would need one)."""
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    path, name = "/org/freedesktop/secrets", "org.freedesktop.secrets"
    service = DBusAddress(path, bus_name=name, interface="org.freedesktop.Secret.Service")
    internal = DBusAddress(
        path, bus_name=name, interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"
    )
    with open_dbus_connection("SESSION") as connection:
        session = connection.send_and_get_reply(
            new_method_call(service, "OpenSession", "sv", ("plain", ("s", "")))
        ).body[1]
        secret = (session, b"", MASTER_PASSWORD.encode(), "text/plain")
        login = f"{path}/collection/login"
        connection.send_and_get_reply(
            new_method_call(internal, "UnlockWithMasterPassword", "o(oayays)", (login, secret))
        )


def all_items() -> list[tuple[str, dict[str, str]]]:
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        return [
            (item.item_path, item.get_attributes())
            for collection in secretstorage.get_all_collections(connection)
            for item in collection.get_all_items()
        ]
    finally:
        connection.close()


# ---------------------------------------------------------------------- tests


def assert_actionable(message: str) -> None:
    assert "keyring" in message
    assert "try again" in message
    assert "unlock" in message


def test_without_a_dbus_session_the_store_says_what_to_do() -> None:
    result = run_child("store", None, without_dbus())
    message = result["error"]
    assert message is not None, "a keyring was found without a D-Bus session"
    assert_actionable(message)
    assert "DBUS_SESSION_BUS_ADDRESS" in message  # names what is missing
    assert "SecretService" in message  # and which keyring was tried


# (operation, event kind the driver dies after, which one of that kind, rolls forward?)
PENDING = [
    ("refresh", "keyring.put", 0, False),  # written, never committed: undone
    ("refresh", "db.commit", 0, False),
    ("delete", "db.commit", 0, True),
]


@pytest.mark.slow
@pytest.mark.parametrize(("op", "kind", "nth", "forward"), PENDING)
def test_without_keyring_the_service_reads_changes_nothing_and_waits(
    data_dir: Path,
    keyring_store: KeyringSecretStore,
    op: str,
    kind: str,
    nth: int,
    forward: bool,
) -> None:
    (first, first_secret), (pending, pending_secret) = seed(data_dir, keyring_store)
    crash(data_dir, op, pending, kind, nth)  # a change interrupted before the keyring went away
    result = run_child("service", data_dir, without_dbus(), f"{first_secret}\n{pending_secret}\n")
    # Opening recorded the problem instead of raising, and recovery waited.
    assert_actionable(result["problem"])
    assert result["store"] == "None"
    assert result["recovery"][:3] == [[], [], [pending]]
    assert result["recovery"][3] is not None
    # Every change refused with the keyring's message; nothing in the database moved.
    for name, outcome in result["attempts"].items():
        assert outcome.startswith("SecretStoreUnavailable: "), (name, outcome)
        assert "keyring" in outcome
    assert result["after"] == result["before"]
    assert result["before"]["intents"] == [[pending, "delete" if op == "delete" else "refresh"]]
    # Reading still works: the list (a token being deleted is already hidden) and decisions.
    assert result["tokens"] == ([first] if op == "delete" else [first, pending])
    assert result["verify"] == result["index"] == [200, 401 if op == "delete" else 200]
    # The keyring is back: the waiting change is finished (or undone), exactly once.
    context = open_context(data_dir, store=keyring_store, database=database_url())
    try:
        recovery = context.recovery
        assert (recovery.rolled_forward, recovery.rolled_back) == (
            ((pending,), ()) if forward else ((), (pending,))
        )
        assert recovery.waiting == () and recovery.problem is None
        assert_consistent(context.database, keyring_store)
        row = Token.select().where(Token.id == pending).get_or_none(context.database.handle)
        if op == "delete":
            assert row is None
        else:
            assert row is not None and row.generation == (1 if forward else 0)
            service = context.service
            assert service.verify("Prod", pending_secret, "GET", "/Loans").status == (
                401 if forward else 200  # no grace configured: the old secret ends at once
            )
            assert len(service.audit(pending)) == (2 if forward else 1)
    finally:
        context.close()


@pytest.mark.slow
def test_locked_keyring_is_reported_and_nothing_changes_until_unlocked(
    data_dir: Path, own_keyring: KeyringSecretStore
) -> None:
    (first, first_secret), (pending, _) = seed(data_dir, own_keyring)
    crash(data_dir, "refresh", pending, "keyring.put", 0)  # interrupted, new secret written
    collection = default_collection()
    collection.lock()
    assert collection.is_locked()
    try:
        # A process starting now cannot use the keyring: it says so and keeps reading.
        result = run_child("service", data_dir, dict(os.environ), f"{first_secret}\n")
        assert "locked" in result["problem"]
        assert_actionable(result["problem"])
        assert result["recovery"][:3] == [[], [], [pending]]
        for name, outcome in result["attempts"].items():
            assert outcome.startswith("SecretStoreUnavailable: "), (name, outcome)
        assert result["after"] == result["before"]
        assert result["verify"] == [200]
        # A running app holds the store when the keyring gets locked under it.
        context = open_context(data_dir, store=own_keyring, database=database_url())
        try:
            assert context.recovery.waiting == (pending,)
            assert "locked" in (context.recovery.problem or "")
            service = context.service
            before = snapshot(context.database)
            for call in (
                lambda: service.create_token("Prod", "bot"),
                lambda: service.refresh(first),
                lambda: service.delete(first),
                lambda: service.reveal(first),
            ):
                with pytest.raises(SecretStoreUnavailable, match="locked"):
                    call()
                assert snapshot(context.database) == before
            assert service.reconcile().waiting == (pending,)
            assert snapshot(context.database) == before
            unlock_with_master_password()
            assert not collection.is_locked()
            report = service.reconcile()
            # Written but never committed: undone, the old secret stays the token's.
            assert report.rolled_back == (pending,) and report.problem is None
            assert_consistent(context.database, own_keyring)
            issued = service.refresh(first)  # and changes work again at once
            assert service.reveal(first) == issued.secret
        finally:
            context.close()
    finally:
        if collection.is_locked():
            unlock_with_master_password()
        collection.connection.close()


def test_keyring_check_at_start_leaves_no_entries(
    data_dir: Path, own_keyring: KeyringSecretStore
) -> None:
    before = all_items()
    store = open_secret_store()  # probes with the fixed canary key, read-only
    store.check()
    context = open_context(data_dir, database=database_url())  # picks and checks the keyring itself
    try:
        assert context.keyring_problem is None
        assert isinstance(context.service.store, KeyringSecretStore)
    finally:
        context.close()
    assert all_items() == before
    store.round_trip()  # the self-test writes the canary and removes it again
    assert all_items() == before
    assert not [attrs for _, attrs in all_items() if attrs.get("username") == CANARY_KEY]


def test_service_with_store_none_refuses_changes_with_the_remedy(
    data_dir: Path, keyring_store: KeyringSecretStore
) -> None:
    """A window opened without a keyring: the same refusals, in-process."""
    (first, secret), _ = seed(data_dir, keyring_store)
    context = open_context(data_dir, store=None, need_keyring=False, database=database_url())
    try:
        service = TokenService(context.database, None)
        before = snapshot(context.database)
        for call in (
            lambda: service.create_token("Prod", "bot"),
            lambda: service.refresh(first),
            lambda: service.delete(first),
            lambda: service.reveal(first),
        ):
            with pytest.raises(SecretStoreUnavailable) as error:
                call()
            assert_actionable(str(error.value))
        assert snapshot(context.database) == before
        assert service.verify("Prod", secret, "GET", "/Loans").status == 200
        assert [t.id for t in service.tokens()] == [first, first + 1]
    finally:
        context.close()


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
