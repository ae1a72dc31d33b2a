"""CreateTokenDialog: a new token for an eligible agent in an environment with API access."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.errors import InvalidInput, TokenDeskError
from desktop.domain.validation import MAX_LABEL, clean_label
from desktop.gui.expiry_dialog import ExpiryField
from desktop.gui.rotation_picker import RotationIntervalPicker
from desktop.gui.widgets import (
    ERROR_STYLE,
    WARNING_STYLE,
    FormGrid,
    fit_to_contents,
    message_label,
    sentence,
)
from desktop.services.tokens import TokenService
from desktop.services.views import AgentView, IssuedSecret


def hidden_agents_text(agents: list[AgentView]) -> str:
    """Why some agents are not offered, e.g. ``2 agents are hidden: 1 has never logged in, 1 has
    not signed the usage agreement``; empty when every agent is offered."""
    hidden = [agent for agent in agents if not agent.eligible]
    if not hidden:
        return ""
    disabled = sum(1 for agent in hidden if agent.disabled)
    never = sum(1 for agent in hidden if not agent.disabled and not agent.has_logged_in)
    unsigned = len(hidden) - disabled - never  # logged in, but no agreement
    reasons = []
    if disabled:
        reasons.append(f"{disabled} {'is' if disabled == 1 else 'are'} disabled")
    if never:
        reasons.append(f"{never} {'has' if never == 1 else 'have'} never logged in")
    if unsigned:
        verb = "has" if unsigned == 1 else "have"
        reasons.append(f"{unsigned} {verb} not signed the usage agreement")
    head = "1 agent is hidden" if len(hidden) == 1 else f"{len(hidden)} agents are hidden"
    return f"{head}: {', '.join(reasons)}"


class CreateTokenDialog(QDialog):
    """Collects environment, agent, label and schedule, then creates the token itself.

    *environment* is the one preselected (the one the window shows). Without one, or when it
    cannot be given tokens, none is preselected: the person chooses, never a default.

    On success :attr:`issued` holds the new token with its secret and the dialog accepts; any
    error is shown inline and the dialog stays open with nothing changed.
    """

    def __init__(
        self,
        service: TokenService,
        parent: QWidget | None = None,
        environment: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CreateTokenDialog")
        self.setWindowTitle("Create Token")
        self._service = service
        self.issued: IssuedSecret | None = None

        self._environment = QComboBox(self)
        self._environment.setObjectName("environmentCombo")
        self._environment.setToolTip(
            "Only environments with API access enabled can be given new tokens"
        )
        self._environment.setPlaceholderText("Choose an environment")
        self._no_environment = message_label("noEnvironmentLabel", WARNING_STYLE, self)

        self._agent = QComboBox(self)
        self._agent.setObjectName("agentCombo")
        self._agent.setToolTip(
            "Only agents who have logged in and signed the usage agreement can be given a token"
        )
        self._hidden_agents = QLabel(self)
        self._hidden_agents.setObjectName("hiddenAgentsLabel")
        self._hidden_agents.setWordWrap(True)
        # The way out when no agent may get a token: make one eligible, then come back.
        self._open_agents = QPushButton("&Open Agents && Roles…", self)
        self._open_agents.setObjectName("openAgentsButton")
        self._open_agents.setToolTip(
            "Add an agent, or record its login and signed usage agreement, in Agents & roles"
        )
        self._open_agents.setAutoDefault(False)
        self._open_agents.clicked.connect(self.open_agents)
        self._multiple = message_label("multipleTokensWarning", WARNING_STYLE, self)

        self._label = QLineEdit(self)
        self._label.setObjectName("labelEdit")
        self._label.setPlaceholderText("Optional, e.g. Nightly payments import")
        self._label.setToolTip(f"What the token is for; at most {MAX_LABEL} characters")
        self._label.setClearButtonEnabled(True)
        self._label_error = message_label("labelError", ERROR_STYLE, self)

        # Off by default: a token that expires is a choice, never a surprise.
        self._expiry = ExpiryField(service.clock, self)

        self._picker = RotationIntervalPicker(self, clock=service.clock)
        rotation_box = QGroupBox("Rotation", self)
        rotation_layout = QVBoxLayout(rotation_box)
        rotation_layout.addWidget(self._picker)

        self._error = message_label("errorLabel", ERROR_STYLE, self)

        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self._buttons.setObjectName("buttonBox")
        self._ok = self._buttons.button(QDialogButtonBox.StandardButton.Ok)
        self._ok.setText("Create token")
        self._ok.setObjectName("createButton")
        self._ok.setDefault(True)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)

        form = FormGrid()
        form.add_row("&Environment:", self._environment)
        form.add_row(None, self._no_environment)
        form.add_row("&Agent:", self._agent)
        form.add_row(None, self._hidden_agents)
        form.add_row(None, self._open_agents)
        form.add_row(None, self._multiple)
        form.add_row("&Label:", self._label)
        form.add_row(None, self._label_error)
        form.add_row(None, self._expiry)
        form.add_row(None, self._expiry.error)
        self._hidden_agents.hide()

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(rotation_box)
        layout.addWidget(self._error)
        layout.addStretch(1)
        layout.addWidget(self._buttons)

        self._load_environments(environment)
        self._load_agents()

        self._environment.currentIndexChanged.connect(self._input_changed)
        self._agent.currentIndexChanged.connect(self._agent_changed)
        self._label.textChanged.connect(self._input_changed)
        self._expiry.changed.connect(self._input_changed)
        self._picker.intervalChanged.connect(self._clear_error)
        self._picker.graceChanged.connect(self._clear_error)
        self._agent_changed()
        self.resize(560, 1)
        fit_to_contents(self, 560)

    # ----------------------------------------------------------------- choices

    def _load_environments(self, preferred: str | None) -> None:
        combo = self._environment
        model = combo.model()
        any_enabled = False
        for env in self._service.environments():
            if env.api_enabled:
                combo.addItem(env.name, env.name)
                any_enabled = True
                continue
            combo.addItem(f"{env.name} (API access disabled)", env.name)
            index = combo.count() - 1
            combo.setItemData(
                index,
                "API access is disabled for this environment; enable it under Agents & roles",
                Qt.ItemDataRole.ToolTipRole,
            )
            if isinstance(model, QStandardItemModel):
                item = model.item(index)
                if item is not None:
                    item.setEnabled(False)
        # Never a quiet default: a token in the wrong environment is one Enter away.
        selected = -1
        if preferred is not None:
            index = combo.findData(preferred.strip())
            if index >= 0 and self._environment_enabled(index):
                selected = index
        combo.setCurrentIndex(selected)
        if not any_enabled:
            self._no_environment.setText(
                "No environment has API access enabled; enable one under Agents & roles"
                if combo.count()
                else "There are no environments yet; add one under Agents & roles"
            )
            self._no_environment.show()

    def _environment_enabled(self, index: int) -> bool:
        model = self._environment.model()
        if isinstance(model, QStandardItemModel):
            item = model.item(index)
            return item is not None and item.isEnabled()
        return True

    def _load_agents(self) -> None:
        self._agent.clear()
        agents = self._service.agents()
        for agent in agents:
            if agent.eligible:
                self._agent.addItem(f"{agent.name} ({agent.role})", agent.name)
        text = hidden_agents_text(agents)
        if not any(agent.eligible for agent in agents):
            text = (
                ("No agent can be given a token yet. " + text)
                if text
                else ("There are no agents yet; add one under Agents & roles")
            )
        self._hidden_agents.setText(text)
        self._hidden_agents.setToolTip(
            "\n".join(
                f"{agent.name} {agent.ineligible_reason()}"
                for agent in agents
                if not agent.eligible
            )
        )
        self._hidden_agents.setVisible(bool(text))
        self._open_agents.setVisible(not any(agent.eligible for agent in agents))

    def open_agents(self) -> None:
        """Agents & roles on its Agents tab; the agents offered are read again afterwards."""
        from desktop.gui.directory_dialog import DirectoryDialog

        dialog = DirectoryDialog(self._service, self)
        try:
            dialog.show_agents()
            dialog.exec()
        finally:
            dialog.deleteLater()
        self._load_agents()
        self._agent_changed()

    # ----------------------------------------------------------------- state

    def environment(self) -> str | None:
        index = self._environment.currentIndex()
        if index < 0 or not self._environment_enabled(index):
            return None
        value = self._environment.itemData(index)
        return value if isinstance(value, str) else None

    def agent(self) -> str | None:
        value = self._agent.currentData()
        return value if isinstance(value, str) else None

    @property
    def picker(self) -> RotationIntervalPicker:
        return self._picker

    @property
    def expiry(self) -> ExpiryField:
        return self._expiry

    def _label_problem(self) -> str | None:
        try:
            clean_label(self._label.text())
        except InvalidInput as error:
            return sentence(str(error))
        return None

    def is_valid(self) -> bool:
        return (
            self.environment() is not None
            and self.agent() is not None
            and self._label_problem() is None
            and self._expiry.problem() is None
        )

    def _missing(self) -> str:
        """What still has to be chosen before the token can be created; empty when nothing."""
        if self.environment() is None:
            return "Choose an environment first"
        if self.agent() is None:
            return "Choose an agent first"
        return self._label_problem() or self._expiry.problem() or ""

    def _agent_changed(self) -> None:
        agent = self.agent()
        warnings: list[str] = []
        if agent is not None:
            try:
                warnings = self._service.creation_warnings(agent)
            except TokenDeskError as error:
                warnings = [str(error)]
        self._multiple.setText("\n".join(f"⚠ {sentence(w)}." for w in warnings))
        self._multiple.setVisible(bool(warnings))
        self._input_changed()

    def _input_changed(self) -> None:
        problem = self._label_problem()
        self._label_error.setText(problem or "")
        self._label_error.setVisible(problem is not None)
        self._ok.setEnabled(self.is_valid())
        self._ok.setToolTip(self._missing())
        self._clear_error()
        fit_to_contents(self, 560)

    def _clear_error(self) -> None:
        self._error.clear()
        self._error.hide()

    # ----------------------------------------------------------------- accept

    def accept(self) -> None:
        environment, agent = self.environment(), self.agent()
        if environment is None or agent is None or not self.is_valid():
            return
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            issued = self._service.create_token(
                environment,
                agent,
                label=self._label.text(),
                rotation=self._picker.interval(),
                grace=self._picker.grace(),
                expires=self._expiry.expires(),
            )
        except TokenDeskError as error:
            self._error.setText(f"The token was not created: {error}.")
            self._error.show()
            fit_to_contents(self, 560)
            return
        finally:
            QApplication.restoreOverrideCursor()
        self.issued = issued
        super().accept()

    @classmethod
    def ask(
        cls,
        service: TokenService,
        parent: QWidget | None = None,
        environment: str | None = None,
    ) -> IssuedSecret | None:
        """Show the dialog; the created token (with its secret), or None when cancelled."""
        dialog = cls(service, parent, environment)
        try:
            dialog.exec()
            return dialog.issued
        finally:
            dialog.deleteLater()
