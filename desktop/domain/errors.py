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


class DatabaseError(TokenDeskError):
    """The database refused or failed a statement: a damaged file, a full disk, a schema that
    does not match. Storage raises it in place of the database driver's own errors."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be used right now: its file cannot be opened, or another process
    held it locked for longer than the busy timeout. Trying again later may succeed."""
