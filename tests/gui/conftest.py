"""Fixtures for the window's tests: seeded data, the main window, answers to its questions.
Each test that opens a registry (through ``data_dir``, ``context`` or ``registry``) runs on both
engines: an SQLite file, then a PostgreSQL database on the private server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QApplication, QTableView, QWidget
from pytestqt.qtbot import QtBot

from desktop.app import Context, main_window_for, open_context
from desktop.domain.errors import SecretStoreUnavailable
from desktop.gui import messages
from desktop.gui.main_window import MainWindow
from desktop.gui.refresh_dialog import GraceChoice
from desktop.gui.token_model import TokenTableModel
from desktop.paths import database_url
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret
from tests.helpers.clock import FakeClock
from tests.helpers.directories import seed_ada_and_wes
from tests.helpers.directories import seed_three_agents as seed
from tests.helpers.notification_server import NotificationServer
from tests.helpers.postgres import parametrize_engines
from tests.helpers.stores import DelegatingStore


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)


@pytest.fixture(autouse=True)
def _real_keyring(private_keyring: str | None) -> None:
    """The window's tests meet the real Secret Service (started once, for the first of them)."""


@pytest.fixture
def seeded(context: Context) -> TokenService:
    return seed(context.service)


def open_window(qtbot: QtBot, context: Context, **options: Any) -> MainWindow:
    """The window with its background timers stopped unless asked for: tests drive them."""
    options.setdefault("autostart", False)
    window = main_window_for(context, **options)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def window(qtbot: QtBot, context: Context, seeded: TokenService) -> Iterator[MainWindow]:
    win = open_window(qtbot, context)
    yield win
    win.close()


@pytest.fixture
def server(private_keyring: str | None) -> Iterator[NotificationServer]:
    """A notification server on the suite's private session bus, for the window to notify."""
    if private_keyring is None:
        pytest.skip("a notification server is registered only on the suite's own session bus")
    started = NotificationServer.start()
    yield started
    started.stop()


@pytest.fixture
def service(context: Context) -> TokenService:
    """The dialogs' directory (tests/helpers/directories.py): Ada and Wes may get tokens,
    Newbie may not, and Sandbox has no API access."""
    return seed_ada_and_wes(context.service)


@pytest.fixture
def ada_token(service: TokenService) -> IssuedSecret:
    """Ada's token in Production: rotated monthly with an hour's grace."""
    return service.create_token(
        "Production", "Ada", label="dashboard", rotation="monthly", grace="1h"
    )


@dataclass
class Answers:
    """Stands in for the person in front of the window (the messages seam)."""

    confirm: bool = True
    grace: timedelta | None = None  # the grace a refresh chooses (None: the one preset)
    grace_choices: list[GraceChoice] = field(default_factory=list)  # offered to the last refresh
    confirmations: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    informs: list[tuple[str, str]] = field(default_factory=list)
    secrets: list[tuple[str, str, str]] = field(default_factory=list)  # title, message, secret
    copy: Callable[[str], None] | None = None


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    given = Answers()

    def confirm(
        parent: QWidget | None, title: str, text: str, informative: str = "", **_: Any
    ) -> bool:
        given.confirmations.append((title, text, informative))
        return given.confirm

    def error(parent: QWidget | None, title: str, text: str, informative: str = "") -> None:
        given.errors.append((title, text, informative))

    def inform(parent: QWidget | None, title: str, text: str, informative: str = "") -> None:
        given.informs.append((title, text))

    def confirm_refresh(
        parent: QWidget | None,
        title: str,
        text: str,
        fate: Callable[[timedelta | None], str],
        choices: Sequence[GraceChoice],
        preset: int,
    ) -> GraceChoice | None:
        given.grace_choices = list(choices)
        chosen = choices[preset]
        if given.grace is not None:
            chosen = next(choice for choice in choices if choice.grace == given.grace)
        given.confirmations.append((title, text, fate(chosen.grace)))
        return chosen if given.confirm else None

    def show_secret(
        parent: QWidget | None,
        secret: str,
        title: str,
        message: str,
        copy: Callable[[str], None],
    ) -> None:
        given.secrets.append((title, message, secret))
        given.copy = copy

    monkeypatch.setattr(messages, "confirm", confirm)
    monkeypatch.setattr(messages, "error", error)
    monkeypatch.setattr(messages, "inform", inform)
    monkeypatch.setattr(messages, "confirm_refresh", confirm_refresh)
    monkeypatch.setattr(messages, "show_secret", show_secret)
    return given


class FaultyStore(DelegatingStore):
    """Fault injection: the real keyring, except that writes fail while ``fail_put`` is set."""

    def __init__(self, inner: KeyringSecretStore) -> None:
        super().__init__(inner)
        self.fail_put = False

    def put(self, key: str, secret: str) -> None:
        if self.fail_put:
            raise SecretStoreUnavailable(
                "cannot store a secret: the system keyring is unavailable (KeyringLocked: the "
                "keyring is locked); unlock it, then try again. Nothing was changed."
            )
        self.inner.put(key, secret)


