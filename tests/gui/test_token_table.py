"""The token table's view in the window: revealed secrets, what it says when empty, Ctrl+C."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from desktop.app import open_context
from desktop.domain.table import Column
from desktop.gui.main_window import MainWindow
from desktop.paths import database_url
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService
from tests.gui.conftest import open_window
from tests.helpers.clock import FakeClock


def focus_table(window: MainWindow, qtbot: QtBot) -> None:
    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(window.table.hasFocus)


def token_column_width(window: MainWindow) -> int:
    return window.table.horizontalHeader().sectionSize(Column.TOKEN)


def test_ctrl_c_never_copies_a_revealed_secret_by_itself(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    first = seeded.create_token("Production", "Alpha Bot")
    seeded.create_token("Production", "Beta Sync")
    window.sync.reload()
    window.select_tokens([first.token.id])
    window.commands.reveal_token()
    assert window.model.index(0, Column.TOKEN).data() == first.secret
    # With two rows selected the Copy action is off, so the key reaches the view itself.
    window.table.selectAll()
    window.table.setCurrentIndex(window.model.index(0, Column.TOKEN))
    window.table.selectAll()
    copy = window.findChild(QAction, "actionCopyToken")
    assert copy is not None and not copy.isEnabled()
    QApplication.clipboard().setText("what was there")
    focus_table(window, qtbot)

    qtbot.keySequence(window.table, QKeySequence(QKeySequence.StandardKey.Copy))

    assert QApplication.clipboard().text() == "what was there"


def test_ctrl_c_in_the_table_copies_through_the_action(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.select_tokens([issued.token.id])
    focus_table(window, qtbot)
    qtbot.keySequence(window.table, QKeySequence(QKeySequence.StandardKey.Copy))
    assert QApplication.clipboard().text() == issued.secret
    assert window.clipboard.holds_ours()  # marked for clipboard managers, cleared later
    assert window.clipboard.timer.isActive()
    window.clipboard.clear_if_ours()


def test_a_revealed_secret_hides_when_another_token_is_selected(
    window: MainWindow, seeded: TokenService
) -> None:
    first = seeded.create_token("Production", "Alpha Bot")
    second = seeded.create_token("Production", "Beta Sync")
    window.sync.reload()
    narrow = token_column_width(window)
    window.select_tokens([first.token.id])
    window.commands.reveal_token()
    assert token_column_width(window) > narrow
    window.sync.reload()  # reloading keeps it: the same token is still selected
    assert window.model.revealed_ids() == [first.token.id]

    window.select_tokens([first.token.id, second.token.id])

    assert window.model.revealed_ids() == []
    assert window.model.index(0, Column.TOKEN).data() == first.token.masked
    assert not window.commands.reveal_timer.isActive()
    assert token_column_width(window) == narrow


def test_a_new_secret_hides_the_old_one_and_gives_the_column_back(
    window: MainWindow, seeded: TokenService
) -> None:
    issued = seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    narrow = token_column_width(window)
    window.select_tokens([issued.token.id])
    window.commands.reveal_token()
    assert token_column_width(window) > narrow

    seeded.refresh(issued.token.id)  # elsewhere: the scheduler, the command line
    window.sync.reload()

    assert window.model.revealed_ids() == []
    assert token_column_width(window) == narrow
    assert not window.commands.reveal_timer.isActive()
    window.commands.reveal_timer.timeout.emit()  # a late timeout changes nothing
    assert token_column_width(window) == narrow


def test_an_empty_environment_says_how_to_add_a_token(
    window: MainWindow, seeded: TokenService
) -> None:
    new = QKeySequence(QKeySequence.StandardKey.New).toString(
        QKeySequence.SequenceFormat.NativeText
    )
    assert window.model.rowCount() == 0
    assert window.table.empty_text_shown()
    assert window.table.empty_text() == (
        f"There are no tokens in Production yet. Create one with New token ({new})."
    )
    seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    assert not window.table.empty_text_shown()


def test_a_filter_that_matches_nothing_says_so(window: MainWindow, seeded: TokenService) -> None:
    seeded.create_token("Production", "Alpha Bot")
    window.sync.reload()
    window.filter_edit.setText("  nothing like it ")
    assert window.table.empty_text_shown()
    assert window.table.empty_text() == (
        "No token in Production matches “nothing like it”. "
        "Press Esc in the filter box to show them all."
    )
    window.filter_edit.clear()
    assert not window.table.empty_text_shown()


def test_an_environment_without_api_access_says_why_nothing_can_be_created(
    window: MainWindow, seeded: TokenService
) -> None:
    seeded.set_api_enabled("Production", False)
    window.sync.reload()
    assert window.table.empty_text() == (
        "There are no tokens in Production yet. Turn on API access to create tokens here."
    )


def test_without_environments_the_table_says_where_to_add_one(
    qtbot: QtBot, data_dir: Path, keyring_store: KeyringSecretStore, clock: FakeClock
) -> None:
    context = open_context(data_dir, store=keyring_store, clock=clock, database=database_url())
    try:
        window = open_window(qtbot, context)
        assert window.table.empty_text_shown()
        assert "There are no environments yet" in window.table.empty_text()
        assert "Agents & roles" in window.table.empty_text()
        assert window.next_rotation_label.isHidden()
        window.close()
    finally:
        context.close()


def test_the_empty_text_lets_the_context_menu_through(window: MainWindow) -> None:
    label = window.table.findChild(QLabel, "emptyTableLabel")
    assert label is not None
    assert label.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)


def test_the_status_column_holds_its_badge_and_the_longest_state(
    window: MainWindow, seeded: TokenService, qtbot: QtBot
) -> None:
    """The state shows as a badge beside its text: the column is wide enough for both, so
    "Inactive" is never cut short."""
    token = seeded.create_token("Production", "Alpha Bot").token.id
    seeded.set_status(token, active=False)
    window.sync.reload()
    table = window.table
    assert window.model.index(0, Column.STATUS).data() == "Inactive"
    needed = table.sizeHintForColumn(Column.STATUS)
    assert table.horizontalHeader().sectionSize(Column.STATUS) >= needed
