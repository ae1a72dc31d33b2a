"""DirectoryDialog ("Agents & roles"): agents, roles with their permissions, environments.

Every change goes through :class:`TokenService`; a refused change is explained inline and
leaves everything as it was.
"""

from __future__ import annotations

import html

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.access import ANY_METHOD, METHODS, Permission
from desktop.domain.errors import TokenDeskError
from desktop.gui.widgets import ERROR_STYLE, message_label
from desktop.services.tokens import TokenService
from desktop.services.views import AgentView, RoleView

# The permission grid's columns: any method first, then each method.
GRID_METHODS: tuple[str, ...] = (ANY_METHOD, *METHODS)
GRID_HEADERS: tuple[str, ...] = ("Any (*)", *METHODS)

# One role's permissions while being edited: endpoint as written → methods ticked.
Draft = dict[str, set[str]]


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def draft_from_role(role: RoleView) -> Draft:
    """Group ``"GET /Loans"`` texts by endpoint (case-insensitively, first spelling wins)."""
    draft: Draft = {}
    spelling: dict[str, str] = {}
    for text in role.permissions:
        permission = Permission.parse(text)
        key = permission.key[1]
        endpoint = spelling.setdefault(key, permission.endpoint)
        draft.setdefault(endpoint, set()).add(permission.method)
    return draft


def permissions_from_draft(draft: Draft) -> list[str]:
    """What to save: ``* /Ep`` alone when any method is ticked; endpoints with nothing go."""
    texts: list[str] = []
    for endpoint, methods in draft.items():
        if ANY_METHOD in methods:
            texts.append(f"{ANY_METHOD} {endpoint}")
        else:
            texts.extend(f"{method} {endpoint}" for method in METHODS if method in methods)
    return texts


def _draft_key(draft: Draft) -> frozenset[tuple[str, str]]:
    return frozenset(Permission.parse(text).key for text in permissions_from_draft(draft))


