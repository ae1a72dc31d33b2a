"""Access decisions: what the API answers for a presented token, a method and a path.

Two ways to the same answer (:func:`desktop.domain.access.decide` makes it in both): one indexed
lookup per request (:meth:`AccessDecisions.verify`, what the command line uses), or an in-memory
snapshot of every grant (:class:`AccessIndex`, for many decisions in-process).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from desktop.domain import access, tokens
from desktop.domain.access import Decision, Grant, Permission
from desktop.domain.clock import Clock, utc
from desktop.domain.validation import name_key
from desktop.services.context import ServiceContext
from desktop.storage import queries
from desktop.storage.lazy import deferred
from desktop.storage.states import ACTIVE, READY

if TYPE_CHECKING:
    from desktop.storage import repository
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")


def grant(
    token_id: int,
    active: bool,
    api_enabled: bool,
    permissions: frozenset[tuple[str, str]],
    grace_until: datetime | None,
    *,
    previous: bool,
    agent_refusal: str | None = None,
    expires_at: datetime | None = None,
) -> Grant:
    """What a matching secret grants; a *previous* secret only until *grace_until* (naive UTC);
    any secret of the token only until *expires_at* (naive UTC); nothing at all while
    *agent_refusal* says why its agent may not use tokens."""
    valid_until = None
    if previous:
        valid_until = utc(grace_until).timestamp() if grace_until else 0.0
    expires = utc(expires_at).timestamp() if expires_at is not None else None
    return Grant(token_id, active, api_enabled, permissions, valid_until, agent_refusal, expires)


class AccessDecisions:
    """Decides requests from the database, and takes snapshots for deciding in memory."""

    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._database = context.database

    def verify(self, environment: str, presented: str, method: str, path: str) -> Decision:
        """What the API answers for this token, method and path (one indexed lookup)."""
        rejected = access.precheck(presented)
        if rejected is not None:
            return rejected
        env = repository.find_environment(self._database, environment.strip())
        if env is None:
            return Decision(401, f"unknown environment {environment.strip()[:80]!r}")
        fingerprint = tokens.fingerprint(presented)
        matches = repository.tokens_by_fingerprint(self._database, fingerprint)
        row = next((r for r in matches if r.environment_id == env.id and r.phase == READY), None)
        valid_until = None  # a current secret
        if row is None:  # a replaced one, accepted until its own deadline
            replaced = repository.previous_by_fingerprint(self._database, fingerprint)
            for previous in replaced:  # latest deadline first
                if previous.token.environment_id == env.id and previous.token.phase == READY:
                    row, valid_until = previous.token, previous.valid_until
                    break
        found = None
        if row is not None:
            role_id, agent, disabled, logged_in, signed = queries.agent_standing(
                self._database, row.agent_id
            )
            keys = frozenset(
                Permission(*pair).key for pair in repository.permissions(self._database, role_id)
            )
            found = grant(
                row.id,
                row.status == ACTIVE,
                env.api_enabled,
                keys,
                valid_until,
                previous=valid_until is not None,
                agent_refusal=access.agent_refusal(
                    agent, disabled=disabled, has_logged_in=logged_in, signed_agreement=signed
                ),
                expires_at=row.expires_at,
            )
        return access.decide(found, method, path, _timestamp(self._context.clock, found))

    def access_index(self) -> AccessIndex:
        """A snapshot of every grant, for many decisions in-process (the window, benchmarks,
        the forward-auth server). Read as plain rows: 100,000 tokens take about a second."""
        directory = self._read_directory()
        # Keyed by the raw SHA-256 digest: quicker to make and to hash than its hex text.
        by_env: dict[str, dict[bytes, Grant]] = {
            key: {} for key, _, _ in directory.environments.values()
        }
        index = self._index(by_env, directory, {})
        _add_grants(
            index, by_env.__getitem__, queries.grant_rows(self._database), self._refusals(None)
        )
        return index

    def updated_index(
        self, index: AccessIndex, token_ids: Iterable[int], *, directory: bool = False
    ) -> AccessIndex:
        """*index* brought up to date, as a new index (*index* itself never changes, so a
        reader holding it decides from one consistent snapshot): the tokens *token_ids* read
        again (inserted, changed or deleted since), and with *directory* (environments, roles
        or agents changed) every token whose environment, agent or role is not as it was.

        Costs the rows of the tokens concerned and a copy of the dicts they are in (a few
        milliseconds for one token among 100,000), where :meth:`access_index` reads them all;
        when most tokens are concerned it is that instead."""
        wanted = set(token_ids)
        old = index._directory
        if old is None:
            return self.access_index()
        fresh = self._read_directory() if directory else old
        by_env: dict[str, dict[bytes, Grant]] = dict(index._by_env)
        shared: set[str] = set(by_env)  # still the dicts of *index*: copied before a change
        if directory:
            wanted |= _concerned(index, old, fresh)
            if len(wanted) > len(index._keys) // 2:
                return self.access_index()
            by_env = {}
            for env_id, (key, _, _) in fresh.environments.items():
                before = old.environments.get(env_id)
                kept = before is not None and before[0] == key and key in index._by_env
                by_env[key] = index._by_env[key] if kept else {}
            shared = {key for key in by_env if by_env[key] is index._by_env.get(key)}

        def grants_of(key: str) -> dict[bytes, Grant]:
            if key in shared:
                by_env[key] = dict(by_env[key])
                shared.discard(key)
            return by_env[key]

        updated = self._index(by_env, fresh, dict(index._agents))
        updated._keys = dict(index._keys)
        ordered = sorted(wanted)
        for token_id in ordered:
            held = updated._keys.pop(token_id, None)
            updated._agents.pop(token_id, None)
            if held is None or held[2] not in by_env:
                continue
            grants = grants_of(held[2])
            for fingerprint in held[3]:
                found = grants.get(fingerprint)
                if found is not None and found.token_id == token_id:
                    del grants[fingerprint]
        rows = queries.grant_rows(self._database, ordered)
        _add_grants(updated, grants_of, rows, self._refusals(ordered))
        return updated

    def _read_directory(self) -> _Directory:
        role_keys: dict[int, set[tuple[str, str]]] = {}
        for role_id, method, endpoint in queries.role_permissions(self._database):
            role_keys.setdefault(role_id, set()).add(Permission(method, endpoint).key)
        return _Directory(
            environments={
                env_id: (name_key(name), name, api_enabled)
                for env_id, name, api_enabled in queries.environment_access(self._database)
            },
            roles={role_id: frozenset(keys) for role_id, keys in role_keys.items()},
            agents=queries.agent_standings(self._database),
        )

    def _index(
        self, by_env: dict[str, dict[bytes, Grant]], directory: _Directory, agents: dict[int, str]
    ) -> AccessIndex:
        index = AccessIndex(
            by_env,
            self._stamp,
            agents=agents,
            environments={key: name for key, name, _ in directory.environments.values()},
        )
        index._directory = directory
        return index

    def _refusals(self, token_ids: Sequence[int] | None) -> dict[int, str | None]:
        """Tokens whose agent may not use them (of *token_ids*, or all): few, and each refused
        whatever it asks."""
        return {
            token_id: access.agent_refusal(
                agent, disabled=disabled, has_logged_in=logged_in, signed_agreement=signed
            )
            for token_id, agent, disabled, logged_in, signed in queries.ineligible_holders(
                self._database, token_ids
            )
        }

    def _stamp(self, found: Grant | None) -> float:
        return _timestamp(self._context.clock, found)


@dataclass(frozen=True)
class _Directory:
    """What an index's grants were made from besides the tokens' rows: each environment (id ->
    its key, name and whether its API is on), each role's permission keys, each agent's
    standing (id -> name, role id, disabled, logged in, signed the agreement)."""

    environments: dict[int, tuple[str, str, bool]]
    roles: dict[int, frozenset[tuple[str, str]]]
    agents: dict[int, tuple[str, int, bool, bool, bool]]


def _concerned(index: AccessIndex, old: _Directory, fresh: _Directory) -> set[int]:
    """The tokens of *index* whose environment, agent or agent's role differs between *old*
    and *fresh* (a few hundred rows each, compared in memory)."""
    environments = {
        env_id
        for env_id in old.environments.keys() | fresh.environments.keys()
        if old.environments.get(env_id) != fresh.environments.get(env_id)
    }
    roles = {
        role_id
        for role_id in old.roles.keys() | fresh.roles.keys()
        if old.roles.get(role_id) != fresh.roles.get(role_id)
    }
    agents = {
        agent_id
        for agent_id in old.agents.keys() | fresh.agents.keys()
        if old.agents.get(agent_id) != fresh.agents.get(agent_id)
        or (agent_id in fresh.agents and fresh.agents[agent_id][1] in roles)
    }
    if not (environments or agents):
        return set()
    return {
        token_id
        for token_id, (env_id, agent_id, _, _) in index._keys.items()
        if env_id in environments or agent_id in agents
    }


def _add_grants(
    index: AccessIndex,
    grants_of: Callable[[str], dict[bytes, Grant]],
    rows: list[tuple[int, int, int, str, str | None, Any, int, Any, int]],
    refused: dict[int, str | None],
) -> None:
    """Put the grants of *rows* (:func:`~desktop.storage.queries.grant_rows`) into *index*:
    each in the dict ``grants_of(environment key)`` gives, noted under its token."""
    directory = index._directory
    assert directory is not None
    environments, roles, standings = directory.environments, directory.roles, directory.agents
    keys, agents = index._keys, index._agents
    # One row per replaced secret a token has on record: its current secret's grant is made
    # once, and each replaced one gets a grant with its own deadline.
    current: Grant | None = None
    held: list[bytes] = []
    for (
        env_id,
        token_id,
        active,
        fingerprint,
        previous,
        grace_until,
        role_id,
        expiry,
        agent_id,
    ) in rows:
        key, _, enabled = environments[env_id]
        grants = grants_of(key)
        if current is None or current.token_id != token_id:
            agents[token_id] = standings[agent_id][0]
            current = grant(
                token_id,
                bool(active),
                enabled,
                roles.get(role_id, frozenset()),
                None,
                previous=False,
                agent_refusal=refused.get(token_id),
                expires_at=queries.stored_time(expiry),
            )
            digest = bytes.fromhex(fingerprint)
            grants[digest] = current
            held = [digest]
            keys[token_id] = env_id, agent_id, key, held
        if previous:
            digest = bytes.fromhex(previous)
            held.append(digest)
            grants[digest] = grant(
                token_id,
                bool(active),
                enabled,
                current.permissions,
                queries.stored_time(grace_until),
                previous=True,
                agent_refusal=current.agent_refusal,
                expires_at=queries.stored_time(expiry),
            )


def _timestamp(clock: Clock, found: Grant | None) -> float:
    """The clock as POSIX seconds, read only when a deadline (a grace, an expiry) needs it."""
    if found is None or found.deadline is None:
        return 0.0
    return clock.now().timestamp()


_sha256 = hashlib.sha256
_decide_route = access.decide_route
_precheck = access.precheck
_cached_route = access.cached_route
_route = access.route
_UNKNOWN = access.decide(None, "GET", "/", 0.0)  # what decide answers for no grant
_TOKEN_LENGTH = tokens.TOKEN_LENGTH
_NO_LABEL = "\0"  # not yet looked up (a name never holds a NUL)


class AccessIndex:
    """Decisions from an in-memory snapshot: a SHA-256 and two dict lookups per request."""

    def __init__(
        self,
        by_environment: dict[str, dict[bytes, Grant]],
        timestamp: Callable[[Grant | None], float],
        *,
        agents: dict[int, str] | None = None,
        environments: dict[str, str] | None = None,
    ) -> None:
        self._by_env = by_environment
        self._timestamp = timestamp
        self._spellings: dict[str, dict[bytes, Grant]] = {}  # environment as given -> its grants
        self._agents = agents if agents is not None else {}
        self._environments = environments or {}
        self._labels: dict[str, str | None] = {}  # environment as given -> its name
        # What updating needs (see AccessDecisions.updated_index): each token's environment
        # id, agent id, environment key and the fingerprints it holds there, and what its
        # grants were made from.
        self._keys: dict[int, tuple[int, int, str, list[bytes]]] = {}
        self._directory: _Directory | None = None

    def __len__(self) -> int:
        return sum(len(grants) for grants in self._by_env.values())

    def agent(self, token_id: int) -> str | None:
        """The name of the agent that holds token *token_id* (None for a token not in it): what
        a forward-auth server tells the API behind it. Looked up only for an allowed request,
        so :meth:`verify` pays nothing for it."""
        return self._agents.get(token_id)

    def environment_name(self, environment: str) -> str | None:
        """The registry's name of the environment *environment* names (as a request spells
        it), or None when there is none: a label an outsider's text never becomes. Remembered
        per spelling, as :meth:`verify` remembers its grants: comparing names costs more than
        a decision."""
        found = self._labels.get(environment, _NO_LABEL)
        if found is _NO_LABEL:
            found = self._environments.get(name_key(environment))
            if len(self._labels) < 1024:
                self._labels[environment] = found
        return found

    def verify(self, environment: str, presented: str, method: str, path: str) -> Decision:
        """What :func:`desktop.domain.access.decide` answers for the grant the presented secret
        matches: the same :func:`~desktop.domain.access.decide_route`, after a dict lookup."""
        grants = self._spellings.get(environment)
        if grants is None:
            grants = self._by_env.get(name_key(environment))
            if grants is not None and len(self._spellings) < 1024:
                self._spellings[environment] = grants
        if grants is None or len(presented) != _TOKEN_LENGTH:
            rejected = _precheck(presented)
            return rejected or Decision(401, f"unknown environment {environment.strip()[:80]!r}")
        try:  # tokens.fingerprint, inlined, as raw bytes (see access_index)
            found = grants.get(_sha256(presented.encode()).digest())
        except UnicodeEncodeError:  # a lone surrogate: not a token, and never a crash
            found = None
        if found is None:
            # Only now tell "malformed" from "unknown": the checksum costs more than a lookup.
            return _precheck(presented) or _UNKNOWN
        wanted = _cached_route((method, path)) or _route(method, path)
        # The clock is read only for a grant with a deadline (a grace, an expiry).
        now = 0.0 if found.deadline is None else self._timestamp(found)
        return _decide_route(found, wanted, now)
