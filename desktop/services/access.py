"""Access decisions: what the API answers for a presented token, a method and a path.

Two ways to the same answer (:func:`desktop.domain.access.decide` makes it in both): one indexed
lookup per request (:meth:`AccessDecisions.verify`, what the command line uses), or an in-memory
snapshot of every grant (:class:`AccessIndex`, for many decisions in-process).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

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
        """A snapshot of every grant, for many decisions in-process (the window, benchmarks).
        Read as plain rows: 100,000 tokens take a fraction of a second."""
        role_keys: dict[int, set[tuple[str, str]]] = {}
        for role_id, method, endpoint in queries.role_permissions(self._database):
            role_keys.setdefault(role_id, set()).add(Permission(method, endpoint).key)
        frozen = {role_id: frozenset(keys) for role_id, keys in role_keys.items()}
        # Keyed by the raw SHA-256 digest: quicker to make and to hash than its hex text.
        by_env: dict[str, dict[bytes, Grant]] = {}
        by_id: dict[int, tuple[dict[bytes, Grant], bool]] = {}
        env_names: dict[str, str] = {}
        for env_id, name, api_enabled in queries.environment_access(self._database):
            grants = by_env.setdefault(name_key(name), {})
            env_names[name_key(name)] = name
            by_id[env_id] = grants, api_enabled
        # Whose each token is, for a server's answer to the API it guards: one name object per
        # agent, shared by its tokens.
        agent_names = queries.agent_names(self._database)
        agents: dict[int, str] = {}
        # Tokens whose agent may not use them: few, and each refused whatever it asks.
        refused = {
            token_id: access.agent_refusal(
                agent, disabled=disabled, has_logged_in=logged_in, signed_agreement=signed
            )
            for token_id, agent, disabled, logged_in, signed in queries.ineligible_holders(
                self._database
            )
        }
        rows = queries.grant_rows(self._database)
        # One row per replaced secret a token has on record: its current secret's grant is
        # made once, and each replaced one gets a grant with its own deadline.
        current: Grant | None = None
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
            grants, enabled = by_id[env_id]
            if current is None or current.token_id != token_id:
                agents[token_id] = agent_names[agent_id]
                permissions = frozen.get(role_id, frozenset())
                current = grant(
                    token_id,
                    bool(active),
                    enabled,
                    permissions,
                    None,
                    previous=False,
                    agent_refusal=refused.get(token_id),
                    expires_at=queries.stored_time(expiry),
                )
                grants[bytes.fromhex(fingerprint)] = current
            if previous:
                ends = queries.stored_time(grace_until)
                grants[bytes.fromhex(previous)] = grant(
                    token_id,
                    bool(active),
                    enabled,
                    current.permissions,
                    ends,
                    previous=True,
                    agent_refusal=current.agent_refusal,
                    expires_at=queries.stored_time(expiry),
                )
        clock = self._context.clock
        return AccessIndex(
            by_env, lambda found: _timestamp(clock, found), agents=agents, environments=env_names
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
        self._agents = agents or {}
        self._environments = environments or {}

    def __len__(self) -> int:
        return sum(len(grants) for grants in self._by_env.values())

    def agent(self, token_id: int) -> str | None:
        """The name of the agent that holds token *token_id* (None for a token not in it): what
        a forward-auth server tells the API behind it. Looked up only for an allowed request,
        so :meth:`verify` pays nothing for it."""
        return self._agents.get(token_id)

    def environment_name(self, environment: str) -> str | None:
        """The registry's name of the environment *environment* names (as a request spells
        it), or None when there is none: a label an outsider's text never becomes."""
        return self._environments.get(name_key(environment))

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
