"""No secret ever reaches the database, its journal files, a backup, the log, a repr or an error.

A realistic workload runs with every logger at DEBUG (peewee then logs each SQL statement with its
parameters) into a file; afterwards every file in the data dir and the log are searched, as raw
bytes, for every secret issued: the whole secret, its base62 body without the prefix, and any
16-character piece of that body, in UTF-8 and UTF-16.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import keyring.backends.fail
import pytest

from desktop.app import Context, open_context
from desktop.domain import tokens
from desktop.domain.errors import (
    SecretMismatch,
    SecretStoreUnavailable,
    TokenDeskError,
)
from desktop.paths import database_url
from desktop.secrets.store import KeyringSecretStore, SecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.models import Token
from tests.helpers.clock import FakeClock
from tests.helpers.stores import DelegatingStore

PIECE = 16  # no run of this many characters of a secret's body may appear anywhere


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Everything every logger says, at DEBUG, into one file."""
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous)


class MangledReadBack(DelegatingStore):
    """The real keyring, except that reading back one key returns another secret."""

    def __init__(self, inner: SecretStore, key: str) -> None:
        super().__init__(inner)
        self._key = key

    def get(self, key: str) -> str | None:
        value = self.inner.get(key)
        return tokens.generate() if key == self._key and value is not None else value


def needles(secret: str) -> list[bytes]:
    body = secret[len(tokens.PREFIX) : len(tokens.PREFIX) + tokens.BODY_LENGTH]
    texts = [secret, body] + [body[i : i + PIECE] for i in range(len(body) - PIECE + 1)]
    return [text.encode(encoding) for text in texts for encoding in ("utf-8", "utf-16-le")]


def assert_nowhere(paths: list[Path], secrets: set[str]) -> None:
    for path in paths:
        data = path.read_bytes()
        for secret in secrets:
            for needle in needles(secret):
                assert needle not in data, f"part of a secret found in {path.name}"


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def workload(context: Context, clock: FakeClock, store: KeyringSecretStore) -> set[str]:
    """Create, refresh, rotate, reveal, verify, label, delete; return every secret seen."""
    handle = context.database.handle
    service = context.service
    service.add_environment("Prod", api_enabled=True)
    service.add_environment("Stage", api_enabled=True)
    service.add_role("Reader", ["GET /Loans", "GET /Customers"])
    service.add_role("Writer", ["* /Loans", "POST /Payments"])
    service.add_agent("ada", "Reader", has_logged_in=True, signed_agreement=True)
    service.add_agent("bob", "Writer", has_logged_in=True, signed_agreement=True)
    seen: set[str] = set()
    issued = [
        service.create_token("Prod", "ada", label="dashboard", rotation="1d", grace="2h"),
        service.create_token("Prod", "bob", label="payments", rotation="12h"),
        service.create_token("Stage", "ada", label="qa", grace="1h"),
        service.create_token("Stage", "bob", label="to delete"),
    ]
    seen.update(i.secret for i in issued)
    ids = [i.token.id for i in issued]
    seen.add(service.refresh(ids[2]).secret)  # with the configured grace
    seen.add(service.refresh(ids[3], grace="0").secret)
    clock.advance(timedelta(days=1, hours=1))
    assert set(service.rotate_due().rotated) == {ids[0], ids[1]}
    for token_id in ids:
        seen.add(service.reveal(token_id))
    service.set_label(ids[1], "payments (nightly)")
    service.set_status(ids[2], False)
    index = service.access_index()
    for secret in sorted(seen):
        for env in ("Prod", "Stage"):
            for method, path in (("GET", "/Loans(1)"), ("POST", "/Payments"), ("PUT", "/X")):
                assert index.verify(env, secret, method, path) == service.verify(
                    env, secret, method, path
                )
    # A typo'd and an unknown token are refused without a trace of the real ones.
    typo = issued[0].secret[:-1] + ("A" if issued[0].secret[-1] != "A" else "B")
    assert service.verify("Prod", typo, "GET", "/Loans").status == 401
    deleted_uuid = Token.select().where(Token.id == ids[3]).get(handle).uuid
    service.delete(ids[3])
    assert all(store.get(secret_key(deleted_uuid, gen)) is None for gen in range(3))
    return seen


