"""The directory: environments, roles (with their permissions) and agents.

A name is one name however it is typed: lookups and the check for duplicates compare names by
:func:`~desktop.domain.validation.name_key` (case, spaces, invisible characters and how letters
are encoded aside), which the database's unique index on the stored key enforces too. Each
change is one transaction with its audit event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.domain.access import Permission
from desktop.domain.errors import NotFound, RuleViolation
from desktop.domain.validation import clean_name, shown
from desktop.services.context import ServiceContext
from desktop.services.display import yes_no
from desktop.services.views import AgentView, EnvironmentView, RoleView
from desktop.storage import queries
from desktop.storage.lazy import deferred

if TYPE_CHECKING:
    from desktop.storage import repository
    from desktop.storage.models import Agent, Environment, Role
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

MULTIPLE_TOKENS_WARNING = (
    "agent {agent} already has {tokens}; several tokens per agent are allowed but "
    "discouraged, because the origin of requests becomes harder to determine"
)


def _parse_permissions(texts: list[str] | tuple[str, ...]) -> list[Permission]:
    """Each text as a permission (:class:`InvalidInput` for one that is not), without repeats."""
    unique: dict[tuple[str, str], Permission] = {}
    for text in texts:
        permission = Permission.parse(text)
        unique.setdefault(permission.key, permission)
    return list(unique.values())


_ARTICLES = {"environment": "an", "role": "a", "agent": "an"}


def _unknown(what: str, name: str) -> NotFound:
    return NotFound(f"unknown {what} {shown(name.strip()[:100])}")


def _duplicate(what: str, name: str, existing: str) -> RuleViolation:
    """The refusal of *name* as a new *what*: *existing* is already that name."""
    message = f"{_ARTICLES[what]} {what} named {shown(existing)} already exists"
    if existing != name:
        message += (
            f"; {shown(name)} is the same name (names that differ only in case or in how their "
            "letters are encoded are one name)"
        )
    return RuleViolation(message)


def _describe(permissions: list[Permission]) -> str:
    return ", ".join(str(p) for p in permissions) or "no permissions"


def agent_view(agent: Agent, count: int) -> AgentView:
    """An agent (read with its role) as callers see it, holding *count* tokens."""
    return AgentView(
        agent.id,
        agent.name,
        agent.role.name,
        agent.has_logged_in,
        agent.signed_agreement,
        count,
        agent.disabled,
    )


class Directory:
    """Environments, roles and agents: who may hold tokens, where, and what they may do."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._database = context.database
        self._work = context.work

    # ----------------------------------------------------------------- lookups

    def environment_row(self, name: str) -> Environment:
        env = repository.find_environment(self._database, name.strip())
        if env is None:
            raise _unknown("environment", name)
        return env

    def environment_id(self, name: str | None) -> int | None:
        """The id of the named environment (None for None: every environment)."""
        if name is None:
            return None
        # Raw, not environment_row: the window's first screen is read before Peewee loads.
        environment_id = queries.environment_id(self._database, name.strip())
        if environment_id is None:
            raise _unknown("environment", name)
        return environment_id

    def role_row(self, name: str) -> Role:
        role = repository.find_role(self._database, name.strip())
        if role is None:
            raise _unknown("role", name)
        return role

    def agent_row(self, name: str) -> Agent:
        agent = repository.find_agent(self._database, name.strip())
        if agent is None:
            raise _unknown("agent", name)
        return agent

    # ----------------------------------------------------------------- environments

    def add_environment(self, name: str, *, api_enabled: bool = False) -> EnvironmentView:
        """A new environment. API access starts off unless asked for: its tokens answer 401
        until someone turns it on on purpose (secure by default)."""
        name = clean_name(name, "environment")
        with self._work.write() as audit:
            existing = repository.find_environment(self._database, name)
            if existing is not None:
                raise _duplicate("environment", name, existing.name)
            env = repository.insert_environment(
                self._database, name, api_enabled, self._context.now()
            )
            access = "enabled" if api_enabled else "disabled"
            audit("env-add", None, f"environment {name}, API access {access}")
        return self.environment(env.name)

    def set_api_enabled(self, name: str, enabled: bool) -> EnvironmentView:
        with self._work.write() as audit:
            env = self.environment_row(name)
            if env.api_enabled != enabled:
                repository.set_api_enabled(self._database, env.id, enabled)
                audit(
                    "env-enable" if enabled else "env-disable",
                    None,
                    f"API access {'enabled' if enabled else 'disabled'} for environment {env.name}",
                )
        return self.environment(name)

    def environment(self, name: str) -> EnvironmentView:
        env = self.environment_row(name)
        count = queries.token_count(self._database, env.id)
        return EnvironmentView(env.id, env.name, env.api_enabled, count)

    def environments(self, *, counted: bool = True) -> list[EnvironmentView]:
        """Every environment, by name; ``counted=False`` skips counting their tokens (each
        ``token_count`` is then 0): a scan of every token, which a window's first paint skips."""
        counts = queries.counts_by_environment(self._database) if counted else {}
        return [
            EnvironmentView(env_id, name, api_enabled, counts.get(env_id, 0))
            for env_id, name, api_enabled in queries.environments(self._database)
        ]

    # ----------------------------------------------------------------- roles

    def add_role(self, name: str, permissions: list[str] | tuple[str, ...] = ()) -> RoleView:
        name = clean_name(name, "role")
        parsed = _parse_permissions(permissions)
        with self._work.write() as audit:
            existing_role = repository.find_role(self._database, name)
            if existing_role is not None:
                raise _duplicate("role", name, existing_role.name)
            role = repository.insert_role(self._database, name, self._context.now())
            repository.replace_permissions(
                self._database, role.id, [(p.method, p.endpoint) for p in parsed]
            )
            audit("role-add", None, f"role {name}: {_describe(parsed)}")
        return self.role(name)

    def set_role_permissions(self, name: str, permissions: list[str] | tuple[str, ...]) -> RoleView:
        parsed = _parse_permissions(permissions)
        with self._work.write() as audit:
            role = self.role_row(name)
            repository.replace_permissions(
                self._database, role.id, [(p.method, p.endpoint) for p in parsed]
            )
            audit("role-update", None, f"role {role.name}: {_describe(parsed)}")
        return self.role(name)

    def _permission_texts(self, role_id: int) -> tuple[str, ...]:
        return tuple(
            sorted(
                f"{method} {endpoint}"
                for method, endpoint in repository.permissions(self._database, role_id)
            )
        )

    def role(self, name: str) -> RoleView:
        role = self.role_row(name)
        return RoleView(role.id, role.name, self._permission_texts(role.id))

    def roles(self) -> list[RoleView]:
        return [
            RoleView(role.id, role.name, self._permission_texts(role.id))
            for role in repository.roles(self._database)
        ]

    # ----------------------------------------------------------------- agents

    def add_agent(
        self,
        name: str,
        role: str,
        *,
        has_logged_in: bool = False,
        signed_agreement: bool = False,
    ) -> AgentView:
        name = clean_name(name, "agent")
        with self._work.write() as audit:
            role_row = self.role_row(role)
            existing_agent = repository.find_agent(self._database, name)
            if existing_agent is not None:
                raise _duplicate("agent", name, existing_agent.name)
            repository.insert_agent(
                self._database,
                name,
                role_row.id,
                has_logged_in=has_logged_in,
                signed_agreement=signed_agreement,
                now=self._context.now(),
            )
            audit(
                "agent-add",
                None,
                f"agent {name}, role {role_row.name}, logged in: {yes_no(has_logged_in)}"
                f", signed agreement: {yes_no(signed_agreement)}",
            )
        return self.agent(name)

    def update_agent(
        self,
        name: str,
        *,
        role: str | None = None,
        has_logged_in: bool | None = None,
        signed_agreement: bool | None = None,
    ) -> AgentView:
        with self._work.write() as audit:
            agent = self.agent_row(name)
            fields: dict[str, object] = {}
            changes = []
            if role is not None:
                role_row = self.role_row(role)
                if role_row.id != agent.role_id:
                    fields["role"] = role_row.id
                    changes.append(f"role {role_row.name}")
            if has_logged_in is not None and has_logged_in != agent.has_logged_in:
                fields["has_logged_in"] = has_logged_in
                changes.append(f"logged in: {yes_no(has_logged_in)}")
            if signed_agreement is not None and signed_agreement != agent.signed_agreement:
                fields["signed_agreement"] = signed_agreement
                changes.append(f"signed agreement: {yes_no(signed_agreement)}")
            if changes:
                repository.update_agent(self._database, agent.id, **fields)
                audit("agent-update", None, f"agent {agent.name}: " + ", ".join(changes))
        return self.agent(name)

    def set_agent_disabled(self, name: str, disabled: bool) -> AgentView:
        """Disable an agent (every token it holds answers 401, none is refreshed or rotated)
        or enable it again (its tokens work again if it is otherwise eligible): how a person
        is offboarded in one step, without deleting what they held."""
        with self._work.write() as audit:
            agent = self.agent_row(name)
            if agent.disabled != disabled:
                repository.update_agent(self._database, agent.id, disabled=disabled)
                count = repository.ready_count(self._database, agent_id=agent.id)
                held = "1 token" if count == 1 else f"{count} tokens"
                if disabled:
                    details = f"agent {agent.name} disabled; {held} refused until it is enabled"
                else:
                    details = f"agent {agent.name} enabled; {held} no longer refused for it"
                audit("agent-disable" if disabled else "agent-enable", None, details)
        return self.agent(name)

    def agent(self, name: str) -> AgentView:
        agent = self.agent_row(name)
        return agent_view(agent, queries.counts_by_agent(self._database).get(agent.id, 0))

    def agents(self) -> list[AgentView]:
        counts = queries.counts_by_agent(self._database)
        return [
            agent_view(agent, counts.get(agent.id, 0))
            for agent in repository.agents(self._database)
        ]

    def creation_warnings(self, agent_name: str) -> list[str]:
        """What creating a token for this agent would warn about (the window asks first)."""
        agent = self.agent_row(agent_name)
        count = repository.ready_count(self._database, agent_id=agent.id)
        if count:
            held = "a token" if count == 1 else f"{count} tokens"
            return [MULTIPLE_TOKENS_WARNING.format(agent=agent.name, tokens=held)]
        return []
