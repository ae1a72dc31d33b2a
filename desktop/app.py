"""The composition root: database, secret store and services for one data dir, the main window
with what runs beside it (keyring session, rotation runner, table reader, clipboard), and the
window's run from start to close (demo data included)."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.domain.clock import Clock
from desktop.domain.errors import SecretStoreUnavailable, TokenDeskError
from desktop.paths import APP_NAME
from desktop.secrets.store import SecretStore, open_secret_store
from desktop.services import actors
from desktop.services.tokens import TokenService
from desktop.services.views import ReconcileReport
from desktop.storage.database import DB_FILENAME, Database, narrowed_message, open_registry

if TYPE_CHECKING:
    from types import FrameType

    from PySide6.QtCore import QCoreApplication
    from typing_extensions import Unpack

    from desktop.gui.main_window import MainWindow, WindowOptions
    from desktop.services.keyring_session import Opener

log = logging.getLogger(__name__)

# What a terminal, a session manager or a service manager sends to stop a program; the window
# then closes as if its close button was used, so the demo's clean-up runs too.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)


@dataclass
class Context:
    """Everything one process needs to work on one data dir."""

    data_dir: Path
    database: Database
    service: TokenService
    keyring_problem: str | None  # why the keyring cannot be used, or None
    recovery: ReconcileReport
    keyring_tried: bool = True  # False: opened without trying the keyring (the window does)

    @property
    def registry_name(self) -> str:
        """Which registry is open, for people: ``PostgreSQL alice@db:5432/tokens``, or the
        SQLite file's path."""
        return self.database.registry_name

    def close(self) -> None:
        self.database.close()


def open_context(
    data_dir: Path,
    *,
    actor: str | None = None,
    store: SecretStore | None = None,
    clock: Clock | None = None,
    need_keyring: bool = True,
    database: str | None = None,
) -> Context:
    """Open the database (migrating it), pick the keyring and finish any interrupted change.

    *database* is a PostgreSQL URL (``postgresql://user@host:port/dbname``: a registry shared
    by a team); None, the default, is the SQLite file in *data_dir*.

    A keyring that cannot be reached is recorded in ``keyring_problem``, never raised:
    read-only commands and the window still work, and nothing is deleted or regenerated while it
    is missing. ``need_keyring=False`` does not try the keyring at all (the window reaches it
    after its first paint); *store* is used as it is given. Audit events name *actor*, by
    default the operating-system user at the command line (``alice@laptop (command line)``).
    """
    registry = open_registry(database if database is not None else data_dir / DB_FILENAME)
    problem = None
    if store is None and need_keyring:
        try:
            store = open_secret_store()
        except SecretStoreUnavailable as error:
            problem = str(error)
    service = TokenService(registry, store, clock=clock, actor=actor or actors.command_line())
    recovery = service.reconcile()
    tried = store is not None or need_keyring
    if recovery.problem and problem is None and tried:
        problem = recovery.problem
    return Context(
        data_dir, registry, service, problem, recovery, store is not None or need_keyring
    )


def build_main_window(
    data_dir: Path | str, *, environment: str | None = None, database: str | None = None
) -> MainWindow:
    """The fully wired, not yet shown main window for *data_dir* (a QApplication must exist),
    showing *environment* (a name, ``ALL_ENVIRONMENTS``, or None for the first) if it exists;
    its registry on *database* (a PostgreSQL URL) when given, as :func:`open_context` takes it."""
    # The keyring is opened once the window has painted: reaching it takes a D-Bus round trip
    # and importing keyring, and nothing on the first screen needs a secret.
    context = open_context(
        Path(data_dir), actor=actors.window(), need_keyring=False, database=database
    )
    return main_window_for(context, environment=environment)


def main_window_for(
    context: Context,
    *,
    opener: Opener | None = None,
    check_interval_ms: int | None = None,
    clear_after_ms: int | None = None,
    **options: Unpack[WindowOptions],
) -> MainWindow:
    """The main window on an open *context*, with the parts that run beside it built here and
    handed in: the keyring session (reaching the store through *opener*, the system keyring by
    default), the rotation runner (checking every *check_interval_ms*), the table's reader
    thread and the clipboard (cleared after *clear_after_ms*). *options* go to the window
    (``environment``, ``autostart``, ``poll_interval_ms``, ``reveal_ms``,
    ``read_in_background_above``). The window reads *context*; its owner closes it."""
    from desktop.gui.clipboard import CLEAR_AFTER_MS, SecretClipboard
    from desktop.gui.main_window import MainWindow
    from desktop.gui.table_reader import TableReader
    from desktop.services.keyring_session import KeyringSession
    from desktop.services.runner import DEFAULT_CHECK_INTERVAL_MS, RotationRunner

    service = context.service
    runner = RotationRunner(service, check_interval_ms or DEFAULT_CHECK_INTERVAL_MS)
    session = KeyringSession(
        service,
        runner,
        problem=context.keyring_problem,
        tried=context.keyring_tried,
        opener=opener,
    )
    window = MainWindow(
        context,
        keyring=session,
        runner=runner,
        reader=TableReader(service),
        clipboard=SecretClipboard(None, clear_after_ms or CLEAR_AFTER_MS),
        **options,
    )
    # The first screen is read without Peewee; it loads as soon as that screen is painted,
    # so that the first action does not wait for it.
    window.sync.firstPainted.connect(context.database.load_models)
    if context.database.narrowed:  # said in the log too, which a window's user seldom reads
        window.notices.status(narrowed_message(context.database.narrowed).capitalize())
    return window