@pytest.mark.sqlite_only  # reads the SQLite file, its WAL and backups
def test_no_secret_in_database_files_backups_or_debug_log(
    data_dir: Path, debug_log: Path, keyring_store: KeyringSecretStore
) -> None:
    clock = FakeClock()
    context = open_context(data_dir, store=keyring_store, clock=clock, database=database_url())
    try:
        secrets = workload(context, clock, keyring_store)
        assert len(secrets) == 8
        # While the database is open its latest pages are in the -wal file: search it too.
        open_files = files_under(data_dir)
        assert {p.name for p in open_files} >= {"tokendesk.sqlite3", "tokendesk.sqlite3-wal"}
        assert_nowhere([*open_files, debug_log], secrets)
        # The search can see what is there: fingerprints and SQL are in those same files.
        stored = b"".join(p.read_bytes() for p in open_files)
        for token in context.service.tokens():
            assert (
                Token.select()
                .where(Token.id == token.id)
                .get(context.database.handle)
                .fingerprint.encode()
                in stored
            )
        log_text = debug_log.read_text(encoding="utf-8")
        assert "INSERT INTO" in log_text and "peewee" in log_text
    finally:
        context.close()
    # Closed (WAL checkpointed into the main file) and reopened: still nothing.
    context = open_context(data_dir, store=keyring_store, clock=clock, database=database_url())
    context.close()
    assert_nowhere([*files_under(data_dir), debug_log], secrets)


def test_reprs_and_json_hide_the_secret(context: Context) -> None:
    service = context.service
    service.add_environment("Prod", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("ada", "Reader", has_logged_in=True, signed_agreement=True)
    issued = service.create_token("Prod", "ada", label="x", rotation="1d")
    refreshed = service.refresh(issued.token.id, grace="1h")
    texts = [
        repr(issued),
        str(issued),
        repr(refreshed),
        repr(issued.token),
        repr(refreshed.token),
        str(issued.token.to_json()),
        str(refreshed.token.to_json()),
        repr(service.tokens()),
        repr(service.audit()),
        repr(context),
        repr(service.store),
        repr(service.access_index()),
        repr(service.verify("Prod", refreshed.secret, "GET", "/Loans")),
        repr(service.access_index().verify("Prod", issued.secret, "GET", "/Loans")),
        repr(service.reconcile()),
        repr(service.rotate_due()),
    ]
    for text in texts:
        for secret in (issued.secret, refreshed.secret):
            assert secret not in text
            assert secret[len(tokens.PREFIX) : len(tokens.PREFIX) + PIECE] not in text
    assert issued.token.masked.endswith(issued.token.hint)
    assert refreshed.secret == service.reveal(issued.token.id)


def formatted(error: BaseException) -> str:
    """The message and the whole traceback, as a log would show them."""
    return str(error) + "".join(traceback.format_exception(error))


def test_error_messages_never_carry_a_secret(
    context: Context, keyring_store: KeyringSecretStore, clock: FakeClock
) -> None:
    handle = context.database.handle
    service = context.service
    service.add_environment("Prod", api_enabled=True)
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("ada", "Reader", has_logged_in=True, signed_agreement=True)
    issued = service.create_token("Prod", "ada")
    token_id = issued.token.id
    row = Token.select().where(Token.id == token_id).get(handle)
    errors: list[TokenDeskError] = []
    secrets = {issued.secret}

    # The keyring holds a different secret than the one on record.
    stranger = tokens.generate()
    secrets.add(stranger)
    keyring_store.delete(secret_key(row.uuid, 0))
    keyring_store.put(secret_key(row.uuid, 0), stranger)
    with pytest.raises(SecretMismatch) as mismatch:
        service.reveal(token_id)
    errors.append(mismatch.value)
    keyring_store.delete(secret_key(row.uuid, 0))
    keyring_store.put(secret_key(row.uuid, 0), issued.secret)

    # A new secret that reads back wrong during a refresh.
    mangled = TokenService(
        context.database, MangledReadBack(keyring_store, secret_key(row.uuid, 1)), clock=clock
    )
    with pytest.raises(SecretMismatch) as readback:
        mangled.refresh(token_id)
    errors.append(readback.value)
    assert service.reveal(token_id) == issued.secret

    # No keyring at all (keyring's own "fail" backend), for the store and for the service.
    # keyring ships types but leaves this backend's constructor unannotated.
    failing = KeyringSecretStore(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    with pytest.raises(SecretStoreUnavailable) as unavailable:
        failing.put(secret_key(row.uuid, 9), issued.secret)
    errors.append(unavailable.value)
    keyless = TokenService(context.database, None, clock=clock)
    with pytest.raises(SecretStoreUnavailable) as no_store:
        keyless.refresh(token_id)
    errors.append(no_store.value)
    # The rotation path records a failure's message in the database and the audit trail.
    service.set_rotation(token_id, "1d")
    clock.advance(timedelta(days=2))
    broken = TokenService(context.database, failing, clock=clock)
    report = broken.rotate_due()
    assert [t for t, _ in report.failed] == [token_id]
    recorded = [report.failed[0][1], service.token(token_id).last_error or ""]
    recorded += [event.details for event in service.audit(token_id)]
    for error in errors:
        for secret in secrets:
            assert secret not in formatted(error)
            assert secret[len(tokens.PREFIX) : len(tokens.PREFIX) + PIECE] not in formatted(error)
    for text in recorded:
        for secret in secrets:
            assert secret not in text
