"""Access decisions: what the API answers for a presented token, a method and a path.

The decision is a pure function of a :class:`Grant` (what the database knows about the token that
matches the presented secret, or None) so the command line (one SQL lookup) and the in-process
index (a dict) are guaranteed to answer alike.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote, unquote_to_bytes

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput, RuleViolation

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ANY_METHOD = "*"
_SEGMENT = r"[A-Za-z0-9_.\-]+"
# ASCII: under IGNORECASE alone, [A-Za-z] also matches the Kelvin sign and the long s.
_ENDPOINT = re.compile(rf"/?(?:odata\.svc/)?({_SEGMENT})(?:[/(?].*)?", re.IGNORECASE | re.ASCII)
_PERMISSION_ENDPOINT = re.compile(_SEGMENT, re.ASCII)
_DOT_SEGMENTS = frozenset({".", ".."})
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True, slots=True)
class Permission:
    """A role grants one method (or ``*``) on one endpoint, e.g. ``GET /Loans``."""

    method: str
    endpoint: str  # as written, e.g. "/Loans"

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.endpoint.strip("/").lower()

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint}"

    @classmethod
    def parse(cls, text: str) -> Permission:
        """Parse ``"METHOD /Endpoint"``; raise :class:`InvalidInput` when it is not one."""
        if tokens.appears_in(text):  # checked first: no message below may repeat it
            raise InvalidInput("a permission must not contain a token secret")
        parts = text.split()
        if len(parts) != 2:
            raise InvalidInput(f'invalid permission {text!r}: write it as "METHOD /Endpoint"')
        method, endpoint = parts[0].upper(), parts[1]
        if method != ANY_METHOD and method not in METHODS:
            raise InvalidInput(f"invalid method {parts[0]!r}: use one of {', '.join(METHODS)} or *")
        if not endpoint.startswith("/") or endpoint.startswith("//"):
            # "GET Loans" is not silently "/Loans": it may be a typo for something else.
            raise InvalidInput(
                f"invalid endpoint {endpoint!r}: an endpoint starts with /, such as /Loans"
            )
        name = endpoint.strip("/")
        # Exactly one segment, as a request path would give it (a "?" or "(" never matches).
        if (
            _PERMISSION_ENDPOINT.fullmatch(name) is None
            or name in _DOT_SEGMENTS
            or endpoint_segment(name) is None
        ):
            raise InvalidInput(
                f"invalid endpoint {endpoint!r}: write one path segment such as /Loans"
            )
        return cls(method, "/" + name)


@lru_cache(maxsize=4096)
def endpoint_segment(path: str) -> str | None:
    """The first path segment, lower-cased, ignoring an ``odata.svc/`` prefix.

    ``/Loans``, ``/Loans/5``, ``/Loans(5)`` and ``/odata.svc/Loans(5)/Payments`` all give
    ``loans``. Returns None for a path with no usable segment.
    """
    match = _ENDPOINT.fullmatch(path.strip())
    if match is None:
        return None
    segment = match.group(1).lower()
    return None if segment == "odata.svc" else segment


def has_dot_segment(path: str) -> bool:
    """True when a ``.`` or ``..`` segment (also percent-encoded, or with ``;params``) could
    move the request off the endpoint its first segment names, as in ``/Loans/../Users``."""
    # A dot segment starts the path or follows a "/"; without one, and with nothing
    # percent-encoded, there is none (the quick answer for "/odata.svc/Loans(5)").
    if "/." not in path and not path.startswith(".") and "%" not in path:
        return False
    route = unquote(path.split("?", 1)[0])
    return any(part.split(";", 1)[0] in _DOT_SEGMENTS for part in route.split("/"))


def ambiguous_path(path: str) -> str | None:
    """Why a server might read *path* differently from how it is decided here, or None.

    A path is decided as it reads after one percent-decoding; one that still holds an escape
    then (``/Loans/%252e%252e/Admin``, which a server that decodes twice reads as ``..``), one
    whose escapes are not valid UTF-8 (the overlong ``%c0%ae``, a ``.`` to lenient decoders),
    or one with whitespace or control characters in a segment is refused rather than guessed
    at, and so is one with characters that Unicode's compatibility normalization (NFKC) turns
    into others: a server or proxy that applies it reads two fullwidth full stops (U+FF0E)
    as ``..``.
    Only the path counts: the query string is the API's own business.
    """
    part = path.split("?", 1)[0]
    # The quick answer for the usual path: printable, no escapes, no spaces.
    if "%" not in part and " " not in part and part.isprintable():
        if part.isascii() or unicodedata.is_normalized("NFKC", part):
            return None
        return _COMPATIBILITY
    try:
        decoded = unquote_to_bytes(part).decode("utf-8")
    except UnicodeError:  # invalid or overlong UTF-8, or a lone surrogate in the text
        return "its percent-escapes are not valid UTF-8"
    if _PERCENT_ESCAPE.search(decoded) is not None:
        return "it holds percent-escapes after decoding"
    # Not printable: controls, invisible format characters (zero-width spaces, direction
    # marks), separators other than the ASCII space, which isspace() adds.
    if not decoded.isprintable() or any(char.isspace() for char in decoded):
        return "a segment holds whitespace or control characters"
    if not decoded.isascii() and not unicodedata.is_normalized("NFKC", decoded):
        return _COMPATIBILITY
    return None


_COMPATIBILITY = "it holds characters that read as others once normalized (NFKC)"


class IneligibleAgent(RuleViolation):
    """The agent may not use or get tokens now: disabled, or without both the login and the
    signed usage agreement. A rule's refusal, so nothing is tried again until someone acts."""