@pytest.fixture
def faulty_context(
    data_dir: Path, keyring_store: KeyringSecretStore, clock: FakeClock, registry: str | None
) -> Iterator[tuple[Context, FaultyStore]]:
    store = FaultyStore(keyring_store)
    ctx = open_context(data_dir, store=store, clock=clock, database=registry)
    yield ctx, store
    ctx.close()


class Modals:
    """Answers real modal windows (QMessageBox, dialogs) from inside their event loop."""

    def __init__(self) -> None:
        self._timers: list[QTimer] = []

    def when(
        self, object_name: str, act: Callable[[QWidget], None], *, timeout_ms: int = 10_000
    ) -> list[QWidget]:
        """Once a modal window named *object_name* is up, run *act* on it. The returned list
        holds the widget once it was handled, so a test can assert it was seen."""
        seen: list[QWidget] = []
        timer = QTimer()
        timer.setInterval(10)
        remaining = [max(1, timeout_ms // 10)]

        def check() -> None:
            remaining[0] -= 1
            widget = QApplication.activeModalWidget()
            if widget is not None and widget.objectName() == object_name:
                # Keys go where a person's would: to the modal window, which a window manager
                # activates when it opens (offscreen, focus may stay with the window below,
                # and its shortcuts would take the keys).
                if not widget.isActiveWindow() and remaining[0] > 0:
                    widget.activateWindow()
                    return
                timer.stop()
                seen.append(widget)
                act(widget)
            elif remaining[0] <= 0:
                timer.stop()

        timer.timeout.connect(check)
        timer.start()
        self._timers.append(timer)
        return seen

    def stop(self) -> None:
        for timer in self._timers:
            timer.stop()
        self._timers.clear()


@pytest.fixture
def modals(qtbot: QtBot) -> Iterator[Modals]:
    answerer = Modals()
    yield answerer
    answerer.stop()


def click_button(widget: QWidget, name: str) -> None:
    button = widget.findChild(QAbstractButton, name)
    assert button is not None, f"no button {name!r} in {widget.objectName()}"
    button.click()


# ----------------------------------------------------------------- finding things in the window

ROOT = Path(__file__).resolve().parents[2]


ALL_ACTIONS = (
    "actionCreateToken",
    "actionActivate",
    "actionDeactivate",
    "actionRefresh",
    "actionRotate",
    "actionCopyToken",
    "actionRevealToken",
    "actionEditLabel",
    "actionDelete",
)


def action(window: MainWindow, name: str) -> QAction:
    found = window.findChild(QAction, name)
    assert found is not None, name
    return found


def enabled(window: MainWindow) -> dict[str, bool]:
    return {name: action(window, name).isEnabled() for name in ALL_ACTIONS}


def table(window: MainWindow) -> QTableView:
    found = window.findChild(QTableView, "tokenTable")
    assert found is not None
    return found


def model(window: MainWindow) -> TokenTableModel:
    found = table(window).model()
    assert isinstance(found, TokenTableModel)
    return found


def shown_ids(window: MainWindow) -> list[int]:
    m = model(window)
    return [m.token_at(row).id for row in range(m.rowCount())]


def make_tokens(service: TokenService, count: int, environment: str = "Production") -> list[int]:
    agents = ("Alpha Bot", "Beta Sync", "Gamma ETL")
    return [
        service.create_token(environment, agents[n % 3], label=f"job {n:02d}").token.id
        for n in range(count)
    ]


def open_locked_window(
    qtbot: QtBot, data_dir: Path, keyring_store: KeyringSecretStore, **options: Any
) -> MainWindow:
    """A window whose keyring is unavailable (its data made while the keyring worked)."""
    with_keyring = open_context(data_dir, store=keyring_store, database=database_url())
    seed(with_keyring.service)
    ids = make_tokens(with_keyring.service, 3)
    with_keyring.service.set_status(ids[2], False)
    with_keyring.close()
    context = open_context(data_dir, need_keyring=False, database=database_url())
    context.keyring_tried = True  # and it failed:
    context.keyring_problem = (
        "the system keyring (SecretService) is unavailable (KeyringLocked: the keyring is "
        "locked); start and unlock your desktop's keyring, then try again. Nothing was changed."
    )
    win = open_window(qtbot, context, **options)
    win.select_tokens(ids)
    return win


@pytest.fixture
def locked_window(qtbot: QtBot, data_dir: Path, keyring_store: KeyringSecretStore) -> MainWindow:
    return open_locked_window(qtbot, data_dir, keyring_store)


def mnemonic(text: str) -> str | None:
    """The letter after a single ampersand, lower-cased; None when there is none."""
    cleaned = text.replace("&&", "")
    index = cleaned.find("&")
    return cleaned[index + 1].lower() if 0 <= index < len(cleaned) - 1 else None


def assert_unique_mnemonics(texts: list[str]) -> None:
    letters = [mnemonic(text) for text in texts]
    assert None not in letters, texts
    duplicates = {letter for letter in letters if letters.count(letter) > 1}
    assert not duplicates, f"{duplicates} used twice in {texts}"
