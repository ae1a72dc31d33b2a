"""AuditDialog: what happened, newest first, filtered by token and by text."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.token_choices import TokenChoices, offer
from desktop.services.display import NO_TIME, format_time, format_utc, token_ref
from desktop.services.tokens import TokenService
from desktop.services.views import AuditView

# The newest events shown at most; older ones remain in the database (and the command line).
LIMIT = 10_000


class AuditTableModel(QAbstractTableModel):
    """Audit events as rows; the caller hands them over already filtered and sorted."""

    HEADERS = ("When", "Actor", "Action", "Token", "Details")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._events: list[AuditView] = []

    def set_events(self, events: list[AuditView]) -> None:
        self.beginResetModel()
        self._events = list(events)
        self.endResetModel()

    @staticmethod
    def cells(event: AuditView) -> tuple[str, str, str, str, str]:
        token = token_ref(event.token_id) if event.token_id is not None else NO_TIME
        return format_time(event.at), event.actor, event.action, token, event.details

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._events)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._events):
            return None
        column = index.column()
        if not 0 <= column < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            # To the second, for matching the command line's log and other systems' logs.
            return f"{format_utc(self._events[index.row()].at)} (UTC)"
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.cells(self._events[index.row()])[column]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == 0:
            return "Local time"
        return None


class AuditDialog(QDialog):
    def __init__(
        self,
        service: TokenService,
        parent: QWidget | None = None,
        token_id: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("AuditDialog")
        self.setWindowTitle("Audit Log")
        self._service = service
        self._events: list[AuditView] = []

        self._token_filter = QComboBox(self)
        self._token_filter.setObjectName("auditTokenFilter")
        self._token_filter.setToolTip("Show only the events of one token")
        self._token_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self._token_filter.setMinimumContentsLength(28)
        self._text_filter = QLineEdit(self)
        self._text_filter.setObjectName("auditTextFilter")
        self._text_filter.setPlaceholderText("Filter: any text in any column")
        self._text_filter.setClearButtonEnabled(True)

        self._model = AuditTableModel(self)
        self._table = QTableView(self)
        self._table.setObjectName("auditTable")
        self._table.setModel(self._model)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.setWordWrap(False)
        self._table.verticalHeader().hide()
        header = self._table.horizontalHeader()
        for column in range(len(AuditTableModel.HEADERS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        self._count = QLabel(self)
        self._count.setObjectName("auditCount")

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("buttonBox")
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeButton")
        reload_button = buttons.addButton("&Reload", QDialogButtonBox.ButtonRole.ActionRole)
        reload_button.setObjectName("auditReloadButton")
        reload_button.setAutoDefault(False)
        close.setAutoDefault(False)
        buttons.rejected.connect(self.reject)
        reload_button.clicked.connect(self.reload)

        filters = QHBoxLayout()
        token_caption = QLabel("&Token:", self)
        token_caption.setBuddy(self._token_filter)
        text_caption = QLabel("&Filter:", self)
        text_caption.setBuddy(self._text_filter)
        filters.addWidget(token_caption)
        filters.addWidget(self._token_filter)
        filters.addSpacing(12)
        filters.addWidget(text_caption)
        filters.addWidget(self._text_filter, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._count)
        layout.addWidget(buttons)

        self._load_token_choices(token_id)
        self._token_filter.currentIndexChanged.connect(self.reload)
        self._text_filter.textChanged.connect(self._apply_text_filter)
        self.reload()
        self.resize(self.sizeHint().expandedTo(QSize(820, 460)))

    @property
    def model(self) -> AuditTableModel:
        return self._model

    def token_filter(self) -> int | None:
        value = self._token_filter.currentData()
        return value if isinstance(value, int) else None

    def set_token_filter(self, token_id: int | None) -> None:
        index = self._choices.row_of(token_id)
        if index is None:
            index = self._choices.add_trailing(f"#{token_id} (deleted)", token_id)
        self._token_filter.setCurrentIndex(index)

    def _load_token_choices(self, selected: int | None) -> None:
        _, names, rows = self._service.token_table()
        self._choices = TokenChoices(names, rows, leading=[("All tokens", None)], parent=self)
        offer(self._token_filter, self._choices)
        if selected is not None:
            self.set_token_filter(selected)

    def reload(self) -> None:
        """Read the events again (for the chosen token), newest first, and filter by text."""
        self._events = self._service.audit(token_id=self.token_filter(), limit=LIMIT)
        self._apply_text_filter()

    def _apply_text_filter(self) -> None:
        needle = self._text_filter.text().strip().casefold()
        if needle:
            shown = [
                event
                for event in self._events
                if any(needle in cell.casefold() for cell in AuditTableModel.cells(event))
            ]
        else:
            shown = self._events
        self._model.set_events(shown)
        total = len(self._events)
        noun = "event" if total == 1 else "events"
        text = f"{len(shown)} of {total} {noun} match" if needle else f"{total} {noun}"
        if total >= LIMIT:
            text += f" (the newest {LIMIT:,} are shown)"
        self._count.setText(text)