def agent_refusal(
    name: str, *, disabled: bool, has_logged_in: bool, signed_agreement: bool
) -> str | None:
    """Why the agent's tokens are refused (401) whatever they ask, or None when it may use
    them. Checked for every request and every new secret, not only when a token is created:
    disabling an agent, or clearing one of its flags, takes every token it holds out of use."""
    if disabled:
        return f"agent {name!r} is disabled"
    missing = []
    if not has_logged_in:
        missing.append("has not logged in")
    if not signed_agreement:
        missing.append("has not signed the usage agreement")
    if not missing:
        return None
    return f"agent {name!r} " + " and ".join(missing)


class Decision(NamedTuple):
    """The API's answer. A named tuple: made millions of times a second, it must be cheap."""

    status: int
    reason: str
    token_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


@dataclass(frozen=True, slots=True)
class Grant:
    """What is known about the token whose fingerprint matched: enough to decide."""

    token_id: int
    active: bool
    api_enabled: bool
    permissions: frozenset[tuple[str, str]]  # (METHOD or "*", endpoint segment lower-case)
    valid_until: float | None = None  # POSIX seconds: set for a previous secret in its grace
    agent_refusal: str | None = None  # why its agent may not use tokens (see agent_refusal)
    expires_at: float | None = None  # POSIX seconds: the token (every secret of it) expires
    # Answers that depend on the grant alone, made once per grant (decisions are values).
    allowed_decision: Decision = field(init=False, repr=False, compare=False)
    refusal: Decision | None = field(init=False, repr=False, compare=False)  # whatever the call
    # The first instant a refusal by time may apply (the earlier of the two above), or None:
    # the one thing a caller checks before it reads a clock.
    deadline: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_decision", Decision(200, "allowed", self.token_id))
        ends = [when for when in (self.valid_until, self.expires_at) if when is not None]
        object.__setattr__(self, "deadline", min(ends) if ends else None)
        refusal = None
        if not self.api_enabled:
            refusal = Decision(401, "API access is disabled for this environment", self.token_id)
        elif self.agent_refusal is not None:
            refusal = Decision(401, self.agent_refusal, self.token_id)
        elif not self.active:
            refusal = Decision(401, "token is inactive", self.token_id)
        object.__setattr__(self, "refusal", refusal)


_NO_TOKEN = Decision(401, "no token presented")
_TOO_LONG = Decision(401, "token is too long")
_MALFORMED = Decision(401, "token is malformed (bad format or checksum)")
_UNKNOWN = Decision(401, "unknown token")
EXPIRED = "token expired"
GRACE_ENDED = "token was replaced and its grace period has ended"


