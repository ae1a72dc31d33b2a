"""Peewee models. The database holds fingerprints and 4-character hints, never a secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

import peewee as pw

# Re-exported: the states and `naive` live where code that must not load Peewee reads them.
from desktop.storage.states import ACTIVE, CREATING, DELETING, INACTIVE, READY, naive


class UnboundModelError(RuntimeError):
    """A model query ran without being bound to a database: a programming error, never a
    database error, so it is not translated and nothing catches it by accident."""


class _Unbound(pw.Database):
    """The models' class-level database: none. Every query is built, then bound to the
    database its caller was given (``query.bind(handle)``), so two databases open in one
    process never see each other's rows. A query that forgets to bind, or an attribute that
    would load a relation lazily, reaches this and fails loudly instead of finding another
    database's file."""

    def __init__(self) -> None:
        super().__init__(None)

    def connect(self, reuse_if_open: bool = False) -> bool:
        raise UnboundModelError("a model query must be bound to the database it runs on")

    def execute_sql(self, sql: str, params: object = None) -> object:
        raise UnboundModelError(f"a model query was not bound to a database: {sql}")


UNBOUND = _Unbound()


def _on_postgres(ctx: pw.Context) -> bool:
    """Whether DDL is being written for PostgreSQL (the databases in
    :mod:`desktop.storage.database` and :mod:`desktop.storage.postgres` say which engine)."""
    return bool(ctx.state.engine == "postgresql")


class AutoIncrementField(pw.AutoField):
    """An id never given twice, even after the row with the highest one is deleted: SQLite
    needs AUTOINCREMENT for that (a plain rowid is reused); a PostgreSQL sequence never goes
    back."""

    def ddl(self, ctx: pw.Context) -> pw.NodeList:
        node = super().ddl(ctx)
        return node if _on_postgres(ctx) else pw.NodeList((node, pw.SQL("AUTOINCREMENT")))


class NameField(pw.TextField):
    """A name shown to people, unique as written; ``name_key`` decides which names are one.
    SQLite compares it NOCASE (ASCII letters folded), as the orders by name do; PostgreSQL has
    no such collation, so its queries fold the same letters themselves (see
    :func:`desktop.storage.postgres.postgres_sql`) and the column keeps the default."""

    def __init__(self) -> None:
        super().__init__(unique=True)

    def ddl(self, ctx: pw.Context) -> pw.NodeList:
        node = super().ddl(ctx)
        return node if _on_postgres(ctx) else pw.NodeList((node, pw.SQL("COLLATE NOCASE")))


class FalseByDefaultField(pw.BooleanField):
    """A flag the database itself starts false, as an upgrade step adds it to existing rows
    (SQLite keeps booleans as 0 and 1; PostgreSQL's are typed)."""

    def __init__(self) -> None:
        super().__init__(default=False)

    def ddl(self, ctx: pw.Context) -> pw.NodeList:
        literal = "FALSE" if _on_postgres(ctx) else "0"
        return pw.NodeList((super().ddl(ctx), pw.SQL(f"DEFAULT {literal}")))


class BaseModel(pw.Model):
    id = pw.AutoField()

    class Meta:
        database = UNBOUND
        legacy_table_names = False


class Environment(BaseModel):
    name = NameField()
    api_enabled = pw.BooleanField(default=False)  # secure by default: turned on by hand
    created_at = pw.DateTimeField()
    # validation.name_key(name): one name, one row. Last, and DEFAULT '', as the upgrade step
    # adds it; the service always sets it, and the unique index refuses a second blank.
    name_key = pw.TextField(unique=True, constraints=[pw.SQL("DEFAULT ''")])


class Role(BaseModel):
    name = NameField()
    created_at = pw.DateTimeField()
    # validation.name_key(name): one name, one row. Last, and DEFAULT '', as the upgrade step
    # adds it; the service always sets it, and the unique index refuses a second blank.
    name_key = pw.TextField(unique=True, constraints=[pw.SQL("DEFAULT ''")])


class RolePermission(BaseModel):
    role = pw.ForeignKeyField(Role, backref="permissions", on_delete="CASCADE")
    method = pw.TextField()  # GET, POST, … or *
    endpoint = pw.TextField()  # "/Loans" as written

    class Meta:
        indexes = ((("role", "method", "endpoint"), True),)

    if TYPE_CHECKING:
        role_id: int


class Agent(BaseModel):
    name = NameField()
    role = pw.ForeignKeyField(Role, backref="agents", on_delete="RESTRICT")
    has_logged_in = pw.BooleanField(default=False)
    signed_agreement = pw.BooleanField(default=False)
    created_at = pw.DateTimeField()
    # Disabled: every token it holds is refused, none refreshed or rotated (see step 6).
    disabled = FalseByDefaultField()
    # validation.name_key(name): one name, one row. Last, and DEFAULT '', as the upgrade step
    # adds it; the service always sets it, and the unique index refuses a second blank.
    name_key = pw.TextField(unique=True, constraints=[pw.SQL("DEFAULT ''")])

    if TYPE_CHECKING:
        role_id: int


