"""The small pieces the dialogs share: message labels, caption rows with mnemonics, a dialog
sized to its wrapped text, counts in words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLayoutItem,
    QLineEdit,
    QVBoxLayout,
)
from pytestqt.qtbot import QtBot

from desktop.gui import theme
from desktop.gui.widgets import (
    ERROR_STYLE,
    FormGrid,
    fit_to_contents,
    message_label,
    plural,
    sentence,
)


def test_a_message_label_starts_hidden_and_wraps(qtbot: QtBot) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    label = message_label("errorLabel", ERROR_STYLE, dialog)
    assert dialog.findChild(QLabel, "errorLabel") is label
    assert label.isHidden() and label.wordWrap()
    assert label.property("tone") == "error"
    assert theme.text_color(ERROR_STYLE).name() in label.styleSheet()
    assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse


def placed(grid: FormGrid, row: int, column: int) -> QLayoutItem:
    """What the grid holds at that cell; the test fails when it holds nothing."""
    item = grid.itemAtPosition(row, column)
    assert item is not None, (row, column)
    return item


def test_a_caption_leads_to_its_field(qtbot: QtBot) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    grid = FormGrid()
    dialog.setLayout(grid)
    field = QLineEdit()
    label = grid.add_row("&Label:", field)
    assert label is not None and label.buddy() is field
    assert placed(grid, 0, 0).widget() is label
    assert placed(grid, 0, 1).widget() is field
    row = QHBoxLayout()
    assert grid.add_row(None, row) is None
    assert placed(grid, 1, 1).layout() is row
    assert grid.itemAtPosition(1, 0) is None
    second = grid.add_row("Rotation:", QHBoxLayout())
    assert second is not None and second.buddy() is None  # a layout cannot take the focus
    assert grid.rowCount() == 3
    assert grid.columnStretch(1) == 1


def test_a_dialog_grows_to_show_its_wrapped_text(qtbot: QtBot) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    layout = QVBoxLayout(dialog)
    text = QLabel(" ".join(["a rather long message that wraps"] * 20))
    text.setWordWrap(True)
    layout.addWidget(text)
    dialog.resize(10, 10)
    fit_to_contents(dialog, 300)
    assert dialog.minimumWidth() >= 300
    assert dialog.width() >= 300
    assert dialog.height() >= text.heightForWidth(300)
    assert dialog.minimumHeight() == dialog.height()


def test_a_dialog_without_a_layout_is_left_alone(qtbot: QtBot) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    dialog.resize(120, 80)
    fit_to_contents(dialog, 500)
    assert (dialog.width(), dialog.height()) == (120, 80)


def test_counts_in_words() -> None:
    assert plural(0, "token") == "0 tokens"
    assert plural(1, "token") == "1 token"
    assert plural(1_234, "entry", "entries") == "1,234 entries"
    assert plural(1, "entry", "entries") == "1 entry"


def test_a_sentence_starts_with_a_capital() -> None:
    assert sentence("token is inactive") == "Token is inactive"
    assert sentence("Already") == "Already"
    assert sentence("") == ""
    assert sentence("tdk_x") == "Tdk_x"
