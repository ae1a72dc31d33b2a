"""Seed a data dir with many tokens, quickly, for the benchmarks.

    .venv/bin/python tests/benchmarks/seed.py --data-dir DIR --tokens N [--due K] [--seed S]

Writes straight into the database in one transaction (no journal, no audit events): five
environments (``Sandbox`` with API access disabled), six roles with their permissions, a few
hundred agents who may all hold tokens, and *N* tokens spread over them. The tokens carry varied
labels; about 10 % are inactive; about half rotate on a schedule (due in the future), some with a
grace period, a few with a previous secret still inside its grace; they were created over the past
year, and 70 % were used since (as forward-auth servers record it), last within 180 days. Each
has a real, well-formed secret, of which the database keeps only the fingerprint and the hint,
so ``TokenService.verify`` and ``AccessIndex.verify`` accept them; their secrets are not in the
keyring (neither the table nor a decision needs them).

With ``--due K``, K of the N tokens are active, rotate every 30 days and are overdue now; for
those K alone the secret is stored in the system keyring (``store.put``) under the key the
service reads, so that real rotations can replace them. From the command line that is the
keyring of your session: ``tokendesk --data-dir DIR token delete ID --yes`` removes a token's
entry again (``run.py`` seeds into a private keyring and removes what it wrote). Nothing here
prints a secret.

Also importable: :func:`seed` returns what a benchmark needs, the secrets included.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import peewee as pw

from desktop.domain import tokens
from desktop.domain.people import person
from desktop.domain.validation import name_key
from desktop.secrets.store import SecretStore
from desktop.services.tokens import secret_key
from desktop.storage.database import DB_FILENAME, open_database, open_registry
from desktop.storage.models import (
    ACTIVE,
    INACTIVE,
    READY,
    Agent,
    Environment,
    Role,
    RolePermission,
    Token,
    naive,
)

# name, API access enabled, share of the tokens
# The largest comes first by name, so the window opens on it.
ENVIRONMENTS: tuple[tuple[str, bool, float], ...] = (
    ("Production", True, 0.40),
    ("Staging", True, 0.25),
    ("Quality assurance", True, 0.15),
    ("Test", True, 0.12),
    ("Sandbox", False, 0.08),
)

ROLES: dict[str, tuple[str, ...]] = {
    "Read-only servicing": ("GET /Loans", "GET /Customers"),
    "Collections": ("GET /Loans", "POST /Payments", "GET /Payments", "PUT /Customers"),
    "Integrations admin": ("* /Loans", "* /Customers", "* /Payments", "GET /Reports"),
    "Reporting": ("GET /Reports", "GET /Loans"),
    "Underwriting": ("GET /Customers", "POST /Applications", "GET /Applications"),
    "Partner": ("GET /Offers", "POST /Applications"),
}

Call = tuple[str, str]  # method, path
# Per role: a request it may make, and one it may not.
REQUESTS: dict[str, tuple[Call, Call]] = {
    "Read-only servicing": (("GET", "/Loans(42)"), ("DELETE", "/Loans(42)")),
    "Collections": (("POST", "/odata.svc/Payments"), ("DELETE", "/Payments(7)")),
    "Integrations admin": (("PATCH", "/Customers/9"), ("POST", "/Reports")),
    "Reporting": (("GET", "/Reports/2025-Q4"), ("POST", "/Loans")),
    "Underwriting": (("POST", "/Applications"), ("DELETE", "/Customers(3)")),
    "Partner": (("GET", "/Offers?region=EU"), ("GET", "/Customers")),
}

_AGENT_PREFIXES = (
    "Ada", "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor",
    "Ion", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Orion", "Pioneer", "Quartz",
    "Redwood", "Summit", "Tidal", "Umber", "Vertex", "Willow", "Zephyr",
)  # fmt: skip
_AGENT_KINDS = (
    "Servicing Bot", "Collections Sync", "Warehouse ETL", "Payments Gateway", "Partner Portal",
    "Ledger Reconciler", "Reporting Service", "Underwriting Engine", "Fraud Monitor",
    "Mobile Backend", "CRM Connector", "Statement Mailer",
)  # fmt: skip
_LABELS = (
    "Servicing dashboard", "Nightly payments import", "Warehouse loader", "QA replays",
    "Statement generation", "Mobile app backend", "Fraud scoring", "Partner webhook",
    "Month-end reconciliation", "Collections dialer", "CRM sync", "Credit bureau pull",
    "Loan origination", "Customer portal", "Audit export", "Batch scoring", "Support console",
    "Marketing offers", "Data science notebook", "Legacy import (retired)",
)  # fmt: skip
_LABEL_SUFFIXES = (
    "EU", "US-East", "APAC", "v2", "canary", "blue", "green", "worker-03", "worker-11", "backup",
)  # fmt: skip
HOUR = 3600
DAY = 24 * HOUR
# rotation as written, its length
SCHEDULES: tuple[tuple[str, int], ...] = (
    ("30d", 30 * DAY),
    ("weekly", 7 * DAY),
    ("monthly", 30 * DAY),
    ("daily", DAY),
    ("quarterly", 90 * DAY),
    ("12h", 12 * HOUR),
    ("2w", 14 * DAY),
)
GRACES = (HOUR, 4 * HOUR, DAY)
DUE_ROTATION = ("30d", 30 * DAY)
CHUNK = 10_000
DEFAULT_AGENTS = 300
DEFAULT_SEED = 20260105


@dataclass(frozen=True, slots=True)
class SeededToken:
    """One seeded token as a client would hold it: never print one."""

    environment: str
    role: str
    secret: str = field(repr=False)
    previous: str | None = field(repr=False)  # a replaced secret still inside its grace


@dataclass(frozen=True, slots=True)
class DueToken:
    id: int
    uuid: str
    generation: int  # the generation whose secret is in the keyring


@dataclass
class Seeded:
    data_dir: Path
    tokens: list[SeededToken]
    due: list[DueToken]
    environments: dict[str, int]  # name -> tokens
    agents: int
    inactive: int
    scheduled: int
    with_previous: int
    seconds: float
    keyring_seconds: float
    # The secrets of the due tokens, in the order of ``due``: a benchmark that rotates them twice
    # puts them back in between.
    due_secrets: list[str] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        return (
            f"seeded {self.data_dir}: {len(self.tokens):,} tokens ({self.inactive:,} inactive, "
            f"{self.scheduled:,} scheduled, {len(self.due):,} due now, {self.with_previous:,} "
            f"with a previous secret) in {len(self.environments)} environments, "
            f"{len(ROLES)} roles, {self.agents} agents; {self.seconds:.1f} s "
            f"(keyring {self.keyring_seconds:.1f} s)"
        )


def fake_secret(rng: random.Random) -> str:
    """A well-formed token, quicker than :func:`tokens.generate` (a benchmark needs no CSPRNG)."""
    body = "".join(rng.choices(tokens.ALPHABET, k=tokens.BODY_LENGTH))
    return tokens.PREFIX + body + tokens.checksum(body)


def _label(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.08:
        return ""
    label = rng.choice(_LABELS)
    if draw < 0.55:
        label = f"{label} {rng.choice(_LABEL_SUFFIXES)}"
    elif draw < 0.70:
        label = f"{label} (OPS-{rng.randrange(1000, 10000)})"
    return label


def _time(value: datetime) -> str:
    """How peewee hands a datetime to SQLite (``isoformat(" ")``), done once here."""
    return naive(value).isoformat(" ")


_COLUMNS = (
    "uuid",
    "environment",
    "agent",
    "label",
    "status",
    "phase",
    "generation",
    "fingerprint",
    "hint",
    "rotation",
    "rotation_seconds",
    "grace_seconds",
    "next_rotation_at",
    "last_rotated_at",
    "created_at",
    "updated_at",
    "holder",
)


# A replaced secret still in its grace, for the token of that uuid.
_PREVIOUS_SQL = (
    'INSERT INTO "previous_secret" ("token_id", "fingerprint", "valid_until") '
    'SELECT "id", ?, ? FROM "token" WHERE "uuid" = ?'
)
# What forward-auth servers would have recorded (desktop.storage.repository.record_uses).
_USAGE_SQL = (
    'INSERT INTO "token_usage" ("token_id", "last_used_at", "use_count") '
    'SELECT "id", ?, ? FROM "token" WHERE "uuid" = ?'
)
USED_SHARE = 0.7  # of the tokens, used at some time since their creation


def _insert_sql() -> str:
    fields = Token._meta.fields
    names = ", ".join(f'"{fields[name].column_name}"' for name in _COLUMNS)
    marks = ", ".join("?" for _ in _COLUMNS)
    return f'INSERT INTO "{Token._meta.table_name}" ({names}) VALUES ({marks})'  # noqa: S608


def _directory(
    database: pw.Database, rng: random.Random, agents: int, now: datetime
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Environments, roles with permissions and agents; returns environment ids by name and
    (agent id, role name) pairs."""
    created = _time(now - timedelta(days=400))
    with database.atomic():
        Environment.insert_many(
            [
                {"name": name, "name_key": name_key(name), "api_enabled": on, "created_at": created}
                for name, on, _ in ENVIRONMENTS
            ]
        ).execute(database)
        Role.insert_many(
            [{"name": name, "name_key": name_key(name), "created_at": created} for name in ROLES]
        ).execute(database)
        role_ids = {role.name: role.id for role in Role.select().bind(database)}
        RolePermission.insert_many(
            [
                {"role": role_ids[role], "method": text.split()[0], "endpoint": text.split()[1]}
                for role, permissions in ROLES.items()
                for text in permissions
            ]
        ).execute(database)
        names = [f"{prefix} {kind}" for prefix in _AGENT_PREFIXES for kind in _AGENT_KINDS]
        while len(names) < agents:  # more than the combinations: number them
            names.append(f"{rng.choice(_AGENT_PREFIXES)} {rng.choice(_AGENT_KINDS)} {len(names)}")
        rng.shuffle(names)
        role_names = list(ROLES)
        Agent.insert_many(
            [
                {
                    "name": name,
                    "name_key": name_key(name),
                    "role": role_ids[role_names[n % len(role_names)]],
                    "has_logged_in": True,
                    "signed_agreement": True,
                    "created_at": created,
                }
                for n, name in enumerate(names[:agents])
            ]
        ).execute(database)
    environment_ids = {env.name: env.id for env in Environment.select().bind(database)}
    role_by_id = {role_id: name for name, role_id in role_ids.items()}
    pairs = [(agent.id, role_by_id[agent.role_id]) for agent in Agent.select().bind(database)]
    return environment_ids, pairs


