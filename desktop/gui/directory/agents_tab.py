"""The Agents tab: every agent with the state that decides whether it may get tokens, a form
to add one or change its role, login and agreement, and a button that disables the selected
agent (every token it holds is refused) or enables it again."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import TokenDeskError
from desktop.gui import messages
from desktop.services.display import yes_no
from desktop.services.tokens import TokenService
from desktop.services.views import AgentView

DISABLE_TEXT = "D&isable agent"
ENABLE_TEXT = "Ena&ble agent"


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
                yes_no(agent.has_logged_in).capitalize(),
                yes_no(agent.signed_agreement).capitalize(),
                _eligibility_text(agent),
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


def _eligibility_text(agent: AgentView) -> str:
    """The "Can get tokens" cell: a disabled agent is told apart from one still signing up."""
    if agent.eligible:
        return "Yes"
    return "No (disabled)" if agent.disabled else "No"


class AgentsTab(QWidget):
    """The agents' table above a form that adds the agent typed in or edits the one selected.

    Reports like every tab of the directory: ``failed(what, why)`` for a refused change,
    ``succeeded(text)`` after a change the service accepted, ``cleared()`` when the user moves
    on and an old message would mislead.
    """

    failed = Signal(str, str)
    succeeded = Signal(str)
    cleared = Signal()

    def __init__(self, service: TokenService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agentsTab")
        self._service = service
        self._roles: list[str] = []  # offered in the form, as last loaded
        self._form_agent: AgentView | None = None  # the agent the form was filled from
        self._model = AgentTableModel(self)
        self._view = QTableView(self)
        self._view.setObjectName("agentList")
        self._view.setModel(self._model)
        self._view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._view.setAlternatingRowColors(True)
        self._view.verticalHeader().hide()
        header = self._view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(AgentTableModel.HEADERS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self._view.selectionModel().selectionChanged.connect(self._agent_selected)

        self._name = QLineEdit(self)
        self._name.setObjectName("agentNameEdit")
        self._name.setPlaceholderText("Name of the new agent")
        self._role = QComboBox(self)
        self._role.setObjectName("agentRoleCombo")
        self._role.setToolTip("What the agent's tokens may do")
        self._logged_in = QCheckBox("Has &logged in", self)
        self._logged_in.setObjectName("agentLoggedIn")
        self._signed = QCheckBox("Has &signed the usage agreement", self)
        self._signed.setObjectName("agentSignedAgreement")
        eligibility_tip = "Only agents who have logged in and signed the agreement may get tokens"
        self._logged_in.setToolTip(eligibility_tip)
        self._signed.setToolTip(eligibility_tip)

        self._new = QPushButton("&New agent", self)
        self._new.setObjectName("newAgentButton")
        self._new.setToolTip("Clear the form to add another agent")
        self._add = QPushButton("A&dd agent", self)
        self._add.setObjectName("addAgentButton")
        self._save = QPushButton("Sa&ve changes", self)
        self._save.setObjectName("saveAgentButton")
        # One button, whose text follows the selected agent: disable it, or enable it again.
        self._disable = QPushButton(DISABLE_TEXT, self)
        self._disable.setObjectName("disableAgentButton")

        self._box = QGroupBox("New agent", self)
        form = QFormLayout(self._box)
        form.addRow("Na&me:", self._name)
        form.addRow("R&ole:", self._role)
        flags = QHBoxLayout()
        flags.addWidget(self._logged_in)
        flags.addWidget(self._signed)
        flags.addStretch(1)
        form.addRow("Status:", flags)
        row = QHBoxLayout()
        row.addWidget(self._new)
        row.addWidget(self._disable)
        row.addStretch(1)
        row.addWidget(self._add)
        row.addWidget(self._save)
        form.addRow(row)

        layout = QVBoxLayout(self)
        layout.addWidget(self._view, 1)
        layout.addWidget(self._box)

        self._name.textChanged.connect(self._form_changed)
        self._name.returnPressed.connect(self._add_clicked)
        self._role.currentIndexChanged.connect(self._form_changed)
        self._logged_in.toggled.connect(self._form_changed)
        self._signed.toggled.connect(self._form_changed)
        self._new.clicked.connect(self._new_clicked)
        self._add.clicked.connect(self._add_clicked)
        self._save.clicked.connect(self._save_clicked)
        self._disable.clicked.connect(self._disable_clicked)

    def load(self, roles: Iterable[str]) -> None:
        """Offer ``roles`` in the form and read the agents again, keeping the selection."""
        self._roles = list(roles)
        current = self._selected()
        selected = current.name if current is not None else None
        with QSignalBlocker(self._role):
            role_text = self._role.currentText()
            self._role.clear()
            for name in self._roles:
                self._role.addItem(name, name)
            self._role.setCurrentIndex(max(0, self._role.findData(role_text)))
        self._model.set_agents(self._service.agents())
        row = self._model.row_of(selected) if selected else -1
        if row >= 0:
            with QSignalBlocker(self._view.selectionModel()):  # the form is filled just below
                self._view.selectRow(row)
            self._view.viewport().update()
        self._load_form()

    def unsaved_agent(self) -> str | None:
        """The agent whose form holds changes not yet saved, or None."""
        agent = self._form_agent
        return agent.name if agent is not None and self._form_differs(agent) else None

    def save(self) -> bool:
        """Save the form's changes to its agent; False when refused (``failed``)."""
        agent = self._form_agent
        if agent is None or not self._form_differs(agent):
            return True
        try:
            self._service.update_agent(
                agent.name,
                role=str(self._role.currentData()),
                has_logged_in=self._logged_in.isChecked(),
                signed_agreement=self._signed.isChecked(),
            )
        except TokenDeskError as error:
            self.failed.emit("The agent was not changed", str(error))
            return False
        self._reload_agents()
        self.succeeded.emit(f"Saved agent {agent.name}.")
        return True

    def _selected(self) -> AgentView | None:
        rows = self._view.selectionModel().selectedRows()
        if not rows:
            return None
        return self._model.agent(rows[0].row())

    def _agent_selected(self) -> None:
        """Another agent (or none) was chosen: ask first about the form's unsaved changes,
        and go back to their agent on Cancel or when saving them fails."""
        agent = self.unsaved_agent()
        if agent is not None:
            answer = messages.ask_save(self, "Unsaved Changes", f"Save changes to agent {agent}?")
            if answer == "cancel" or (answer == "save" and not self.save()):
                self._reselect(agent)
                return
            if answer == "save":
                return  # saving filled the form from the agent chosen; keep its message
        self.cleared.emit()
        self._load_form()

    def _reselect(self, name: str) -> None:
        """Select ``name`` again without touching the form, which still holds its edits."""
        with QSignalBlocker(self._view.selectionModel()):
            row = self._model.row_of(name)
            if row >= 0:
                self._view.selectRow(row)
        self._view.viewport().update()

    def _form_differs(self, agent: AgentView) -> bool:
        return (
            self._role.currentData() != agent.role
            or self._logged_in.isChecked() != agent.has_logged_in
            or self._signed.isChecked() != agent.signed_agreement
        )

    def _load_form(self) -> None:
        agent = self._selected()
        self._form_agent = agent
        widgets = (self._name, self._role, self._logged_in, self._signed)
        blockers = [QSignalBlocker(widget) for widget in widgets]
        if agent is None:
            self._box.setTitle("New agent")
            self._name.setReadOnly(False)
            self._name.setToolTip("")
            if self._name.text() and self._model.row_of(self._name.text()) >= 0:
                self._name.clear()
            self._logged_in.setChecked(False)
            self._signed.setChecked(False)
        else:
            self._box.setTitle(f"Agent {agent.name}")
            self._name.setText(agent.name)
            self._name.setReadOnly(True)
            self._name.setToolTip("An agent's name cannot be changed")
            self._role.setCurrentIndex(max(0, self._role.findData(agent.role)))
            self._logged_in.setChecked(agent.has_logged_in)
            self._signed.setChecked(agent.signed_agreement)
        for blocker in blockers:
            blocker.unblock()
        self._form_changed()

    def _form_changed(self) -> None:
        agent = self._selected()
        self._disable.setEnabled(agent is not None)
        if agent is not None and agent.disabled:
            self._disable.setText(ENABLE_TEXT)
            self._disable.setToolTip(f"Let {agent.name}'s tokens work again")
        else:
            self._disable.setText(DISABLE_TEXT)
            self._disable.setToolTip(
                "Refuse every token of the selected agent (401), and refresh or rotate none"
                if agent is not None
                else "Select an agent to disable it"
            )
        has_role = self._role.currentIndex() >= 0
        self._add.setEnabled(agent is None and has_role and bool(self._name.text().strip()))
        self._add.setToolTip("" if has_role else "Add a role first")
        self._save.setEnabled(agent is not None and self._form_differs(agent))

    def _new_clicked(self) -> None:
        self._view.clearSelection()
        self._view.setCurrentIndex(QModelIndex())
        self._name.clear()
        self._load_form()
        self._name.setFocus()

    def _add_clicked(self) -> None:
        if not self._add.isEnabled():
            return
        role = self._role.currentData()
        try:
            agent = self._service.add_agent(
                self._name.text(),
                str(role),
                has_logged_in=self._logged_in.isChecked(),
                signed_agreement=self._signed.isChecked(),
            )
        except TokenDeskError as error:
            self.failed.emit("The agent was not added", str(error))
            return
        self._reload_agents()
        row = self._model.row_of(agent.name)
        if row >= 0:
            self._view.selectRow(row)
        self.succeeded.emit(f"Added agent {agent.name}.")

    def _save_clicked(self) -> None:
        self.save()

    def _disable_clicked(self) -> None:
        agent = self._selected()
        if agent is None:
            return
        try:
            changed = self._service.set_agent_disabled(agent.name, not agent.disabled)
        except TokenDeskError as error:
            what = "enabled" if agent.disabled else "disabled"
            self.failed.emit(f"The agent was not {what}", str(error))
            return
        self._reload_agents()
        if changed.disabled:
            self.succeeded.emit(f"Disabled agent {changed.name}: its tokens are refused.")
        else:
            self.succeeded.emit(f"Enabled agent {changed.name}.")

    def _reload_agents(self) -> None:
        """Read the agents again after a change of one of them; the roles are as they were."""
        self.load(self._roles)
