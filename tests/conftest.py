"""Shared fixtures. The suite meets the real things: a SQLite file on disk or a private
PostgreSQL server (both, for the tests whose folder asks for both engines), the real Secret
Service through ``keyring`` (a private, unlocked gnome-keyring started for the run) and real Qt
widgets on the offscreen platform."""

from __future__ import annotations

import os

# Before anything imports Qt: without a display, Qt aborts the whole run.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# A registry named by the developer's environment is theirs: the tests choose their own.
os.environ.pop("TOKENDESK_DATABASE", None)  # desktop.paths.ENV_DATABASE

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale

from desktop.app import Context, open_context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.paths import ENV_DATABASE
from desktop.secrets.memory import InMemorySecretStore
from desktop.secrets.store import KeyringSecretStore, open_secret_store
from desktop.services import display
from tests.helpers import keyring_session, logfail, postgres
from tests.helpers.clock import FakeClock

# Set by .ci/run for the unit tests: asking for the real keyring then fails the test.
NO_KEYRING = "TOKENDESK_TEST_NO_KEYRING"

_session: keyring_session.KeyringSession | None = None
_session_error: str | None = None
_session_tried = False


def _start_private_keyring() -> None:
    """Start the run's private D-Bus session and unlocked gnome-keyring, once, when the first
    test that needs them runs: the unit tests never start them."""
    global _session, _session_error, _session_tried
    if os.environ.get(NO_KEYRING):
        pytest.fail(
            f"{NO_KEYRING} is set: this run proves its tests need no keyring, and this test "
            "asked for one (a unit test must use the in-memory store)"
        )
    if _session_tried:
        return
    _session_tried = True
    if os.environ.get("TOKENDESK_TEST_KEYRING") == "system":
        return  # the developer asked to test against the keyring already running
    if not keyring_session.tools_available():
        _session_error = "dbus-daemon or gnome-keyring-daemon not installed"
        return
    try:
        _session = keyring_session.start()
    except RuntimeError as error:
        _session_error = str(error)


def pytest_configure(config: pytest.Config) -> None:
    # A logged error or a Qt warning fails the test that caused it (tests/helpers/logfail.py).
    config.pluginmanager.register(logfail.LogFail(), "tokendesk-logfail")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session is not None:
        _session.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return "keyring: a private gnome-keyring, started for the first test that needs one"


def _keyring_missing(reason: str) -> None:
    message = f"the keyring tests need a Secret Service: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (in CI they never skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def private_keyring() -> str | None:
    """The private Secret Service's bus address (exported as DBUS_SESSION_BUS_ADDRESS for this
    process and its children), or None when the tests use the running keyring."""
    _start_private_keyring()
    return _session.address if _session is not None else None


@pytest.fixture(scope="session")
def keyring_store(private_keyring: str | None) -> KeyringSecretStore:
    """The real keyring backend (Secret Service on Linux), checked once per run."""
    try:
        return open_secret_store()
    except SecretStoreUnavailable as error:
        _keyring_missing(f"{error} ({_session_error or 'no session error'})")
        raise


@pytest.fixture(autouse=True)
def _c_locale() -> Iterator[None]:
    """Times read the same whatever the machine's LANG: the C locale's (ISO 8601). A test of
    another locale sets its own (tests/helpers/locales.py)."""
    QLocale.setDefault(QLocale.c())
    display.reset_local_times()
    yield
    QLocale.setDefault(QLocale.c())
    display.reset_local_times()


@pytest.fixture
def expect_log(pytestconfig: pytest.Config) -> logfail.Expect:
    """Declare, from inside a test, a logged error or Qt warning it provokes on purpose."""
    plugin = pytestconfig.pluginmanager.get_plugin("tokendesk-logfail")
    assert isinstance(plugin, logfail.LogFail)
    return plugin.expect


