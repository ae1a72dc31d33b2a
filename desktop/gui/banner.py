"""Banner: a notice across the top of the window, with an icon, a message and optional buttons."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from desktop.gui import icons, theme


class Banner(QFrame):
    """Hidden until :meth:`set_text` and ``show()``; the message is plain text, shown escaped.

    Its colours come from :mod:`desktop.gui.theme` for the palette in force, and change with it.
    """

    KINDS = frozenset({"warning", "error", "info"})

    def __init__(self, name: str, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if kind not in self.KINDS:
            raise KeyError(kind)
        self.setObjectName(name)
        self.kind = theme.Tone(kind)
        theme.follow(self, self._colour)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        symbol = QLabel(self)
        # As tall as a line of the message. (Asking the style for its small icon size would
        # create QStyle's Python enums, milliseconds of start-up, for one number.)
        size = self.fontMetrics().height()
        symbol.setPixmap(icons.icon(kind).pixmap(size, size))
        symbol.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(symbol)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.label, 1)
        self._plain = ""
        self._layout = layout
        self.hide()

    def _colour(self) -> None:
        colors = theme.banner_colors(self.kind)
        name = self.objectName()
        self.setStyleSheet(
            f"#{name} {{ background: {colors.background}; border: 1px solid {colors.border}; "
            "border-radius: 4px; } "
            f"#{name} QLabel {{ color: {colors.text}; background: transparent; border: none; }}"
        )

    def text(self) -> str:
        """The message as plain text."""
        return self._plain

    def set_text(self, text: str, heading: str = "") -> None:
        """Show *text* after a bold *heading*; both are plain text (names are escaped)."""
        self._plain = f"{heading} {text}".strip()
        body = html.escape(text).replace("\n", "<br>")
        self.label.setText(f"<b>{html.escape(heading)}</b> {body}" if heading else body)

    def add_button(self, text: str, name: str, slot: Callable[[], object]) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(name)
        button.clicked.connect(slot)
        self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        return button

    def add_close_button(self, name: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setAutoRaise(True)
        button.setIcon(icons.icon("close"))
        button.setToolTip("Dismiss")
        button.setAccessibleName("Dismiss")
        button.clicked.connect(slot)
        self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        return button