class AgentTableModel(QAbstractTableModel):
    """The agents, read-only, one row each."""

    HEADERS = ("Name", "Role", "Logged in", "Signed agreement", "Can get tokens", "Tokens")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._agents: list[AgentView] = []

    def set_agents(self, agents: list[AgentView]) -> None:
        self.beginResetModel()
        self._agents = list(agents)
        self.endResetModel()

    def agent(self, row: int) -> AgentView:
        return self._agents[row]

    def row_of(self, name: str) -> int:
        for row, agent in enumerate(self._agents):
            if agent.name == name:
                return row
        return -1

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._agents)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._agents):
            return None
        agent = self._agents[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            values = (
                agent.name,
                agent.role,
                _yes_no(agent.has_logged_in),
                _yes_no(agent.signed_agreement),
                "Yes" if agent.eligible else "No",
                str(agent.token_count),
            )
            return values[column] if 0 <= column < len(values) else None
        if role == Qt.ItemDataRole.ToolTipRole and column == 4:
            reason = agent.ineligible_reason()
            return f"{agent.name} {reason}" if reason else "May be given new tokens"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 5:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None


class DirectoryDialog(QDialog):
    """Agents, roles and environments. ``changed`` fires after every successful change."""

    changed = Signal()

    def __init__(self, service: TokenService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DirectoryDialog")
        self.setWindowTitle("Agents & Roles")
        self._service = service
        self._drafts: dict[str, Draft] = {}  # unsaved permission edits, by role name
        self._saved: dict[str, RoleView] = {}

        self._tabs = QTabWidget(self)
        self._tabs.setObjectName("directoryTabs")
        self._tabs.addTab(self._build_agents_tab(), "&Agents")
        self._tabs.addTab(self._build_roles_tab(), "&Roles")
        self._tabs.addTab(self._build_environments_tab(), "&Environments")

        self._error = message_label("directoryError", ERROR_STYLE, self)
        self._status = QLabel(self)
        self._status.setObjectName("directoryStatus")
        self._status.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("buttonBox")
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeButton")
        close.setAutoDefault(False)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self._tabs, 1)
        layout.addWidget(self._error)
        layout.addWidget(self._status)
        layout.addWidget(buttons)

        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)  # Enter in a field runs that field's action, not Close
        self._tabs.currentChanged.connect(self._clear_messages)
        self.reload()
        self.resize(self.sizeHint().expandedTo(QSize(780, 560)))

    # ----------------------------------------------------------------- building

    def _build_agents_tab(self) -> QWidget:
        page = QWidget(self)
        self._agent_model = AgentTableModel(self)
        self._agent_view = QTableView(page)
        self._agent_view.setObjectName("agentList")
        self._agent_view.setModel(self._agent_model)
        self._agent_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._agent_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._agent_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._agent_view.setAlternatingRowColors(True)
        self._agent_view.verticalHeader().hide()
        header = self._agent_view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(AgentTableModel.HEADERS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self._agent_view.selectionModel().selectionChanged.connect(self._agent_selected)

        self._agent_name = QLineEdit(page)
        self._agent_name.setObjectName("agentNameEdit")
        self._agent_name.setPlaceholderText("Name of the new agent")
        self._agent_role = QComboBox(page)
        self._agent_role.setObjectName("agentRoleCombo")
        self._agent_role.setToolTip("What the agent's tokens may do")
        self._agent_logged_in = QCheckBox("Has &logged in", page)
        self._agent_logged_in.setObjectName("agentLoggedIn")
        self._agent_signed = QCheckBox("Has &signed the usage agreement", page)
        self._agent_signed.setObjectName("agentSignedAgreement")
        eligibility_tip = "Only agents who have logged in and signed the agreement may get tokens"
        self._agent_logged_in.setToolTip(eligibility_tip)
        self._agent_signed.setToolTip(eligibility_tip)

        self._new_agent = QPushButton("&New agent", page)
        self._new_agent.setObjectName("newAgentButton")
        self._new_agent.setToolTip("Clear the form to add another agent")
        self._add_agent = QPushButton("A&dd agent", page)
        self._add_agent.setObjectName("addAgentButton")
        self._save_agent = QPushButton("Sa&ve changes", page)
        self._save_agent.setObjectName("saveAgentButton")

        self._agent_box = QGroupBox("New agent", page)
        form = QFormLayout(self._agent_box)
        form.addRow("Na&me:", self._agent_name)
        form.addRow("R&ole:", self._agent_role)
        flags = QHBoxLayout()
        flags.addWidget(self._agent_logged_in)
        flags.addWidget(self._agent_signed)
        flags.addStretch(1)
        form.addRow("Status:", flags)
        row = QHBoxLayout()
        row.addWidget(self._new_agent)
        row.addStretch(1)
        row.addWidget(self._add_agent)
        row.addWidget(self._save_agent)
        form.addRow(row)

        layout = QVBoxLayout(page)
        layout.addWidget(self._agent_view, 1)
        layout.addWidget(self._agent_box)

        self._agent_name.textChanged.connect(self._agent_form_changed)
        self._agent_name.returnPressed.connect(self._add_agent_clicked)
        self._agent_role.currentIndexChanged.connect(self._agent_form_changed)
        self._agent_logged_in.toggled.connect(self._agent_form_changed)
        self._agent_signed.toggled.connect(self._agent_form_changed)
        self._new_agent.clicked.connect(self._new_agent_clicked)
        self._add_agent.clicked.connect(self._add_agent_clicked)
        self._save_agent.clicked.connect(self._save_agent_clicked)
        return page

    def _build_roles_tab(self) -> QWidget:
        page = QWidget(self)
        self._role_list = QListWidget(page)
        self._role_list.setObjectName("roleList")
        self._role_list.setToolTip("Roles marked with • have unsaved changes")
        self._role_list.currentItemChanged.connect(self._role_selected)
        self._role_name = QLineEdit(page)
        self._role_name.setObjectName("roleNameEdit")
        self._role_name.setPlaceholderText("New role name")
        self._add_role = QPushButton("Add ro&le", page)
        self._add_role.setObjectName("addRoleButton")
        self._add_role.clicked.connect(self._add_role_clicked)
        self._role_name.returnPressed.connect(self._add_role_clicked)

        left = QVBoxLayout()
        roles_caption = QLabel("R&oles:", page)
        roles_caption.setBuddy(self._role_list)
        left.addWidget(roles_caption)
        left.addWidget(self._role_list, 1)
        add_row = QHBoxLayout()
        add_row.addWidget(self._role_name, 1)
        add_row.addWidget(self._add_role)
        left.addLayout(add_row)

        self._grid = QTableWidget(0, len(GRID_HEADERS), page)
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

        self._endpoint = QLineEdit(page)
        self._endpoint.setObjectName("endpointEdit")
        self._endpoint.setPlaceholderText("/Endpoint, e.g. /Loans")
        self._endpoint.setToolTip("One path segment, such as /Loans or /Payments")
        self._add_endpoint = QPushButton("Add end&point", page)
        self._add_endpoint.setObjectName("addEndpointButton")
        self._remove_endpoint = QPushButton("Re&move endpoint", page)
        self._remove_endpoint.setObjectName("removeEndpointButton")
        self._remove_endpoint.setToolTip("Remove the selected endpoint row (saved with Save)")
        self._save_role = QPushButton("&Save role", page)
        self._save_role.setObjectName("saveRoleButton")
        self._revert_role = QPushButton("Rever&t", page)
        self._revert_role.setObjectName("revertRoleButton")
        self._revert_role.setToolTip("Forget the unsaved changes to this role")
        self._role_caption = QLabel(page)
        self._role_caption.setObjectName("roleCaption")

        endpoint_row = QHBoxLayout()
        endpoint_caption = QLabel("E&ndpoint:", page)
        endpoint_caption.setBuddy(self._endpoint)
        endpoint_row.addWidget(endpoint_caption)
        endpoint_row.addWidget(self._endpoint, 1)
        endpoint_row.addWidget(self._add_endpoint)
        endpoint_row.addWidget(self._remove_endpoint)
        save_row = QHBoxLayout()
        save_row.addStretch(1)
        save_row.addWidget(self._revert_role)
        save_row.addWidget(self._save_role)

        right = QVBoxLayout()
        right.addWidget(self._role_caption)
        right.addWidget(self._grid, 1)
        right.addLayout(endpoint_row)
        right.addLayout(save_row)

        self._role_list.setMinimumWidth(200)
        layout = QHBoxLayout(page)
        layout.addLayout(left, 2)
        layout.addLayout(right, 5)

        self._endpoint.returnPressed.connect(self._add_endpoint_clicked)
        self._add_endpoint.clicked.connect(self._add_endpoint_clicked)
        self._remove_endpoint.clicked.connect(self._remove_endpoint_clicked)
        self._save_role.clicked.connect(self._save_role_clicked)
        self._revert_role.clicked.connect(self._revert_role_clicked)
        return page

    def _build_environments_tab(self) -> QWidget:
        page = QWidget(self)
        self._env_table = QTableWidget(0, 3, page)
        self._env_table.setObjectName("environmentList")
        self._env_table.setHorizontalHeaderLabels(["Environment", "API access", "Tokens"])
        self._env_table.verticalHeader().hide()
        self._env_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._env_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._env_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self._env_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._env_table.itemChanged.connect(self._env_item_changed)

        self._env_name = QLineEdit(page)
        self._env_name.setObjectName("environmentNameEdit")
        self._env_name.setPlaceholderText("New environment name, e.g. Staging")
        self._env_enabled = QCheckBox("API access ena&bled", page)
        self._env_enabled.setObjectName("environmentApiEnabled")
        self._env_enabled.setChecked(True)
        self._add_env = QPushButton("Add en&vironment", page)
        self._add_env.setObjectName("addEnvironmentButton")
        self._env_name.returnPressed.connect(self._add_environment_clicked)
        self._add_env.clicked.connect(self._add_environment_clicked)

        note = QLabel(
            "With API access off, every token of the environment is refused (401) and no new "
            "tokens can be created for it.",
            page,
        )
        note.setWordWrap(True)
        add_row = QHBoxLayout()
        caption = QLabel("&Name:", page)
        caption.setBuddy(self._env_name)
        add_row.addWidget(caption)
        add_row.addWidget(self._env_name, 1)
        add_row.addWidget(self._env_enabled)
        add_row.addWidget(self._add_env)

        layout = QVBoxLayout(page)
        layout.addWidget(self._env_table, 1)
        layout.addWidget(note)
        layout.addLayout(add_row)
        return page

    # ----------------------------------------------------------------- loading

    def reload(self) -> None:
        """Read agents, roles and environments again, keeping selections and unsaved drafts."""
        roles = self._service.roles()
        self._saved = {role.name: role for role in roles}
        self._drafts = {name: d for name, d in self._drafts.items() if name in self._saved}
        self._load_roles()
        self._load_agents()
        self._load_environments()

    def _load_agents(self) -> None:
        current = self._selected_agent()
        selected = current.name if current is not None else None
        with QSignalBlocker(self._agent_role):
            role_text = self._agent_role.currentText()
            self._agent_role.clear()
            for name in self._saved:
                self._agent_role.addItem(name, name)
            self._agent_role.setCurrentIndex(max(0, self._agent_role.findData(role_text)))
        self._agent_model.set_agents(self._service.agents())
        row = self._agent_model.row_of(selected) if selected else -1
        if row >= 0:
            self._agent_view.selectRow(row)
        self._load_agent_form()

    def _load_roles(self) -> None:
        current = self.current_role()
        with QSignalBlocker(self._role_list):
            self._role_list.clear()
            for name in self._saved:
                item = QListWidgetItem(name)
                item.setData(Qt.ItemDataRole.UserRole, name)
                self._role_list.addItem(item)
            self._mark_dirty_roles()
            names = list(self._saved)
            if names:
                index = names.index(current) if current in names else 0
                self._role_list.setCurrentRow(index)
        self._show_role()

    def _load_environments(self) -> None:
        with QSignalBlocker(self._env_table):
            environments = self._service.environments()
            self._env_table.setRowCount(len(environments))
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
                self._env_table.setItem(row, 0, name)
                self._env_table.setItem(row, 1, access)
                self._env_table.setItem(row, 2, count)

    # ----------------------------------------------------------------- messages

    def _clear_messages(self) -> None:
        self._error.clear()
        self._error.hide()
        self._status.clear()

    def _fail(self, what: str, error: TokenDeskError | str) -> None:
        self._status.clear()
        self._error.setText(f"{what}: {error}.")
        self._error.show()

    def _done(self, text: str) -> None:
        self._error.clear()
        self._error.hide()
        self._status.setText(text)
        self.changed.emit()

    # ----------------------------------------------------------------- agents

    def _selected_agent(self) -> AgentView | None:
        rows = self._agent_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self._agent_model.agent(rows[0].row())

    def _agent_selected(self) -> None:
        self._clear_messages()
        self._load_agent_form()

    def _load_agent_form(self) -> None:
        agent = self._selected_agent()
        widgets = (self._agent_name, self._agent_role, self._agent_logged_in, self._agent_signed)
        blockers = [QSignalBlocker(widget) for widget in widgets]
        if agent is None:
            self._agent_box.setTitle("New agent")
            self._agent_name.setReadOnly(False)
            self._agent_name.setToolTip("")
            if self._agent_name.text() and self._agent_model.row_of(self._agent_name.text()) >= 0:
                self._agent_name.clear()
            self._agent_logged_in.setChecked(False)
            self._agent_signed.setChecked(False)
        else:
            self._agent_box.setTitle(f"Agent {agent.name}")
            self._agent_name.setText(agent.name)
            self._agent_name.setReadOnly(True)
            self._agent_name.setToolTip("An agent's name cannot be changed")
            self._agent_role.setCurrentIndex(max(0, self._agent_role.findData(agent.role)))
            self._agent_logged_in.setChecked(agent.has_logged_in)
            self._agent_signed.setChecked(agent.signed_agreement)
        for blocker in blockers:
            blocker.unblock()
        self._agent_form_changed()

    def _agent_form_changed(self) -> None:
        agent = self._selected_agent()
        has_role = self._agent_role.currentIndex() >= 0
        self._add_agent.setEnabled(
            agent is None and has_role and bool(self._agent_name.text().strip())
        )
        self._add_agent.setToolTip("" if has_role else "Add a role first")
        self._save_agent.setEnabled(
            agent is not None
            and (
                self._agent_role.currentData() != agent.role
                or self._agent_logged_in.isChecked() != agent.has_logged_in
                or self._agent_signed.isChecked() != agent.signed_agreement
            )
        )

    def _new_agent_clicked(self) -> None:
        self._agent_view.clearSelection()
        self._agent_view.setCurrentIndex(QModelIndex())
        self._agent_name.clear()
        self._load_agent_form()
        self._agent_name.setFocus()

    def _add_agent_clicked(self) -> None:
        if not self._add_agent.isEnabled():
            return
        role = self._agent_role.currentData()
        try:
            agent = self._service.add_agent(
                self._agent_name.text(),
                str(role),
                has_logged_in=self._agent_logged_in.isChecked(),
                signed_agreement=self._agent_signed.isChecked(),
            )
        except TokenDeskError as error:
            self._fail("The agent was not added", error)
            return
        self._load_agents()
        row = self._agent_model.row_of(agent.name)
        if row >= 0:
            self._agent_view.selectRow(row)
        self._done(f"Added agent {agent.name}.")

    def _save_agent_clicked(self) -> None:
        agent = self._selected_agent()
        if agent is None or not self._save_agent.isEnabled():
            return
        try:
            self._service.update_agent(
                agent.name,
                role=str(self._agent_role.currentData()),
                has_logged_in=self._agent_logged_in.isChecked(),
                signed_agreement=self._agent_signed.isChecked(),
            )
        except TokenDeskError as error:
            self._fail("The agent was not changed", error)
            return
        self._load_agents()
        self._done(f"Saved agent {agent.name}.")

    # ----------------------------------------------------------------- roles

    def current_role(self) -> str | None:
        item = self._role_list.currentItem()
        if item is None:
            return None
        value = item.data(Qt.ItemDataRole.UserRole)
        return value if isinstance(value, str) else None

    def _draft(self, name: str) -> Draft:
        if name not in self._drafts:
            self._drafts[name] = draft_from_role(self._saved[name])
        return self._drafts[name]

    def _dirty(self, name: str) -> bool:
        if name not in self._drafts or name not in self._saved:
            return False
        return _draft_key(self._drafts[name]) != _draft_key(draft_from_role(self._saved[name]))

    def _mark_dirty_roles(self) -> None:
        for row in range(self._role_list.count()):
            item = self._role_list.item(row)
            name = item.data(Qt.ItemDataRole.UserRole)
            if isinstance(name, str):
                item.setText(f"{name} •" if self._dirty(name) else name)

    def _role_selected(self) -> None:
        self._clear_messages()
        self._show_role()

    def _show_role(self) -> None:
        name = self.current_role()
        enabled = name is not None
        for widget in (self._grid, self._endpoint, self._add_endpoint, self._remove_endpoint):
            widget.setEnabled(enabled)
        with QSignalBlocker(self._grid):
            self._grid.setRowCount(0)
            if name is None:
                self._role_caption.setText("Add a role to set its permissions.")
            else:
                self._role_caption.setText(f"Permissions of <b>{html.escape(name)}</b>:")
                draft = self._draft(name)
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
        self._sync_role_buttons()

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

    def _sync_role_buttons(self) -> None:
        name = self.current_role()
        dirty = name is not None and self._dirty(name)
        self._save_role.setEnabled(dirty)
        self._revert_role.setEnabled(dirty)
        self._remove_endpoint.setEnabled(name is not None and self._grid.rowCount() > 0)
        self._mark_dirty_roles()

    def _grid_item_changed(self, item: QTableWidgetItem) -> None:
        name = self.current_role()
        endpoint = item.data(Qt.ItemDataRole.UserRole)
        if name is None or not isinstance(endpoint, str):
            return
        methods = self._draft(name).setdefault(endpoint, set())
        method = GRID_METHODS[item.column()]
        if item.checkState() == Qt.CheckState.Checked:
            methods.add(method)
        else:
            methods.discard(method)
        with QSignalBlocker(self._grid):
            self._sync_grid_row(item.row(), methods)
        self._clear_messages()
        self._sync_role_buttons()

    def set_permission(self, endpoint: str, method: str, allowed: bool) -> None:
        """Tick or untick one box of the current role's grid, as a click would."""
        labels = [self._grid.verticalHeaderItem(row).text() for row in range(self._grid.rowCount())]
        row = labels.index(endpoint)
        item = self._grid.item(row, GRID_METHODS.index(method))
        if item is not None:
            item.setCheckState(Qt.CheckState.Checked if allowed else Qt.CheckState.Unchecked)

    def _add_endpoint_clicked(self) -> None:
        name = self.current_role()
        if name is None:
            return
        text = self._endpoint.text().strip()
        try:
            permission = Permission.parse(f"GET {text}")
        except TokenDeskError as error:
            self._fail("The endpoint was not added", error)
            return
        draft = self._draft(name)
        existing = {Permission.parse(f"GET {ep}").key[1] for ep in draft}
        if permission.key[1] in existing:
            self._fail("The endpoint was not added", f"{permission.endpoint} is already listed")
            return
        draft[permission.endpoint] = set()
        self._endpoint.clear()
        self._clear_messages()
        self._show_role()
        self._status.setText(
            f"Tick what {name} may do on {permission.endpoint}, then save the role."
        )

    def _remove_endpoint_clicked(self) -> None:
        name = self.current_role()
        row = self._grid.currentRow()
        if name is None or not 0 <= row < self._grid.rowCount():
            self._fail("Nothing was removed", "select an endpoint row first")
            return
        endpoint = self._grid.verticalHeaderItem(row).text()
        self._draft(name).pop(endpoint, None)
        self._clear_messages()
        self._show_role()

    def _save_role_clicked(self) -> None:
        name = self.current_role()
        if name is None:
            return
        try:
            role = self._service.set_role_permissions(
                name, permissions_from_draft(self._draft(name))
            )
        except TokenDeskError as error:
            self._fail(f"Role {name} was not saved", error)
            return
        self._saved[role.name] = role
        self._drafts.pop(role.name, None)
        self._show_role()
        self._load_agents()
        self._done(f"Saved role {role.name}.")

    def _revert_role_clicked(self) -> None:
        name = self.current_role()
        if name is not None:
            self._drafts.pop(name, None)
            self._clear_messages()
            self._show_role()

    def _add_role_clicked(self) -> None:
        try:
            role = self._service.add_role(self._role_name.text())
        except TokenDeskError as error:
            self._fail("The role was not added", error)
            return
        self._role_name.clear()
        self._saved[role.name] = role
        self._load_roles()
        for row in range(self._role_list.count()):
            if self._role_list.item(row).data(Qt.ItemDataRole.UserRole) == role.name:
                self._role_list.setCurrentRow(row)
        self._load_agents()
        self._done(f"Added role {role.name}; add its endpoints and tick what it may do.")

    # ----------------------------------------------------------------- environments

    def _env_item_changed(self, item: QTableWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if item.column() != 1 or not isinstance(name, str):
            return
        enabled = item.checkState() == Qt.CheckState.Checked
        try:
            self._service.set_api_enabled(name, enabled)
        except TokenDeskError as error:
            self._load_environments()
            self._fail(f"API access of {name} was not changed", error)
            return
        self._load_environments()
        self._done(f"API access {'enabled' if enabled else 'disabled'} for {name}.")

    def set_api_access(self, environment: str, enabled: bool) -> None:
        """Tick or untick an environment's API access box, as a click would."""
        for row in range(self._env_table.rowCount()):
            item = self._env_table.item(row, 1)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == environment:
                item.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
                return
        raise KeyError(environment)

    def _add_environment_clicked(self) -> None:
        try:
            env = self._service.add_environment(
                self._env_name.text(), api_enabled=self._env_enabled.isChecked()
            )
        except TokenDeskError as error:
            self._fail("The environment was not added", error)
            return
        self._env_name.clear()
        self._load_environments()
        self._done(f"Added environment {env.name}.")
