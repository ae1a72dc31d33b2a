"""The Environments tab: each environment with its API access switch and token count, and a
row to add one."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import TokenDeskError
from desktop.services.tokens import TokenService


class EnvironmentsTab(QWidget):
    """The environments' table, whose API access boxes switch access at once.

    Reports like every tab of the directory: ``failed(what, why)`` and ``succeeded(text)``.
    """

    failed = Signal(str, str)
    succeeded = Signal(str)

    def __init__(self, service: TokenService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("environmentsTab")
        self._service = service
        self._table = QTableWidget(0, 3, self)
        self._table.setObjectName("environmentList")
        self._table.setHorizontalHeaderLabels(["Environment", "API access", "Tokens"])
        self._table.verticalHeader().hide()
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._table.itemChanged.connect(self._item_changed)

        self._name = QLineEdit(self)
        self._name.setObjectName("environmentNameEdit")
        self._name.setPlaceholderText("New environment name, e.g. Staging")
        self._enabled = QCheckBox("API access ena&bled", self)
        self._enabled.setObjectName("environmentApiEnabled")
        # Off unless asked for: a new environment refuses its tokens until access is turned on.
        self._enabled.setChecked(False)
        self._enabled.setToolTip("Leave unticked to add the environment with API access off")
        self._add = QPushButton("Add en&vironment", self)
        self._add.setObjectName("addEnvironmentButton")
        self._name.returnPressed.connect(self._add_clicked)
        self._add.clicked.connect(self._add_clicked)

        note = QLabel(
            "With API access off, every token of the environment is refused (401) and no new "
            "tokens can be created for it.",
            self,
        )
        note.setWordWrap(True)
        add_row = QHBoxLayout()
        caption = QLabel("&Name:", self)
        caption.setBuddy(self._name)
        add_row.addWidget(caption)
        add_row.addWidget(self._name, 1)
        add_row.addWidget(self._enabled)
        add_row.addWidget(self._add)

        layout = QVBoxLayout(self)
        layout.addWidget(self._table, 1)
        layout.addWidget(note)
        layout.addLayout(add_row)

    def load(self) -> None:
        """Read the environments again."""
        with QSignalBlocker(self._table):
            environments = self._service.environments()
            self._table.setRowCount(len(environments))
            for row, env in enumerate(environments):
                name = QTableWidgetItem(env.name)
                name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                name.setData(Qt.ItemDataRole.UserRole, env.name)
                access = QTableWidgetItem("Enabled" if env.api_enabled else "Disabled")
                access.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsUserCheckable
                )
                access.setCheckState(
                    Qt.CheckState.Checked if env.api_enabled else Qt.CheckState.Unchecked
                )
                access.setData(Qt.ItemDataRole.UserRole, env.name)
                access.setToolTip("Untick to refuse every token of this environment")
                count = QTableWidgetItem(str(env.token_count))
                count.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self._table.setItem(row, 0, name)
                self._table.setItem(row, 1, access)
                self._table.setItem(row, 2, count)

    def set_api_access(self, environment: str, enabled: bool) -> None:
        """Tick or untick an environment's API access box, as a click would."""
        for row in range(self._table.rowCount()):
            item = self._table.item(row, 1)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == environment:
                item.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
                return
        raise KeyError(environment)

    def _item_changed(self, item: QTableWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if item.column() != 1 or not isinstance(name, str):
            return
        enabled = item.checkState() == Qt.CheckState.Checked
        try:
            self._service.set_api_enabled(name, enabled)
        except TokenDeskError as error:
            self.load()
            self.failed.emit(f"API access of {name} was not changed", str(error))
            return
        self.load()
        self.succeeded.emit(f"API access {'enabled' if enabled else 'disabled'} for {name}.")

    def _add_clicked(self) -> None:
        try:
            env = self._service.add_environment(
                self._name.text(), api_enabled=self._enabled.isChecked()
            )
        except TokenDeskError as error:
            self.failed.emit("The environment was not added", str(error))
            return
        self._name.clear()
        self.load()
        self.succeeded.emit(f"Added environment {env.name}.")
