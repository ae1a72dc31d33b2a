"""TokenChoices: a combo box offers every token without an item per token."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox
from pytestqt.modeltest import ModelTester

from desktop.gui.token_choices import TokenChoices, offer
from desktop.services.views import Names, TokenRow

NAMES = Names({1: "Production"}, {1: ("Ada", "Reader")})


def row(token_id: int, label: str = "") -> TokenRow:
    return TokenRow(token_id, 1, 1, label, 1, "abcd", 0, None, None, 0, None, None, None, None, 0)


def describe(data: TokenRow, names: Names) -> str:
    return f"#{data.id} {names.agent(data)} {data.label}".strip()


def test_entries_come_in_order_with_their_ids(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    choices = TokenChoices(
        NAMES, [row(9, "nine"), row(3), row(5, "five")], describe, leading=[("All tokens", None)]
    )
    qtmodeltester.check(choices)
    texts = [choices.index(n).data() for n in range(choices.rowCount())]
    assert texts == ["All tokens", "#3 Ada", "#5 Ada five", "#9 Ada nine"]
    ids = [choices.index(n).data(Qt.ItemDataRole.UserRole) for n in range(choices.rowCount())]
    assert ids == [None, 3, 5, 9]
    assert [choices.row_of(token_id) for token_id in (None, 3, 5, 9, 4)] == [0, 1, 2, 3, None]


def test_a_combo_box_reads_them_and_a_deleted_token_is_added_after(qapp: QApplication) -> None:
    combo = QComboBox()
    choices = TokenChoices(NAMES, [row(2), row(4)], describe, leading=[("All tokens", None)])
    offer(combo, choices)
    assert combo.count() == 3
    assert combo.findData(4) == 2
    place = choices.add_trailing("#7 (deleted)", 7)
    assert combo.count() == 4 and choices.row_of(7) == place == 3
    combo.setCurrentIndex(place)
    assert combo.currentText() == "#7 (deleted)" and combo.currentData() == 7
    replacement = TokenChoices(NAMES, [], describe)
    offer(combo, replacement)
    assert combo.count() == 0
