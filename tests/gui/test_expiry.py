"""Expiry in the window: the create dialog's field (off by default, past refused as you type,
usable by keyboard), and Token → Expiry… with its dialog, on a real database and keyring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from PySide6.QtCore import QDateTime, QSettings, Qt
from PySide6.QtGui import QAction, QStandardItemModel
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QLabel,
    QPushButton,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.create_dialog import CreateTokenDialog
from desktop.gui.expiry_dialog import PAST, ExpiryDialog
from desktop.gui.main_window import MainWindow
from desktop.gui.token_model import HEADERS
from desktop.services.tokens import TokenService
from tests.gui.conftest import Modals, click_button, open_window
from tests.gui.test_create_dialog import choose_agent, find, ok_button
from tests.helpers.clock import FakeClock


def at(moment: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


def test_the_create_dialog_sets_no_expiry_unless_asked(qtbot: QtBot, service: TokenService) -> None:
    dialog = CreateTokenDialog(service, environment="Production")
    qtbot.addWidget(dialog)
    choose_agent(dialog, "Ada")
    check = find(dialog, QCheckBox, "expiresCheck")
    edit = find(dialog, QDateTimeEdit, "expiresEdit")
    assert not check.isChecked() and not edit.isEnabled()
    assert dialog.expiry.expires() is None
    click_button(dialog, "createButton")
    assert [t.expires_at for t in service.tokens()] == [None]


def test_the_create_dialog_refuses_a_past_expiry_as_you_type(
    qtbot: QtBot, service: TokenService, clock: FakeClock
) -> None:
    """By keyboard alone: Space turns the field on and moves to the date; Down on its year
    makes it a past date, which is said at once and keeps Create off; Up makes it good."""
    dialog = CreateTokenDialog(service, environment="Production")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    choose_agent(dialog, "Ada")
    check = find(dialog, QCheckBox, "expiresCheck")
    edit = find(dialog, QDateTimeEdit, "expiresEdit")
    error = find(dialog, QLabel, "expiresError")
    check.setFocus()
    QTest.keyClick(check, Qt.Key.Key_Space)
    assert check.isChecked() and edit.isEnabled()
    assert dialog.focusWidget() in (edit, edit.findChild(QWidget, "qt_spinbox_lineedit"))
    assert ok_button(dialog).isEnabled() and error.isHidden()
    preset = dialog.expiry.expires()
    assert preset is not None and preset > clock.now()  # a date ahead, not today
    edit.setCurrentSection(QDateTimeEdit.Section.YearSection)
    QTest.keyClick(edit, Qt.Key.Key_Down)
    assert edit.dateTime().date().year() == preset.astimezone().year - 1
    assert not ok_button(dialog).isEnabled()
    assert error.isVisible() and error.text() == PAST
    assert ok_button(dialog).toolTip() == PAST
    dialog.accept()  # refused: nothing is created
    assert service.tokens() == []
    QTest.keyClick(edit, Qt.Key.Key_Up)
    assert ok_button(dialog).isEnabled() and error.isHidden()
    click_button(dialog, "createButton")
    (token,) = service.tokens()
    assert token.expires_at == preset


def token_id_of(service: TokenService) -> int:
    return service.create_token("Production", "Alpha Bot", label="expiring").token.id


def expiry_action(window: MainWindow) -> QAction:
    found = window.findChild(QAction, "actionSetExpiry")
    assert isinstance(found, QAction)
    return found


def test_the_expiry_action_wants_one_token(window: MainWindow, seeded: TokenService) -> None:
    first, second = token_id_of(seeded), token_id_of(seeded)
    window.sync.reload()
    assert not expiry_action(window).isEnabled()
    window.select_tokens([first, second])
    assert not expiry_action(window).isEnabled()
    window.select_tokens([first])
    assert expiry_action(window).isEnabled()
    assert expiry_action(window) in window.window_actions.token_menu()
    assert expiry_action(window) in window.context_menu_actions()


def set_expiry_in(dialog: QWidget, value: datetime | None) -> None:
    check = dialog.findChild(QCheckBox, "expiresCheck")
    edit = dialog.findChild(QDateTimeEdit, "expiresEdit")
    assert check is not None and edit is not None
    check.setChecked(value is not None)
    if value is not None:
        edit.setDateTime(at(value))
    click_button(dialog, "saveExpiryButton")


def test_set_change_and_clear_an_expiry_from_the_window(
    window: MainWindow, seeded: TokenService, modals: Modals, clock: FakeClock
) -> None:
    token_id = token_id_of(seeded)
    window.sync.reload()
    window.select_tokens([token_id])
    soon = clock.now().replace(second=0) + timedelta(hours=2)
    seen = modals.when("ExpiryDialog", lambda d: set_expiry_in(d, soon))
    expiry_action(window).trigger()
    assert seen and seeded.token(token_id).expires_at == soon
    row = window.model.row_of(token_id)
    assert row is not None
    assert window.model.index(row, Column.EXPIRES).data() != "Never"
    assert seeded.audit(token_id)[0].action == "expiry"

    clock.advance(timedelta(hours=2))  # expired: the table says so once it looks
    window.model.check_expiry()
    assert window.model.index(row, Column.EXPIRES).data() == "Expired"
    assert window.model.index(row, Column.STATUS).data() == "Active"

    seen = modals.when("ExpiryDialog", lambda d: set_expiry_in(d, None))
    expiry_action(window).trigger()
    assert seen and seeded.token(token_id).expires_at is None
    assert window.model.index(row, Column.EXPIRES).data() == "Never"


def test_the_expiry_dialog_refuses_a_past_time_and_changes_nothing(
    qtbot: QtBot, seeded: TokenService, clock: FakeClock
) -> None:
    token_id = token_id_of(seeded)
    dialog = ExpiryDialog(seeded, seeded.token(token_id))
    qtbot.addWidget(dialog)
    assert dialog.findChild(QLabel, "expiryCurrent").text() == "Never expires"  # type: ignore[union-attr]
    save = dialog.findChild(QPushButton, "saveExpiryButton")
    assert save is not None and save.isEnabled()  # "never" may be saved as it is
    dialog.field.set_expires(clock.now() - timedelta(minutes=1))
    assert not save.isEnabled() and save.toolTip() == PAST
    dialog.accept()
    assert seeded.token(token_id).expires_at is None
    assert seeded.audit(token_id)[0].action == "create"


def test_an_expired_token_is_named_so_in_its_dialog(
    qtbot: QtBot, seeded: TokenService, clock: FakeClock
) -> None:
    token_id = token_id_of(seeded)
    seeded.set_expiry(token_id, datetime(2026, 1, 6, tzinfo=UTC))
    clock.advance(timedelta(days=2))
    dialog = ExpiryDialog(seeded, seeded.token(token_id))
    qtbot.addWidget(dialog)
    current = dialog.findChild(QLabel, "expiryCurrent")
    assert current is not None and current.text().startswith("Expired ")
    assert dialog.field.expires() is None  # a new expiry is chosen afresh, never the past one


def test_a_column_layout_saved_before_the_expires_column_is_not_put_on_the_new_columns(
    qtbot: QtBot, context: Context, seeded: TokenService, tmp_path: Path
) -> None:
    """A header state saved by a version without Expires names other columns by position:
    restored as it is, it hid Created (where Environment was). It is left out instead; a
    state saved from these columns comes back."""
    old = QTableView()
    qtbot.addWidget(old)
    old.setModel(QStandardItemModel(0, len(HEADERS) - 1))
    old.setColumnHidden(len(HEADERS) - 2, True)  # Environment, then the last column
    settings = QSettings(str(tmp_path / "old.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/tokenTableHeader", old.horizontalHeader().saveState())
    window = open_window(qtbot, context)
    window.use_settings(settings)
    assert not window.table.isColumnHidden(Column.CREATED)
    window.table.horizontalHeader().resizeSection(Column.EXPIRES, 171)
    window.shutdown()
    again = open_window(qtbot, context)
    again.use_settings(settings)
    assert again.table.horizontalHeader().sectionSize(Column.EXPIRES) == 171
    again.shutdown()


def test_a_double_click_on_the_expires_cell_opens_the_dialog(
    qtbot: QtBot, window: MainWindow, seeded: TokenService, modals: Modals
) -> None:
    token_id = token_id_of(seeded)
    window.sync.reload()
    window.select_tokens([token_id])
    row = window.model.row_of(token_id)
    assert row is not None
    seen = modals.when("ExpiryDialog", lambda d: cast(QDialog, d).reject())
    cell = window.table.visualRect(window.model.index(row, Column.EXPIRES)).center()
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)  # pressed
    qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    assert seen


def test_the_saved_expiry_is_reported_by_the_token_number(
    window: MainWindow, seeded: TokenService, modals: Modals, clock: FakeClock
) -> None:
    """The status bar names the token as the table, the details and every dialog do (#3), not
    by its secret's last characters, which change on each refresh."""
    token_id = token_id_of(seeded)
    window.sync.reload()
    window.select_tokens([token_id])
    soon = clock.now().replace(second=0) + timedelta(hours=2)
    seen = modals.when("ExpiryDialog", lambda d: set_expiry_in(d, soon))
    expiry_action(window).trigger()
    assert seen
    assert window.statusBar().currentMessage() == f"Token #{token_id}: expiry saved"
