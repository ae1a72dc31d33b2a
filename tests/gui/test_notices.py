"""The notices: the keyring banner, the status bar's counts and next rotation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from PySide6.QtWidgets import (
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.domain.errors import SecretStoreUnavailable
from desktop.gui.main_window import MainWindow
from desktop.secrets import store as secret_store
from desktop.services.display import format_time
from desktop.services.tokens import TokenService
from tests.gui.conftest import (
    click_button,
    enabled,
    make_tokens,
    open_locked_window,
    shown_ids,
)
from tests.helpers.clock import FakeClock


def test_status_bar_counts_and_next_rotation(window: MainWindow, seeded: TokenService) -> None:
    ids = make_tokens(seeded, 3)
    seeded.set_status(ids[0], False)
    weekly = seeded.set_rotation(ids[1], "weekly")
    window.sync.reload()
    assert window.counts_label.text() == "3 tokens, 1 inactive"
    assert window.next_rotation_label.text() == (
        f"Next rotation in Production: {format_time(weekly.next_rotation_at)}"
    )
    window.filter_edit.setText("job 01")
    assert window.counts_label.text() == "1 of 3 tokens shown, 1 inactive"


def test_next_rotation_is_the_shown_environments(
    window: MainWindow, seeded: TokenService, clock: FakeClock
) -> None:
    weekly = seeded.create_token("Production", "Alpha Bot", rotation="weekly").token
    daily = seeded.create_token("Staging", "Beta Sync", rotation="daily").token
    paused = seeded.create_token("Production", "Gamma ETL", rotation="12h").token
    seeded.set_status(paused.id, False)  # inactive tokens are not rotated
    window.sync.reload()
    # Staging's rotation comes first, but the table shows Production.
    assert window.next_rotation_label.text() == (
        f"Next rotation in Production: {format_time(weekly.next_rotation_at)}"
    )
    window.environment_selector.setCurrentIndex(window.environment_selector.findData("Staging"))
    assert window.next_rotation_label.text() == (
        f"Next rotation in Staging: {format_time(daily.next_rotation_at)}"
    )
    seeded.set_rotation(daily.id, None)
    window.sync.reload()
    assert window.next_rotation_label.text() == "No rotation scheduled in Staging"
    window.environment_selector.setCurrentIndex(window.environment_selector.findData("Production"))
    clock.advance(timedelta(days=8))  # overdue (the scheduler is not running here)
    window.sync.reload()
    assert window.next_rotation_label.text() == "Next rotation in Production: due now"


def test_big_counts_are_easy_to_read() -> None:
    from desktop.gui.widgets import plural

    assert plural(1, "token") == "1 token"
    assert plural(100_000, "token") == "100,000 tokens"


def test_keyring_banner_says_what_to_do_and_retry_recovers(locked_window: MainWindow) -> None:
    window = locked_window
    banner = window.findChild(QWidget, "keyringBanner")
    assert banner is not None and banner.isVisible()
    text = window.keyring_banner.text()
    assert "locked" in text and "unlock" in text
    retry = window.findChild(QPushButton, "keyringRetry")
    assert retry is not None

    retry.click()  # the private test keyring is up: this finds it

    assert not banner.isVisible()
    assert window.service.store is not None
    assert window.keyring.problem is None
    window.select_tokens([shown_ids(window)[0]])
    assert enabled(window)["actionCopyToken"]
    assert enabled(window)["actionCreateToken"]


def test_keyring_retry_that_fails_keeps_the_banner(
    qtbot: QtBot, data_dir: Path, keyring_store: secret_store.KeyringSecretStore
) -> None:
    def still_missing() -> secret_store.SecretStore:
        raise SecretStoreUnavailable("no usable system keyring (still nothing); unlock it.")

    window = open_locked_window(qtbot, data_dir, keyring_store, opener=still_missing)
    click_button(window.keyring_banner, "keyringRetry")
    assert window.keyring_banner.isVisible()
    assert "still nothing" in window.keyring_banner.text()
    assert window.service.store is None
    assert not enabled(window)["actionRefresh"]
