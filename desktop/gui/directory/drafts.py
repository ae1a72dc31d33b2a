"""Roles being edited: each role's permissions as a draft, and whether it differs from disk.

Qt-free on purpose: the roles tab only shows these drafts, so the rules of editing them (an
endpoint listed once whatever its case, ``*`` standing for every method, endpoints with nothing
ticked dropped on save) are tested without a widget.
"""

from __future__ import annotations

from collections.abc import Iterable

from desktop.domain.access import ANY_METHOD, METHODS, Permission
from desktop.domain.errors import RuleViolation
from desktop.services.views import RoleView

# One role's permissions while being edited: endpoint as written → methods ticked.
Draft = dict[str, set[str]]


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


def draft_key(draft: Draft) -> frozenset[tuple[str, str]]:
    """What the draft would grant once saved, comparable regardless of order and spelling."""
    return frozenset(Permission.parse(text).key for text in permissions_from_draft(draft))


class RoleDrafts:
    """The roles as last saved, in the order shown, and the unsaved edits of each by name.

    A draft is made the first time a role is edited or shown and lives until the role is saved
    or reverted, so switching between roles keeps every unsaved change.
    """

    def __init__(self) -> None:
        self._saved: dict[str, RoleView] = {}
        self._drafts: dict[str, Draft] = {}

    def reset(self, roles: Iterable[RoleView]) -> None:
        """Take ``roles`` as saved; keep the drafts of the roles that are still there."""
        self._saved = {role.name: role for role in roles}
        self._drafts = {name: d for name, d in self._drafts.items() if name in self._saved}

    def names(self) -> list[str]:
        """The roles' names: as read, then any added since, in the order added."""
        return list(self._saved)

    def saved(self, role: RoleView) -> None:
        """``role`` is now on disk as given: it replaces (or joins) the saved roles, and its
        draft, if any, is done with."""
        self._saved[role.name] = role
        self._drafts.pop(role.name, None)

    def draft(self, name: str) -> Draft:
        """The role's draft, started from its saved permissions the first time it is asked for."""
        if name not in self._drafts:
            self._drafts[name] = draft_from_role(self._saved[name])
        return self._drafts[name]

    def dirty(self, name: str) -> bool:
        """Whether saving the role's draft would change what the role grants."""
        if name not in self._drafts or name not in self._saved:
            return False
        return draft_key(self._drafts[name]) != draft_key(draft_from_role(self._saved[name]))

    def revert(self, name: str) -> None:
        """Forget the unsaved changes to the role."""
        self._drafts.pop(name, None)

    def permissions(self, name: str) -> list[str]:
        """What saving the role's draft would store."""
        return permissions_from_draft(self.draft(name))

    def set_method(self, name: str, endpoint: str, method: str, allowed: bool) -> set[str]:
        """Tick or untick one method (or ``*``) of one endpoint; return the endpoint's methods."""
        methods = self.draft(name).setdefault(endpoint, set())
        if allowed:
            methods.add(method)
        else:
            methods.discard(method)
        return methods

    def add_endpoint(self, name: str, text: str) -> str:
        """List the endpoint written as ``text`` with nothing ticked; return it as spelled.

        Raises :class:`~desktop.domain.errors.InvalidInput` when ``text`` is not one path
        segment, and :class:`~desktop.domain.errors.RuleViolation` when the role already lists
        it in any case.
        """
        permission = Permission.parse(f"GET {text}")
        draft = self.draft(name)
        existing = {Permission.parse(f"GET {endpoint}").key[1] for endpoint in draft}
        if permission.key[1] in existing:
            raise RuleViolation(f"{permission.endpoint} is already listed")
        draft[permission.endpoint] = set()
        return permission.endpoint

    def remove_endpoint(self, name: str, endpoint: str) -> None:
        """Drop an endpoint from the role's draft (gone from the role once saved)."""
        self.draft(name).pop(endpoint, None)