def seed(
    data_dir: Path,
    count: int,
    *,
    due: int = 0,
    rng_seed: int = DEFAULT_SEED,
    agents: int = DEFAULT_AGENTS,
    store: SecretStore | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    database: str | None = None,
) -> Seeded:
    """Fill the empty data dir *data_dir* with *count* tokens, *due* of them overdue for
    rotation (their secrets go into *store*, required then). The database is closed again.
    With *database* (a PostgreSQL URL) the tokens go there instead, the same ones for the
    same seed, so the two engines can be measured on the same registry."""
    if not 0 <= due <= count:
        raise ValueError("--due must be between 0 and --tokens")
    if due and store is None:
        raise ValueError("due tokens need a secret store for their secrets")
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = now or datetime.now(UTC)
    registry = open_registry(database) if database else open_database(data_dir / DB_FILENAME)
    on_postgres = registry.engine == "postgresql"
    handle = registry.handle
    try:
        if Environment.select().bind(handle).exists() or Token.select().bind(handle).exists():
            raise ValueError(f"{data_dir} already holds data; seed an empty data dir")
        environment_ids, agent_pairs = _directory(handle, rng, agents, now)
        enabled = [name for name, on, _ in ENVIRONMENTS if on]
        names = [name for name, _, _ in ENVIRONMENTS]
        weights = [share for _, _, share in ENVIRONMENTS]
        due_positions = set(rng.sample(range(count), due))
        rows: list[tuple[object, ...]] = []
        holder = person()
        previous_rows: list[tuple[object, ...]] = []  # (fingerprint, valid until, token uuid)
        seeded: list[SeededToken] = []
        due_uuids: list[str] = []
        due_secrets: list[str] = []
        per_env = dict.fromkeys(names, 0)
        inactive = scheduled = with_previous = 0
        # Uses have a generator of their own: the tokens stay those seeded before uses were.
        usage_rng = random.Random(rng_seed + 1)
        usage_rows: list[tuple[object, ...]] = []  # (last used, count, token uuid)
        for n in range(count):
            is_due = n in due_positions
            env = rng.choice(enabled) if is_due else rng.choices(names, weights)[0]
            agent_id, role = rng.choice(agent_pairs)
            secret = fake_secret(rng)
            token_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            created = now - timedelta(seconds=rng.uniform(2 * HOUR, 365 * DAY))
            active = is_due or rng.random() >= 0.10
            rotation: str | None = None
            rotation_seconds: int | None = None
            next_at = last_at = grace_until = None
            grace = rng.choice(GRACES) if rng.random() < 0.25 else 0
            previous = None
            if is_due:
                rotation, rotation_seconds = DUE_ROTATION
                next_at = now - timedelta(seconds=rng.uniform(60, 3 * DAY))
            elif rng.random() < 0.5:
                rotation, rotation_seconds = rng.choice(SCHEDULES)
                next_at = now + timedelta(seconds=rng.uniform(HOUR, rotation_seconds))
            if rotation_seconds is not None and next_at is not None:
                scheduled += 1
                last = next_at - timedelta(seconds=rotation_seconds)
                last_at = last if last > created else None
            if not is_due and grace and rng.random() < 0.08:
                previous = fake_secret(rng)  # refreshed recently; the old secret still works
                last_at = now - timedelta(seconds=rng.uniform(60, grace / 2))
                grace_until = last_at + timedelta(seconds=grace)
                previous_rows.append((tokens.fingerprint(previous), _time(grace_until), token_uuid))
                with_previous += 1
            inactive += not active
            per_env[env] += 1
            rows.append(
                (
                    token_uuid,
                    environment_ids[env],
                    agent_id,
                    _label(rng),
                    ACTIVE if active else INACTIVE,
                    READY,
                    1 if previous else 0,
                    tokens.fingerprint(secret),
                    tokens.hint(secret),
                    rotation,
                    rotation_seconds,
                    grace,
                    _time(next_at) if next_at else None,
                    _time(last_at) if last_at else None,
                    _time(created),
                    _time(last_at or created),
                    holder,  # made here: this machine's scheduler rotates the due ones
                )
            )
            seeded.append(SeededToken(env, role, secret, previous))
            if usage_rng.random() < USED_SHARE:
                since = min((now - created).total_seconds(), 180 * DAY)
                used = now - timedelta(seconds=usage_rng.uniform(0, since))
                usage_rows.append((_time(used), usage_rng.randint(1, 100_000), token_uuid))
            if is_due:
                due_uuids.append(token_uuid)
                due_secrets.append(secret)
        sql, previous_sql, usage_sql = _insert_sql(), _PREVIOUS_SQL, _USAGE_SQL
        if on_postgres:  # the driver's placeholders
            sql, previous_sql = sql.replace("?", "%s"), previous_sql.replace("?", "%s")
            usage_sql = usage_sql.replace("?", "%s")
        with handle.atomic():
            cursor = handle.connection().cursor()
            for start in range(0, len(rows), CHUNK):
                cursor.executemany(sql, rows[start : start + CHUNK])
            cursor.executemany(previous_sql, previous_rows)
            cursor.executemany(usage_sql, usage_rows)
        if on_postgres:
            handle.execute_sql("ANALYZE")  # as a server's autovacuum soon would
        query = Token.select(Token.uuid, Token.id).bind(handle).where(Token.uuid.in_(due_uuids))
        by_uuid = {row.uuid: row.id for row in query}
        due_tokens = [DueToken(by_uuid[u], u, 0) for u in due_uuids]
    finally:
        registry.close()
    keyring_seconds = 0.0
    if due_tokens:
        assert store is not None
        if progress is not None:
            progress(f"writing {len(due_tokens):,} secrets of due tokens to the keyring")
        keyring_started = time.perf_counter()
        store_secrets(store, due_tokens, due_secrets)
        keyring_seconds = time.perf_counter() - keyring_started
    return Seeded(
        data_dir=data_dir,
        tokens=seeded,
        due=due_tokens,
        environments=per_env,
        agents=len(agent_pairs),
        inactive=inactive,
        scheduled=scheduled,
        with_previous=with_previous,
        seconds=time.perf_counter() - started,
        keyring_seconds=keyring_seconds,
        due_secrets=due_secrets,
    )


