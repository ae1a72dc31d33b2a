"""The ID column: a token's number, after Status, as the audit log and the dialogs name it;
and the saved column layout, which never lands on columns it was not saved for."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.main_window import MainWindow
from desktop.gui.token_model import HEADER_STATE_KEY
from desktop.services.tokens import TokenService
from tests.gui.conftest import make_tokens, model, open_window, shown_ids, table


def test_the_id_column_follows_status_and_the_filter_finds_it(
    window: MainWindow, seeded: TokenService
) -> None:
    ids = make_tokens(seeded, 12)
    window.sync.reload()
    header = [model(window).headerData(c, Qt.Orientation.Horizontal) for c in range(Column.ID + 1)]
    assert header == ["API Token", "Name", "Label", "Role", "Status", "ID"]
    assert not table(window).isColumnHidden(Column.ID)
    row = model(window).row_of(ids[10])
    assert row is not None
    assert model(window).index(row, Column.ID).data() == f"#{ids[10]}"
    table(window).sortByColumn(Column.ID, Qt.SortOrder.DescendingOrder)
    assert shown_ids(window) == sorted(ids, reverse=True)  # by number, not by text
    window.filter_edit.setText(f"#{ids[10]}")
    assert shown_ids(window) == [ids[10]]


def test_a_layout_saved_for_other_columns_is_not_restored(
    qtbot: QtBot, context: Context, seeded: TokenService, tmp_path: Path
) -> None:
    """The layout saved before the ID column hid its sixth section (Rotation, then): laid over
    these columns it would hide ID. It is kept under another key, and not read."""
    make_tokens(seeded, 2)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = open_window(qtbot, context)
    header = table(first).horizontalHeader()
    header.hideSection(Column.ID)
    settings.setValue("window/tokenTableHeader", header.saveState())
    first.close()

    second = open_window(qtbot, context)
    second.use_settings(settings)
    assert not table(second).isColumnHidden(Column.ID)
    # The layout saved now, under the key for these columns, comes back.
    table(second).horizontalHeader().resizeSection(Column.ID, 77)
    second.close()
    assert settings.value(HEADER_STATE_KEY) is not None

    third = open_window(qtbot, context)
    third.use_settings(settings)
    assert table(third).horizontalHeader().sectionSize(Column.ID) == 77
    third.close()