def _seed_demo(data_dir: Path) -> str | None:
    """Fill a fresh data dir with the demo data; the reason when the keyring is unusable."""
    from desktop.demo import seed

    context = open_context(data_dir, actor=actors.window())
    try:
        if context.keyring_problem is not None:
            return context.keyring_problem
        seed(context.service, context.database)
        return None
    finally:
        context.close()


def _remove_demo(context: Context, data_dir: Path) -> None:
    """Take the demo's secrets out of the keyring again, then its data dir."""
    service = context.service
    if service.store is None:  # the window may close before it reached the keyring
        try:
            service.set_store(open_secret_store())
        except TokenDeskError as error:
            log.warning("the demo's secrets stay in the keyring: %s", error)
    if service.store is not None:
        for token in service.tokens():
            try:
                service.delete(token.id)
            except TokenDeskError as error:
                log.warning("demo token %s left behind: %s", token.id, error)
    context.close()
    shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _quit_on_stop_signals(app: QCoreApplication) -> Iterator[list[int]]:
    """While the block runs, SIGTERM, SIGINT and SIGHUP quit *app*'s event loop rather than
    the process, so that what follows the loop (the window's shutdown, the demo's clean-up)
    runs. Yields the signals received, in order; one that came before the loop started is
    there too, and the loop quits as soon as it starts.

    Python runs a signal handler only when the interpreter next gets control, and inside
    ``exec()`` it has none until a slot runs: the C handler writes to a socket
    (:func:`signal.set_wakeup_fd`) that a :class:`~PySide6.QtCore.QSocketNotifier` watches, and
    its slot gives the interpreter that control. A signal during the clean-up is recorded and
    does not stop it.
    """
    from PySide6.QtCore import QSocketNotifier

    received: list[int] = []
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        app.quit()  # does nothing before exec(): the notifier's slot quits once it runs

    def wake() -> None:
        with suppress(OSError):  # drained by another wake already
            reader.recv(64)
        if received:
            app.quit()

    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(wake)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = {number: signal.signal(number, record) for number in STOP_SIGNALS}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        notifier.deleteLater()
        reader.close()
        writer.close()


def run_window(data_dir: Path, demo: bool, database: str | None = None) -> int:
    """Open the main window on *data_dir* (or on fresh demo data), its registry on *database*
    (a PostgreSQL URL) when given, and run until it closes, or
    until SIGTERM, SIGINT or SIGHUP asks it to (its status is then 128 + the signal's number,
    as a shell reports a process a signal ended); the demo's data goes either way."""
    from desktop.gui.launch import application

    app = application()
    with _quit_on_stop_signals(app) as received:
        code = _run_window(app, data_dir, demo, received, database)
    if received:
        log.info("stopped by signal %d", received[0])
        return 128 + received[0]
    return code


def _run_window(
    app: QCoreApplication,
    data_dir: Path,
    demo: bool,
    received: list[int],
    database: str | None = None,
) -> int:
    from PySide6.QtCore import QSettings

    from desktop.gui import messages
    from desktop.gui.error_dialog import ExceptionHook

    if demo:
        data_dir = Path(tempfile.mkdtemp(prefix="tokendesk-demo-"))
        try:
            problem = _seed_demo(data_dir)
        except TokenDeskError as error:
            problem = str(error)
        if problem is not None:
            shutil.rmtree(data_dir, ignore_errors=True)
            messages.error(
                None,
                "TokenDesk Demo",
                "The demo needs the system keyring, which is unavailable.",
                problem,
            )
            return 1
    settings = None if demo else QSettings(APP_NAME, APP_NAME)
    remembered = settings.value("window/environment") if settings is not None else None
    context: Context | None = None
    try:
        context = open_context(
            data_dir,
            actor=actors.window(),
            need_keyring=False,
            database=None if demo else database,  # the demo's data is its own
        )
        window = main_window_for(
            context, environment=remembered if isinstance(remembered, str) else None
        )
    except TokenDeskError as error:
        if context is not None:
            context.close()
        messages.error(None, "TokenDesk", "TokenDesk cannot open its data.", str(error))
        if demo:
            shutil.rmtree(data_dir, ignore_errors=True)
        return 1
    if settings is None:
        window.set_title_note("demo data")
    else:
        window.use_settings(settings)
    window.show()
    if demo:
        log.info("demo window open on %s", data_dir)
    hook = ExceptionHook.install()  # an exception in a slot is logged and shown, not lost
    code = 0 if received else app.exec()  # a stop signal while seeding: straight to clean-up
    hook.uninstall()
    window.shutdown()
    if demo:
        _remove_demo(context, data_dir)
    else:
        context.close()
    return int(code)
