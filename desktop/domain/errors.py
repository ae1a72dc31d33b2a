"""The errors TokenDesk's rules raise. None of them ever carries a secret."""

from __future__ import annotations


class TokenDeskError(Exception):
    """Base class: the message is meant for a person and fits on one line."""


class InvalidInput(TokenDeskError):
    """The input is malformed (a bad interval, label, method or name)."""


class NotFound(TokenDeskError):
    """A named environment, role, agent or token does not exist."""


class RuleViolation(TokenDeskError):
    """The input is well formed but the rules refuse the action."""


class Conflict(TokenDeskError):
    """Another change to the same token is in flight; try again shortly."""


class SecretStoreUnavailable(TokenDeskError):
    """The OS keyring cannot be used right now (missing, locked, or not a real keyring)."""


class SecretMismatch(TokenDeskError):
    """A secret read from the keyring does not match the fingerprint on record."""


class SchemaTooNew(TokenDeskError):
    """The database was written by a newer TokenDesk than this one."""