@pytest.fixture
def data_dir(tmp_path: Path, registry: str | None) -> Path:
    """The test's data dir. Its registry is the SQLite file in it, or, where the test runs on
    PostgreSQL, the database ``$TOKENDESK_DATABASE`` names (see ``registry``)."""
    path = tmp_path / "data"
    path.mkdir(mode=0o700)  # as TokenDesk makes one: a wider one is narrowed, with a warning
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """The run's private PostgreSQL 15 server, started by the first test that needs it. It is
    part of what the suite tests: a machine without it fails those tests (never skips them)
    unless the run opts out with TOKENDESK_TEST_NO_POSTGRES=1."""
    if os.environ.get(postgres.OPT_OUT):
        pytest.skip(f"{postgres.OPT_OUT} is set: the PostgreSQL tests do not run")
    try:
        server = postgres.start()
    except postgres.PostgresMissing as missing:
        reason = str(missing)
    else:
        yield server
        server.stop()
        return
    pytest.fail(
        f"the PostgreSQL tests need a private PostgreSQL 15 server: {reason}; install it "
        f"(.ci/setup --dev) or set {postgres.OPT_OUT}=1 to leave them out"
    )
    server.stop()


@pytest.fixture
def engine() -> str:
    """The database engine a test's registry is on: SQLite, unless the test's folder asks for
    both (see ``parametrize_engines`` in tests/helpers/postgres.py)."""
    return "sqlite"


@pytest.fixture
def registry(
    engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str | None]:
    """Where the test's registry is, as ``open_context(database=…)`` takes it: None for the
    SQLite file in the data dir, or the URL of a fresh PostgreSQL database at the current
    schema (dropped after the test). A PostgreSQL registry is also named by
    ``$TOKENDESK_DATABASE`` meanwhile, as a user's environment names it, so every process the
    test starts (the command line, the crash driver) opens it, and so does
    :func:`desktop.paths.database_url` in the test itself."""
    if engine == "sqlite":
        yield None
        return
    server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
    name = server.new_database()
    url = server.url(name)
    monkeypatch.setenv(ENV_DATABASE, url)
    yield url
    server.drop(name)


@pytest.fixture
def new_registry(engine: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], str | None]]:
    """For a test that needs several fresh registries (one per data dir it seeds): each call
    makes one, None for the SQLite file of whichever data dir it is opened with, or the URL of
    a new PostgreSQL database (each dropped after the test)."""
    if engine == "sqlite":
        yield lambda: None
        return
    server: postgres.PostgresServer = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make() -> str:
        made.append(server.new_database())
        return server.url(made[-1])

    yield make
    for name in made:
        server.drop(name)


@pytest.fixture
def context(
    data_dir: Path, keyring_store: KeyringSecretStore, clock: FakeClock, registry: str | None
) -> Iterator[Context]:
    """A service on a fresh registry (an SQLite file, or a PostgreSQL database where the test
    runs on both engines) and the real keyring, with a fake clock."""
    ctx = open_context(data_dir, store=keyring_store, clock=clock, database=registry)
    yield ctx
    ctx.close()


@pytest.fixture
def memory_store() -> InMemorySecretStore:
    """A fresh in-memory secret store: for unit tests, which never reach a keyring."""
    return InMemorySecretStore()


@pytest.fixture
def memory_context(
    data_dir: Path, memory_store: InMemorySecretStore, clock: FakeClock, registry: str | None
) -> Iterator[Context]:
    """A service on a fresh registry (an SQLite file, or a PostgreSQL database where the test
    runs on both engines) and an in-memory secret store, with a fake clock."""
    ctx = open_context(data_dir, store=memory_store, clock=clock, database=registry)
    yield ctx
    ctx.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "keyring_store" in fixtures or "context" in fixtures:
            item.add_marker(pytest.mark.keyring)
        if "qtbot" in fixtures:
            item.add_marker(pytest.mark.gui)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("engine") == "postgresql":
            item.add_marker(pytest.mark.postgresql)
