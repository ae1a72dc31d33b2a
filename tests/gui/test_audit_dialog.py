"""The audit dialog: the history newest first, filtered by token and text, kept for deleted
tokens (the fixture ``service`` comes from tests/gui/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QTableView
from pytestqt.qtbot import QtBot

from desktop.gui.audit_dialog import AuditDialog
from desktop.services.tokens import TokenService
from tests.helpers.clock import FakeClock
from tests.helpers.widgets import find


@pytest.fixture
def history(service: TokenService, clock: FakeClock) -> list[int]:
    """Two tokens with a few events each, a minute apart."""
    ids = []
    for agent in ("Ada", "Wes"):
        clock.advance(timedelta(minutes=1))
        ids.append(service.create_token("Production", agent, label=f"{agent} key").token.id)
    clock.advance(timedelta(minutes=1))
    service.set_status(ids[0], False)
    clock.advance(timedelta(minutes=1))
    service.set_rotation(ids[1], "weekly")
    return ids


def column(dialog: AuditDialog, index: int) -> list[str]:
    model = find(dialog, QTableView, "auditTable").model()
    return [model.index(row, index).data() for row in range(model.rowCount())]


def test_audit_lists_newest_first(
    qtbot: QtBot, service: TokenService, history: list[int], qtmodeltester: object
) -> None:
    dialog = AuditDialog(service)
    qtbot.addWidget(dialog)
    assert dialog.objectName() == "AuditDialog"
    qtmodeltester.check(dialog.model)  # type: ignore[attr-defined]
    actions = column(dialog, 2)
    assert actions[:4] == ["schedule", "deactivate", "create", "create"]
    assert column(dialog, 3)[:4] == [
        f"#{history[1]}",
        f"#{history[0]}",
        f"#{history[1]}",
        f"#{history[0]}",
    ]
    assert len(actions) == len(service.audit())
    when = column(dialog, 0)
    assert when == sorted(when, reverse=True)


def test_audit_filters_by_token_and_text(
    qtbot: QtBot, service: TokenService, history: list[int]
) -> None:
    dialog = AuditDialog(service)
    qtbot.addWidget(dialog)
    combo = find(dialog, QComboBox, "auditTokenFilter")
    assert combo.itemText(0) == "All tokens"
    assert combo.itemText(1) == f"#{history[0]} — Ada — Ada key"
    combo.setCurrentIndex(combo.findData(history[0]))
    assert column(dialog, 3) == [f"#{history[0]}"] * 2
    assert column(dialog, 2) == ["deactivate", "create"]

    combo.setCurrentIndex(0)
    text = find(dialog, QLineEdit, "auditTextFilter")
    text.setText("WEEKLY")
    assert column(dialog, 2) == ["schedule"]
    assert find(dialog, QLabel, "auditCount").text().startswith("1 of ")
    text.clear()
    assert len(column(dialog, 2)) == len(service.audit())


def test_audit_opens_on_one_token_and_reloads(
    qtbot: QtBot, service: TokenService, history: list[int]
) -> None:
    dialog = AuditDialog(service, token_id=history[1])
    qtbot.addWidget(dialog)
    assert column(dialog, 2) == ["schedule", "create"]
    service.set_label(history[1], "renamed")
    dialog.reload()
    assert column(dialog, 2) == ["label", "schedule", "create"]


def test_audit_keeps_a_deleted_token_filterable(
    qtbot: QtBot, service: TokenService, history: list[int]
) -> None:
    service.delete(history[0])
    dialog = AuditDialog(service, token_id=history[0])
    qtbot.addWidget(dialog)
    assert find(dialog, QComboBox, "auditTokenFilter").currentText() == f"#{history[0]} (deleted)"
    assert column(dialog, 2) == ["delete", "deactivate", "create"]
