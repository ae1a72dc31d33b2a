"""DirectoryDialog ("Agents & roles"): agents, roles with their permissions, environments.

Every change goes through :class:`TokenService`; a refused change is explained inline and
leaves everything as it was. Each tab lives in :mod:`desktop.gui.directory`; this dialog puts
them side by side, shows the error or status line they share and keeps the agents' choice of
roles in step with the Roles tab.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.gui import messages
from desktop.gui.directory.agents_tab import AgentsTab
from desktop.gui.directory.environments_tab import EnvironmentsTab
from desktop.gui.directory.roles_tab import RolesTab
from desktop.gui.widgets import ERROR_STYLE, message_label
from desktop.services.tokens import TokenService


class DirectoryDialog(QDialog):
    """Agents, roles and environments. ``changed`` fires after every successful change."""

    changed = Signal()

    def __init__(self, service: TokenService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DirectoryDialog")
        self.setWindowTitle("Agents & Roles")

        self._tabs = QTabWidget(self)
        self._tabs.setObjectName("directoryTabs")
        self._agents = AgentsTab(service, self)
        self._roles = RolesTab(service, self)
        self._environments = EnvironmentsTab(service, self)
        self._tabs.addTab(self._agents, "&Agents")
        self._tabs.addTab(self._roles, "&Roles")
        self._tabs.addTab(self._environments, "&Environments")

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
        for tab in (self._agents, self._roles, self._environments):
            tab.failed.connect(self._fail)
            tab.succeeded.connect(self._done)
        self._agents.cleared.connect(self._clear_messages)
        self._roles.cleared.connect(self._clear_messages)
        self._roles.noted.connect(self._status.setText)
        self._roles.rolesChanged.connect(self._roles_changed)
        self._tabs.currentChanged.connect(self._clear_messages)
        self.reload()
        self.resize(self.sizeHint().expandedTo(QSize(780, 560)))

    def show_agents(self) -> None:
        """Turn to the Agents tab, where an agent is made eligible for tokens."""
        self._tabs.setCurrentWidget(self._agents)

    def reload(self) -> None:
        """Read agents, roles and environments again, keeping selections and unsaved drafts."""
        self._roles.load()
        self._roles_changed()
        self._environments.load()

    def current_role(self) -> str | None:
        """The role the Roles tab shows, or None when there is none."""
        return self._roles.current_role()

    def set_permission(self, endpoint: str, method: str, allowed: bool) -> None:
        """Tick or untick one box of the current role's grid, as a click would."""
        self._roles.set_permission(endpoint, method, allowed)

    def set_api_access(self, environment: str, enabled: bool) -> None:
        """Tick or untick an environment's API access box, as a click would."""
        self._environments.set_api_access(environment, enabled)

    def reject(self) -> None:
        """Esc, Close and the title bar's close button: first ask about each unsaved change, as
        a password manager does for an unsaved entry; Cancel, or a failed save, stays open."""
        if self._settle_unsaved():
            super().reject()

    def _settle_unsaved(self) -> bool:
        """Save or discard, as the user answers, every unsaved change; False to stay open."""
        agent = self._agents.unsaved_agent()
        if agent is not None:
            self._tabs.setCurrentWidget(self._agents)
            answer = messages.ask_save(self, "Unsaved Changes", f"Save changes to agent {agent}?")
            if answer == "cancel" or (answer == "save" and not self._agents.save()):
                return False
        for role in self._roles.dirty_roles():
            self._tabs.setCurrentWidget(self._roles)
            self._roles.select(role)
            answer = messages.ask_save(self, "Unsaved Changes", f"Save changes to role {role}?")
            if answer == "cancel" or (answer == "save" and not self._roles.save(role)):
                return False
        return True

    def _roles_changed(self) -> None:
        """Offer the roles as they are now to the agents' form, and read the agents again."""
        self._agents.load(self._roles.names())

    def _clear_messages(self) -> None:
        self._error.clear()
        self._error.hide()
        self._status.clear()

    def _fail(self, what: str, why: str) -> None:
        self._status.clear()
        self._error.setText(f"{what}: {why}.")
        self._error.show()

    def _done(self, text: str) -> None:
        self._error.clear()
        self._error.hide()
        self._status.setText(text)
        self.changed.emit()