def precheck(presented: str) -> Decision | None:
    """Reject what cannot be a token before any lookup: empty, oversized or malformed."""
    if not presented:
        return _NO_TOKEN
    if len(presented) > tokens.MAX_PRESENTED_LENGTH:
        return _TOO_LONG
    if not tokens.is_well_formed(presented):
        return _MALFORMED
    return None


class Route(NamedTuple):
    """What a method and path ask for, worked out once per distinct pair (see :func:`route`)."""

    wanted: tuple[str, str] | None  # (METHOD, endpoint segment); None: the path is refused
    any_method: tuple[str, str] | None  # ("*", endpoint segment)
    refusal: str  # why, when wanted is None; else what a role that lacks it is told
    # The permissions any one of which allows the request (none for a refused path): a grant
    # that may be used at all is allowed exactly when its permissions meet this set.
    granted_by: frozenset[tuple[str, str]] = frozenset()


_ROUTES: dict[tuple[str, str], Route] = {}
_ROUTES_KEPT = 8192

cached_route: Callable[[tuple[str, str]], Route | None] = _ROUTES.get
"""``cached_route((method, path))``: the :class:`Route` :func:`route` already worked out for this
pair, or None when it has not (yet, or any more). A dict lookup and nothing around it, for a
caller deciding millions of requests (the in-process index) that would rather not pay for a
call to :func:`route` when the answer is already known."""


def route(method: str, path: str) -> Route:
    """The permission a request needs, or why its path can never be allowed. Cached: an API
    sees the same few methods and paths again and again."""
    key = (method, path)
    found = _ROUTES.get(key)
    if found is not None:
        return found
    method = method.upper()
    segment = endpoint_segment(path)
    unclear = ambiguous_path(path)
    if method not in METHODS:
        # A role's "*" means each method a permission can name: never one it cannot (WebDAV's
        # PROPFIND, TRACE, "*" itself), which an API may treat as anything. Not quoted: a
        # forward-auth server takes the method from a header, a pasted secret among them.
        found = Route(None, None, f"the method is not one of {', '.join(METHODS)}")
    elif unclear is not None:
        found = Route(None, None, f"ambiguous path {path[:80]!r}: {unclear}")
    elif segment is None:
        found = Route(None, None, f"no endpoint in path {path[:80]!r}")
    elif has_dot_segment(path):
        found = Route(None, None, f"path {path[:80]!r} has a . or .. segment")
    else:
        reason = f"role does not allow {method[:10]} on /{segment[:80]}"
        wanted, any_method = (method, segment), (ANY_METHOD, segment)
        found = Route(wanted, any_method, reason, frozenset((wanted, any_method)))
    if len(_ROUTES) >= _ROUTES_KEPT:
        _ROUTES.clear()
    _ROUTES[key] = found
    return found


def decide(grant: Grant | None, method: str, path: str, now: float) -> Decision:
    """The API's answer once the presented token has been looked up by fingerprint."""
    if grant is None:
        return _UNKNOWN
    return decide_route(grant, _ROUTES.get((method, path)) or route(method, path), now)


def decide_route(grant: Grant, wanted: Route, now: float) -> Decision:
    """The API's answer for a token that was found, and the :class:`Route` its request asks
    for (from :func:`route`, or :data:`cached_route` when deciding in bulk).

    The order of the checks lives here alone: the grant's own refusal (API access disabled,
    the agent disabled or no longer eligible, the token inactive: what someone chose, whatever
    the time) first, then the refusals by time: the token expired (every secret of it, so it
    comes before the secret's own deadline, and says what would have to change), then a
    previous secret past its grace, then the permissions (and a path that is refused whatever
    they are: no endpoint, a dot segment, an ambiguous path). An unknown token never gets this
    far (:func:`decide`).
    *now* (POSIX seconds) is read only for a grant with a :attr:`Grant.deadline`: a caller
    may pass anything for the others rather than read a clock.
    """
    if grant.refusal is not None:
        return grant.refusal
    deadline = grant.deadline
    if deadline is not None and now >= deadline:
        if grant.expires_at is not None and now >= grant.expires_at:
            return Decision(401, EXPIRED, grant.token_id)
        return Decision(401, GRACE_ENDED, grant.token_id)
    if not wanted.granted_by.isdisjoint(grant.permissions):
        return grant.allowed_decision
    return Decision(403, wanted.refusal, grant.token_id)