class Token(BaseModel):
    # AUTOINCREMENT: an id is never reused, so audit events keep pointing at one token.
    id = AutoIncrementField()
    uuid = pw.TextField(unique=True)  # names the keyring entries: f"{uuid}:g{generation}"
    environment = pw.ForeignKeyField(Environment, backref="tokens", on_delete="RESTRICT")
    agent = pw.ForeignKeyField(Agent, backref="tokens", on_delete="RESTRICT")
    label = pw.TextField(default="")
    status = pw.TextField(default=ACTIVE)  # Active | Inactive
    phase = pw.TextField(default=READY, index=True)
    generation = pw.IntegerField(default=0)
    fingerprint = pw.TextField(index=True)  # SHA-256 hex of the current secret
    hint = pw.TextField()  # last 4 characters of the current secret
    rotation = pw.TextField(null=True)  # the interval as given, e.g. "30d" or "monthly"
    rotation_seconds = pw.IntegerField(null=True)
    grace_seconds = pw.IntegerField(default=0)
    next_rotation_at = pw.DateTimeField(null=True, index=True)
    last_rotated_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)  # why the last scheduled rotation failed
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()
    # From this instant on (naive UTC) every request with the token is refused and it is no
    # longer rotated; NULL: it never expires. Last, where the upgrade step adds it.
    expires_at = pw.DateTimeField(null=True)
    # Whose keyring holds the current secret, user@host (desktop.domain.holders): only they
    # can copy it or rotate it on schedule. Last, and DEFAULT '', as the upgrade step adds it.
    holder = pw.TextField(constraints=[pw.SQL("DEFAULT ''")])
    # The command its holder's TokenDesk runs with each new secret on standard input
    # (desktop.domain.delivery), NULL for none, and who set it (alice@laptop): it runs only
    # while that person holds the token. Last, where step 12 adds them, as the fields below.
    delivery_command = pw.TextField(null=True)
    delivery_set_by = pw.TextField(null=True)
    # When the next try to deliver the current secret is due (naive UTC); NULL: nothing to
    # deliver. Set as a refresh or rotation commits, so a crash before delivery still delivers.
    # Indexed by step 12 (and desktop.storage.postgres), after the indexes step 3 adds.
    delivery_due_at = pw.DateTimeField(null=True)
    delivery_attempts = pw.IntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")])

    if TYPE_CHECKING:
        environment_id: int
        agent_id: int


class PreviousSecret(BaseModel):
    """A secret a refresh or rotation replaced, still accepted until its own deadline (the
    grace promised when it was replaced). One row each: a second refresh inside the grace of a
    first keeps both promises. Expired rows are pruned; deleting the token takes its rows."""

    token = pw.ForeignKeyField(Token, on_delete="CASCADE")  # indexed: a token's rows
    fingerprint = pw.TextField(index=True)  # SHA-256 hex of the replaced secret
    valid_until = pw.DateTimeField()  # naive UTC, like every stored time

    if TYPE_CHECKING:
        token_id: int


class AuditEvent(BaseModel):
    at = pw.DateTimeField(index=True)
    actor = pw.TextField()
    action = pw.TextField()
    token_id = pw.IntegerField(null=True, index=True)  # no foreign key: events outlive tokens
    details = pw.TextField(default="")


class Intent(BaseModel):
    """The journal: one row per in-flight change that spans SQLite and the keyring."""

    # AUTOINCREMENT: a process that finds its intent by id must never find another change's
    # intent instead (recovery may have removed its own, and SQLite reuses a plain rowid).
    id = AutoIncrementField()
    token = pw.ForeignKeyField(Token, unique=True, on_delete="CASCADE")  # one change at a time
    kind = pw.TextField()  # create | refresh | delete
    from_generation = pw.IntegerField()
    to_generation = pw.IntegerField()
    new_fingerprint = pw.TextField(null=True)
    new_hint = pw.TextField(null=True)
    grace_seconds = pw.IntegerField(default=0)
    action = pw.TextField()  # the audit action to record: create, refresh, rotate, delete
    actor = pw.TextField()
    owner_pid = pw.IntegerField()
    created_at = pw.DateTimeField()
    # When the owner process started (Linux: /proc/<pid>/stat field 22, clock ticks since
    # boot), so an owner whose PID now names another process is known to be gone. NULL where
    # the system does not say, and in intents written before the column existed. Last, where
    # the migration that adds it puts it: new and migrated databases have one column order.
    owner_started = pw.IntegerField(null=True)
    # The host the owner runs on (socket.gethostname()): only that host can judge by PID and
    # start time whether the owner is gone; another host waits for the intent's lease to run
    # out. NULL in intents written before the column existed, all on the one machine whose
    # SQLite file it was: they are this host's.
    owner_host = pw.TextField(null=True)

    if TYPE_CHECKING:
        token_id: int


class TokenUsage(BaseModel):
    """When each token was last presented to a forward-auth server (``tokendesk serve``), and
    how often. A table of its own, with no change-log trigger: servers add to it every few
    seconds, and that must neither wake every window nor make every server read its index
    again. Written only through :func:`desktop.storage.repository.record_uses`."""

    token = pw.ForeignKeyField(Token, primary_key=True, on_delete="CASCADE")
    last_used_at = pw.DateTimeField()  # naive UTC, like every stored time
    use_count = pw.BigIntegerField(default=0)

    if TYPE_CHECKING:
        token_id: int


ALL_MODELS: list[type[BaseModel]] = [
    Environment,
    Role,
    RolePermission,
    Agent,
    Token,
    PreviousSecret,
    AuditEvent,
    Intent,
    TokenUsage,
]


__all__ = [
    "ACTIVE",
    "ALL_MODELS",
    "CREATING",
    "DELETING",
    "INACTIVE",
    "READY",
    "UNBOUND",
    "Agent",
    "AuditEvent",
    "BaseModel",
    "Environment",
    "Intent",
    "PreviousSecret",
    "Role",
    "RolePermission",
    "Token",
    "TokenUsage",
    "UnboundModelError",
    "naive",
]
