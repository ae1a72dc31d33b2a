"""Small pieces the dialogs share: inline message labels, form rows that wrap, sizing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QLayout, QWidget

from desktop.gui.theme import Tone, paint_tone

# The tones of the dialogs' inline messages; their colours follow the palette (light or dark).
ERROR_STYLE = Tone.ERROR
WARNING_STYLE = Tone.WARNING


def message_label(name: str, tone: Tone, parent: QWidget) -> QLabel:
    """A hidden, wrapping, selectable label whose text is coloured in *tone*."""
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    paint_tone(label, tone)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def fit_to_contents(dialog: QDialog, width: int) -> None:
    """At least *width* wide, and tall enough for all wrapped text at the narrowest width.

    Top-level windows do not follow height-for-width on their own, so a dialog whose messages
    wrap would otherwise clip them (or spread spare height between form rows).
    """
    layout = dialog.layout()
    if layout is None:
        return
    layout.activate()
    width = max(width, layout.totalMinimumSize().width())
    if layout.hasHeightForWidth():
        height = layout.totalHeightForWidth(width)
    else:
        height = layout.totalSizeHint().height()
    dialog.setMinimumSize(width, height)
    if dialog.width() < width or dialog.height() < height:
        dialog.resize(max(dialog.width(), width), max(dialog.height(), height))


class FormGrid(QGridLayout):
    """Caption | field rows like QFormLayout, but wrapped text in a row gets its real height
    (QFormLayout sizes such rows by their size hint, leaving gaps or clipping text)."""

    def __init__(self) -> None:
        super().__init__()
        self.setColumnStretch(1, 1)
        self._rows = 0

    def add_row(self, caption: str | None, field: QWidget | QLayout) -> QLabel | None:
        """Add a row; a caption's mnemonic moves the focus to the field (when it is a widget)."""
        row = self._rows
        self._rows += 1
        label = None
        if caption is not None:
            label = QLabel(caption)
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            if isinstance(field, QWidget):
                label.setBuddy(field)
            self.addWidget(label, row, 0)
        if isinstance(field, QWidget):
            self.addWidget(field, row, 1)
        else:
            self.addLayout(field, row, 1)
        return label


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 token``, ``3 tokens``, ``100,000 tokens``; *plural_form* for irregular words."""
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
