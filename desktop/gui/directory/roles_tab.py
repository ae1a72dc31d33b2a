"""The Roles tab: the roles, and a grid of endpoints by methods where each role's permissions
are ticked, kept as unsaved drafts per role until saved or reverted."""

from __future__ import annotations

import html

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.access import ANY_METHOD, METHODS
from desktop.domain.errors import TokenDeskError
from desktop.gui.directory.drafts import RoleDrafts
from desktop.services.tokens import TokenService

# The permission grid's columns: any method first, then each method.
GRID_METHODS: tuple[str, ...] = (ANY_METHOD, *METHODS)
GRID_HEADERS: tuple[str, ...] = ("Any (*)", *METHODS)


class RolesTab(QWidget):
    """The role list beside the permission grid of the role selected.

    Reports like every tab of the directory: ``failed(what, why)``, ``succeeded(text)``,
    ``cleared()``, and ``noted(text)`` for a hint that changes nothing on disk. ``rolesChanged``
    fires when a role was added or saved, before ``succeeded``, so that the agents' form can
    offer the roles as they are now.
    """

    failed = Signal(str, str)
    succeeded = Signal(str)
    cleared = Signal()
    noted = Signal(str)
    rolesChanged = Signal()

    def __init__(self, service: TokenService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rolesTab")
        self._service = service
        self._drafts = RoleDrafts()

        self._list = QListWidget(self)
        self._list.setObjectName("roleList")
        self._list.setToolTip("Roles marked with • have unsaved changes")
        self._list.currentItemChanged.connect(self._role_selected)
        self._name = QLineEdit(self)
        self._name.setObjectName("roleNameEdit")
        self._name.setPlaceholderText("New role name")
        self._add = QPushButton("Add ro&le", self)
        self._add.setObjectName("addRoleButton")
        self._add.clicked.connect(self._add_clicked)
        self._name.returnPressed.connect(self._add_clicked)

        left = QVBoxLayout()
        roles_caption = QLabel("R&oles:", self)
        roles_caption.setBuddy(self._list)
        left.addWidget(roles_caption)
        left.addWidget(self._list, 1)
        add_row = QHBoxLayout()
        add_row.addWidget(self._name, 1)
        add_row.addWidget(self._add)
        left.addLayout(add_row)

        self._grid = QTableWidget(0, len(GRID_HEADERS), self)
        self._grid.setObjectName("permissionGrid")
        self._grid.setHorizontalHeaderLabels(list(GRID_HEADERS))
        self._grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._grid.setToolTip(
            "Tick what the role may do on each endpoint. GET /Loans also covers /Loans/42 and "
            "/Loans(42). Any (*) allows every method. Endpoints with nothing ticked are dropped "
            "when you save."
        )
        grid_header = self._grid.horizontalHeader()
        grid_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        grid_header.setStretchLastSection(False)
        self._grid.itemChanged.connect(self._grid_item_changed)

        self._endpoint = QLineEdit(self)
        self._endpoint.setObjectName("endpointEdit")
        self._endpoint.setPlaceholderText("/Endpoint, e.g. /Loans")
        self._endpoint.setToolTip("One path segment, such as /Loans or /Payments")
        self._add_endpoint = QPushButton("Add end&point", self)
        self._add_endpoint.setObjectName("addEndpointButton")
        self._remove_endpoint = QPushButton("Re&move endpoint", self)
        self._remove_endpoint.setObjectName("removeEndpointButton")
        self._remove_endpoint.setToolTip("Remove the selected endpoint row (saved with Save)")
        self._save = QPushButton("&Save role", self)
        self._save.setObjectName("saveRoleButton")
        self._revert = QPushButton("Rever&t", self)
        self._revert.setObjectName("revertRoleButton")
        self._revert.setToolTip("Forget the unsaved changes to this role")
        self._caption = QLabel(self)
        self._caption.setObjectName("roleCaption")

        endpoint_row = QHBoxLayout()
        endpoint_caption = QLabel("E&ndpoint:", self)
        endpoint_caption.setBuddy(self._endpoint)
        endpoint_row.addWidget(endpoint_caption)
        endpoint_row.addWidget(self._endpoint, 1)
        endpoint_row.addWidget(self._add_endpoint)
        endpoint_row.addWidget(self._remove_endpoint)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self._revert)
        save_row.addWidget(self._save)

        right = QVBoxLayout()
        right.addWidget(self._caption)
        right.addWidget(self._grid, 1)
        right.addLayout(endpoint_row)
        right.addLayout(save_row)

        self._list.setMinimumWidth(200)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 2)
        layout.addLayout(right, 5)

        self._endpoint.returnPressed.connect(self._add_endpoint_clicked)
        self._add_endpoint.clicked.connect(self._add_endpoint_clicked)
        self._remove_endpoint.clicked.connect(self._remove_endpoint_clicked)
        self._save.clicked.connect(self._save_clicked)
        self._revert.clicked.connect(self._revert_clicked)

    # ----------------------------------------------------------------- reading

    def load(self) -> None:
        """Read the roles again, keeping the selection and the drafts of roles still there."""
        self._drafts.reset(self._service.roles())
        self._fill_list()

    def names(self) -> list[str]:
        """The roles' names, in the list's order."""
        return self._drafts.names()

    def current_role(self) -> str | None:
        item = self._list.currentItem()
        if item is None:
            return None
        value = item.data(Qt.ItemDataRole.UserRole)
        return value if isinstance(value, str) else None

    def dirty_roles(self) -> list[str]:
        """The roles with unsaved changes, in the list's order."""
        return [name for name in self._drafts.names() if self._drafts.dirty(name)]

    def select(self, name: str) -> None:
        """Show the role ``name``, as choosing it in the list would."""
        for row in range(self._list.count()):
            if self._list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self._list.setCurrentRow(row)
                return

    def save(self, name: str) -> bool:
        """Save the role's draft; on refusal report it (``failed``) and keep the draft."""
        try:
            role = self._service.set_role_permissions(name, self._drafts.permissions(name))
        except TokenDeskError as error:
            self.failed.emit(f"Role {name} was not saved", str(error))
            return False
        self._drafts.saved(role)
        self._show_role()
        self.rolesChanged.emit()
        self.succeeded.emit(f"Saved role {role.name}.")
        return True

    def set_permission(self, endpoint: str, method: str, allowed: bool) -> None:
        """Tick or untick one box of the current role's grid, as a click would."""
        labels = [self._grid.verticalHeaderItem(row).text() for row in range(self._grid.rowCount())]
        row = labels.index(endpoint)
        item = self._grid.item(row, GRID_METHODS.index(method))
        if item is not None:
            item.setCheckState(Qt.CheckState.Checked if allowed else Qt.CheckState.Unchecked)

    # ----------------------------------------------------------------- showing

    def _fill_list(self) -> None:
        current = self.current_role()
        with QSignalBlocker(self._list):
            self._list.clear()
            names = self._drafts.names()
            for name in names:
                item = QListWidgetItem(name)
                item.setData(Qt.ItemDataRole.UserRole, name)
                self._list.addItem(item)
            self._mark_dirty_roles()
            if names:
                index = names.index(current) if current in names else 0
                self._list.setCurrentRow(index)
        self._show_role()

    def _mark_dirty_roles(self) -> None:
        for row in range(self._list.count()):
            item = self._list.item(row)
            name = item.data(Qt.ItemDataRole.UserRole)
            if isinstance(name, str):
                item.setText(f"{name} •" if self._drafts.dirty(name) else name)

    def _role_selected(self) -> None:
        self.cleared.emit()
        self._show_role()

    def _show_role(self) -> None:
        name = self.current_role()
        enabled = name is not None
        for widget in (self._grid, self._endpoint, self._add_endpoint, self._remove_endpoint):
            widget.setEnabled(enabled)
        with QSignalBlocker(self._grid):
            self._grid.setRowCount(0)
            if name is None:
                self._caption.setText("Add a role to set its permissions.")
            else:
                self._caption.setText(f"Permissions of <b>{html.escape(name)}</b>:")
                draft = self._drafts.draft(name)
                self._grid.setRowCount(len(draft))
                self._grid.setVerticalHeaderLabels(list(draft))
                for row, (endpoint, methods) in enumerate(draft.items()):
                    for column, method in enumerate(GRID_METHODS):
                        item = QTableWidgetItem()
                        item.setCheckState(
                            Qt.CheckState.Checked if method in methods else Qt.CheckState.Unchecked
                        )
                        item.setData(Qt.ItemDataRole.UserRole, endpoint)
                        item.setToolTip(
                            f"Any method on {endpoint}"
                            if method == ANY_METHOD
                            else f"{method} {endpoint}"
                        )
                        self._grid.setItem(row, column, item)
                    self._sync_grid_row(row, methods)
        self._sync_buttons()

    def _sync_grid_row(self, row: int, methods: set[str]) -> None:
        """Any (*) covers every method: grey the method boxes out while it is ticked."""
        any_method = ANY_METHOD in methods
        for column in range(1, len(GRID_METHODS)):
            item = self._grid.item(row, column)
            if item is None:
                continue
            flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            if not any_method:
                flags |= Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)

    def _sync_buttons(self) -> None:
        name = self.current_role()
        dirty = name is not None and self._drafts.dirty(name)
        self._save.setEnabled(dirty)
        self._revert.setEnabled(dirty)
        self._remove_endpoint.setEnabled(name is not None and self._grid.rowCount() > 0)
        self._mark_dirty_roles()

    # ----------------------------------------------------------------- editing

    def _grid_item_changed(self, item: QTableWidgetItem) -> None:
        name = self.current_role()
        endpoint = item.data(Qt.ItemDataRole.UserRole)
        if name is None or not isinstance(endpoint, str):
            return
        methods = self._drafts.set_method(
            name,
            endpoint,
            GRID_METHODS[item.column()],
            item.checkState() == Qt.CheckState.Checked,
        )
        with QSignalBlocker(self._grid):
            self._sync_grid_row(item.row(), methods)
        self.cleared.emit()
        self._sync_buttons()

    def _add_endpoint_clicked(self) -> None:
        name = self.current_role()
        if name is None:
            return
        try:
            endpoint = self._drafts.add_endpoint(name, self._endpoint.text().strip())
        except TokenDeskError as error:
            self.failed.emit("The endpoint was not added", str(error))
            return
        self._endpoint.clear()
        self.cleared.emit()
        self._show_role()
        self.noted.emit(f"Tick what {name} may do on {endpoint}, then save the role.")

    def _remove_endpoint_clicked(self) -> None:
        name = self.current_role()
        row = self._grid.currentRow()
        if name is None or not 0 <= row < self._grid.rowCount():
            self.failed.emit("Nothing was removed", "select an endpoint row first")
            return
        self._drafts.remove_endpoint(name, self._grid.verticalHeaderItem(row).text())
        self.cleared.emit()
        self._show_role()

    def _save_clicked(self) -> None:
        name = self.current_role()
        if name is not None:
            self.save(name)

    def _revert_clicked(self) -> None:
        name = self.current_role()
        if name is not None:
            self._drafts.revert(name)
            self.cleared.emit()
            self._show_role()

    def _add_clicked(self) -> None:
        try:
            role = self._service.add_role(self._name.text())
        except TokenDeskError as error:
            self.failed.emit("The role was not added", str(error))
            return
        self._name.clear()
        self._drafts.saved(role)
        self._fill_list()
        for row in range(self._list.count()):
            if self._list.item(row).data(Qt.ItemDataRole.UserRole) == role.name:
                self._list.setCurrentRow(row)
        self.rolesChanged.emit()
        self.succeeded.emit(f"Added role {role.name}; add its endpoints and tick what it may do.")