def store_secrets(store: SecretStore, due: Sequence[DueToken], secrets: Sequence[str]) -> None:
    written: list[str] = []
    try:
        for token, secret in zip(due, secrets, strict=True):
            key = secret_key(token.uuid, token.generation)
            store.put(key, secret)
            written.append(key)
    except BaseException:
        remove_entries(store, written)
        raise


def remove_entries(store: SecretStore, keys: Iterable[str]) -> int:
    """Delete these keyring entries (absent ones are no error); how many were asked for."""
    removed = 0
    for key in keys:
        store.delete(key)
        removed += 1
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--tokens", type=int, required=True, help="how many tokens (N)")
    parser.add_argument(
        "--due", type=int, default=0, help="how many of the N are due for rotation now (K)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--agents", type=int, default=DEFAULT_AGENTS)
    args = parser.parse_args(argv)
    store: SecretStore | None = None
    if args.due:
        from desktop.domain.errors import SecretStoreUnavailable
        from desktop.secrets.store import open_secret_store

        try:
            store = open_secret_store()
        except SecretStoreUnavailable as error:
            print(f"seed: {error}", file=sys.stderr)
            return 1
    try:
        seeded = seed(
            args.data_dir,
            args.tokens,
            due=args.due,
            rng_seed=args.seed,
            agents=args.agents,
            store=store,
        )
    except ValueError as error:
        print(f"seed: {error}", file=sys.stderr)
        return 2
    print(seeded.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
