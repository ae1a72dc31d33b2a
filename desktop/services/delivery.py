"""Delivering each new secret: a token's delivery command, run as certbot runs a deploy hook.

After a refresh or scheduled rotation is final (its new generation committed: see
:mod:`desktop.services.journal`), the token's delivery is due; that commit itself marks it so
(``token.delivery_due_at``), so a crash before the command ran still delivers at the next pass.
Whoever then runs on the holder's desktop delivers it: ``token refresh`` at once, the window's
scheduler and ``rotate-due`` at each pass. The command runs

* as ``/bin/sh -c COMMAND``, in a session (process group) of its own;
* with the new secret on standard input (alone, no newline after it: a file or a Kubernetes
  secret made from it holds exactly the secret), which is then closed: never in its arguments
  (every user of the machine can read those) nor its environment (its children inherit that);
* with ``TOKENDESK_TOKEN_ID``, ``TOKENDESK_ENVIRONMENT``, ``TOKENDESK_AGENT`` and
  ``TOKENDESK_LABEL`` added to TokenDesk's own environment;
* outside every database transaction, for at most :data:`~desktop.domain.delivery.TIMEOUT_SECONDS`
  (then its whole process group is killed);
* and its output is never kept: standard output is discarded, and of standard error only a
  short last line, with the secret masked, reaches the audit log (see
  :func:`~desktop.domain.delivery.last_line`); past :data:`MAX_ERROR_BYTES` of it the command
  is killed.

Each try is audited (``deliver``, ``deliver-failed``, ``deliver-refused``); a failure is tried
again with back-off while the replaced secret's grace lasts (:mod:`desktop.domain.delivery`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from desktop.domain import delivery
from desktop.domain.clock import isoformat, utc
from desktop.domain.errors import (
    DatabaseUnavailable,
    SecretMismatch,
    SecretStoreUnavailable,
    TokenDeskError,
)
from desktop.services.context import ServiceContext
from desktop.services.lifecycle import Lifecycle
from desktop.services.views import DeliveryOutcome, TokenView
from desktop.storage import queries
from desktop.storage.lazy import deferred

if TYPE_CHECKING:
    from desktop.storage import repository
    from desktop.storage.models import Token
else:  # imported at first use: importing the services must not import Peewee
    repository = deferred("desktop.storage.repository")

log = logging.getLogger(__name__)

SHELL = "/bin/sh"
# A taken delivery is due again this long after its command's time ran out: a process that
# ended mid-try (a crash, a power cut) leaves it to the next pass.
LEASE_MARGIN = timedelta(minutes=1)
POLL_SECONDS = 0.05  # how often a running command is checked on: cancelled, timed out, done
TAIL_BYTES = 4096  # of standard error, only the end is read: a last line is all that is kept
# Standard error goes to an unlinked temporary file: a command that writes without end (a loop
# gone wrong) is stopped once it passes this, rather than fill the disk for a minute.
MAX_ERROR_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How one run of a command ended; *tail* is its masked last line of standard error."""

    returncode: int | None
    timed_out: bool = False
    cancelled: bool = False
    tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled


