"""One spelling of a time throughout the window, the person's locale's short date and time: in
the token table, the status bar, the rotation picker and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import QDateTime, QLocale
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.audit_dialog import AuditDialog
from desktop.gui.rotation_picker import RotationIntervalPicker
from desktop.services.tokens import TokenService
from tests.gui.conftest import model, open_window
from tests.helpers.clock import FakeClock
from tests.helpers.locales import in_locale
from tests.helpers.widgets import find


def spelled(locale: QLocale, when: datetime) -> str:
    """What QLocale itself says for *when*: local time, short format."""
    local = QDateTime.fromSecsSinceEpoch(int(when.timestamp())).toLocalTime()
    return locale.toString(local, QLocale.FormatType.ShortFormat)


@pytest.mark.parametrize("name", ["de_DE", "en_US"])
def test_the_table_status_bar_picker_and_audit_log_follow_the_locale(
    name: str, qtbot: QtBot, context: Context, seeded: TokenService, clock: FakeClock
) -> None:
    with in_locale(name) as locale:
        token = seeded.create_token("Production", "Alpha Bot", rotation="weekly").token
        window = open_window(qtbot, context)
        row = model(window).row_of(token.id)
        assert row is not None
        cell = model(window).index(row, Column.CREATED).data()
        assert cell == spelled(locale, token.created_at)
        assert token.next_rotation_at is not None
        next_cell = model(window).index(row, Column.NEXT_ROTATION).data()
        assert next_cell == spelled(locale, token.next_rotation_at)
        assert window.next_rotation_label.text().endswith(spelled(locale, token.next_rotation_at))
        # The filter finds a token by the time as shown.
        window.filter_edit.setText(cell)
        assert model(window).token_ids() == [token.id]

        picker = RotationIntervalPicker(clock=clock)
        qtbot.addWidget(picker)
        picker.setInterval(timedelta(days=1))
        expected = spelled(locale, clock.now() + timedelta(days=1))
        assert find(picker, QLabel, "nextRotationLabel").text() == (
            f"Next rotation: {expected} (local time)"
        )

        audit = AuditDialog(seeded)
        qtbot.addWidget(audit)
        event = seeded.audit()[0]
        assert audit.model.index(0, 0).data() == spelled(locale, event.at)
        window.close()