def run_command(
    command: str,
    secret: str,
    environment: Mapping[str, str],
    *,
    timeout: float = delivery.TIMEOUT_SECONDS,
    cancelled: Callable[[], bool] | None = None,
) -> CommandResult:
    """Run *command* through ``/bin/sh -c`` with *secret* on its standard input and
    *environment* added to this process's own; see the module's docstring. A command still
    running after *timeout* seconds, or once *cancelled* says so, is killed with its whole
    process group."""
    env = {**os.environ, **environment}
    try:  # unlinked at once and owner-only: never a named file; closed by the block below
        errors_file = tempfile.TemporaryFile()  # noqa: SIM115
    except OSError as error:
        return CommandResult(None, tail=f"could not start it: {error.strerror}")
    with errors_file as errors:
        try:
            process = subprocess.Popen(
                [SHELL, "-c", command],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=env,
                start_new_session=True,  # its own process group, killed as one
                close_fds=True,
            )
        except OSError as error:
            return CommandResult(None, tail=f"could not start {SHELL}: {error.strerror}")
        assert process.stdin is not None
        # A secret is far smaller than a pipe's buffer: this write never waits for the reader.
        with contextlib.suppress(BrokenPipeError):  # it exited without reading: its choice
            process.stdin.write(secret.encode("utf-8"))  # as it is: no newline to strip
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        deadline = time.monotonic() + timeout
        timed_out = stopped = flooded = False
        while process.poll() is None:
            if cancelled is not None and cancelled():
                stopped = True
            elif time.monotonic() >= deadline:
                timed_out = True
            elif os.fstat(errors.fileno()).st_size > MAX_ERROR_BYTES:
                flooded = True
            else:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(POLL_SECONDS)
                continue
            _kill_group(process)
            break
        errors.seek(0, os.SEEK_END)
        start = max(0, errors.tell() - TAIL_BYTES)
        errors.seek(start)
        output = errors.read()
        if start > 0:
            # The first line read starts before what was read, perhaps mid-secret, where the
            # mask cannot recognise it: only whole lines are kept.
            output = output.partition(b"\n")[2]
        tail = delivery.last_line(output, secret)
        if flooded:
            tail = f"it wrote over {MAX_ERROR_BYTES // (1024 * 1024)} MiB to standard error"
    return CommandResult(process.returncode, timed_out=timed_out, cancelled=stopped, tail=tail)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started (its session's process group), and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Deliveries:
    """Sets tokens' delivery commands and carries out their deliveries."""

    def __init__(
        self,
        context: ServiceContext,
        lifecycle: Lifecycle,
        *,
        timeout: float = delivery.TIMEOUT_SECONDS,
    ) -> None:
        self._context = context
        self._database = context.database
        self._work = context.work
        self._lifecycle = lifecycle
        self.timeout = timeout

    # ----------------------------------------------------------------- the command

    def set_command(self, token_id: int, command: str | None) -> TokenView:
        """Set the token's delivery command (None or blank: none), as set by this person: it
        runs only while they hold the token (see :func:`desktop.domain.delivery.refusal`)."""
        cleaned = delivery.clean_command(command)
        person = self._context.person
        with self._work.write() as audit:
            row = self._lifecycle.ready_row(token_id)
            if cleaned is None:
                if row.delivery_command is not None or row.delivery_due_at is not None:
                    repository.update_token(
                        self._database,
                        row.id,
                        delivery_command=None,
                        delivery_set_by=None,
                        delivery_due_at=None,
                        delivery_attempts=0,
                        updated_at=self._context.now(),
                    )
                    audit("deliver-set", row.id, "delivery off")
            elif (cleaned, person) != (row.delivery_command, row.delivery_set_by):
                repository.update_token(
                    self._database,
                    row.id,
                    delivery_command=cleaned,
                    delivery_set_by=person,
                    updated_at=self._context.now(),
                )
                details = f"delivery command {cleaned!r}, set by {person}"
                if row.holder != person:
                    details += f"; not run while {row.holder} holds the token"
                audit("deliver-set", row.id, details)
        return self._lifecycle.token(token_id)

    def latest(self, token_id: int) -> tuple[datetime, bool] | None:
        """When the token's latest delivery ended (UTC), and whether it succeeded."""
        found = repository.latest_delivery(self._database, token_id)
        return None if found is None else (utc(found[0]), found[1])

    # ----------------------------------------------------------------- delivering

    def due_token_ids(self) -> list[int]:
        """The tokens this person holds whose new secret is due for delivery now."""
        return repository.due_deliveries(self._database, self._context.now(), self._context.person)

    def deliver_due(
        self, *, actor: str | None = None, cancelled: Callable[[], bool] | None = None
    ) -> tuple[DeliveryOutcome, ...]:
        """Try every delivery due now, one after another; stop between two once *cancelled*."""
        outcomes: list[DeliveryOutcome] = []
        for token_id in self.due_token_ids():
            if cancelled is not None and cancelled():
                break
            try:
                outcome = self.deliver(token_id, actor=actor, cancelled=cancelled)
            except DatabaseUnavailable:
                raise  # a full disk or read-only file fails every delivery, and records none
            except TokenDeskError as error:  # this token's; the others are still tried
                log.warning("token %s: delivery not tried: %s", token_id, error)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return tuple(outcomes)

    def deliver(
        self,
        token_id: int,
        *,
        actor: str | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> DeliveryOutcome | None:
        """Deliver the token's current secret if that is due now and this person holds it;
        None when nothing was tried (nothing due, another holder's, the keyring unavailable,
        or *cancelled* while the command ran: each stays due and is tried again)."""
        actor = actor or self._context.actor
        row = repository.ready_token(self._database, token_id, joined=True)
        if (
            row is None
            or row.delivery_due_at is None
            or row.delivery_due_at > self._context.now()
            or row.holder != self._context.person
        ):
            return None
        if not row.delivery_command:
            self._settle(row, None, "", actor)  # turned off since: nothing to deliver
            return None
        refusal = delivery.refusal(row.delivery_set_by, row.holder)
        if refusal is not None:
            return self._settle(row, None, refusal, actor)
        lease = self._claim(row)
        if lease is None:
            return None  # another TokenDesk of this person's (cron's rotate-due) has it
        try:
            secret = self._lifecycle.reveal(row.id)
        except SecretStoreUnavailable as error:
            log.info("token %s: delivery waits for the keyring: %s", row.id, error)
            self._release(row, lease)
            return None
        except SecretMismatch as error:
            result = CommandResult(None, tail=str(error))
            return self._settle(row, result, "", actor)
        result = run_command(
            row.delivery_command,
            secret,
            {
                "TOKENDESK_TOKEN_ID": str(row.id),
                "TOKENDESK_ENVIRONMENT": row.environment.name,
                "TOKENDESK_AGENT": row.agent.name,
                "TOKENDESK_LABEL": row.label,
            },
            timeout=self.timeout,
            cancelled=cancelled,
        )
        del secret
        if result.cancelled:
            log.info("token %s: delivery stopped (TokenDesk is closing); it is tried again", row.id)
            self._release(row, lease)
            return None
        return self._settle(row, result, "", actor)

    def _claim(self, row: Token) -> datetime | None:
        """Take the due delivery for this try: its due time moves past the longest a try can
        take (a compare-and-swap on the due time and generation, so of two processes that found
        it due only one runs the command), and a process that ends mid-try leaves it due again
        then. The new due time, or None when another process took it first."""
        lease = self._context.now() + timedelta(seconds=self.timeout) + LEASE_MARGIN
        with self._work.transaction():
            taken = repository.move_delivery(
                self._database, row.id, row.generation, row.delivery_due_at, lease
            )
        return lease if taken else None

    def _release(self, row: Token, lease: datetime) -> None:
        """Give a taken delivery back, due as it was (nothing was tried)."""
        with self._work.transaction():
            repository.move_delivery(
                self._database, row.id, row.generation, lease, row.delivery_due_at
            )

    def _settle(
        self, row: Token, result: CommandResult | None, refusal: str, actor: str
    ) -> DeliveryOutcome | None:
        """Record how a try ended: audited, and the next try scheduled or none. *result* None
        with a *refusal*: not run; with neither: nothing to deliver any more."""
        now = self._context.now()
        attempts = row.delivery_attempts + 1
        retry_at: datetime | None = None
        outcome: DeliveryOutcome | None = None
        generation = row.generation
        if result is None and not refusal:
            action, details = "", ""
        elif result is None:
            action, details = "deliver-refused", f"generation {generation}: {refusal}"
            outcome = DeliveryOutcome(
                row.id, generation, ok=False, text=refusal, refused=True, attempts=attempts
            )
        else:
            if result.returncode is None and not result.timed_out:
                ended = result.tail or "not run"  # it could not start, or nothing to give it
            else:
                ended = delivery.exit_text(
                    result.returncode, timed_out=result.timed_out, timeout=self.timeout
                )
                if result.tail:
                    ended += f" ({result.tail})"
            if result.ok:
                action = "deliver"
                text = f"delivered ({ended})"
                if attempts > 1:
                    text += f" at try {attempts}"
            else:
                action = "deliver-failed"
                deadline = queries.previous_deadlines(self._database, now, row.id).get(row.id)
                retry = now + delivery.retry_delay(attempts)
                if deadline is not None and retry < deadline[1]:
                    retry_at = retry
                    text = f"{ended}; next try at {isoformat(utc(retry))}"
                elif deadline is None:
                    text = f"{ended}; not tried again: the previous secret has no grace left"
                else:
                    text = f"{ended}; not tried again: the previous secret's grace ends first"
            details = f"generation {generation}: {text}"
            outcome = DeliveryOutcome(
                row.id,
                generation,
                ok=result.ok,
                text=text,
                retry_at=utc(retry_at) if retry_at is not None else None,
                attempts=attempts,
            )
        with self._work.write() as audit:
            # Only this generation's delivery: a refresh meanwhile made its own due.
            current = repository.token_by_id(self._database, row.id)
            if current is not None and current.generation == generation:
                repository.update_token(
                    self._database,
                    row.id,
                    delivery_due_at=retry_at,
                    delivery_attempts=0 if retry_at is None else attempts,
                )
            if action:
                audit(action, row.id, details[:500], actor=actor)
        # The log file's, at INFO: whoever ran it is told already (the command line's one
        # line, the window's notification), and standard error is theirs.
        if outcome is not None:
            log.info("%s", outcome.summary)
        return outcome
