"""Keeps a worker's access index current, and knows when it can no longer vouch for it.

One thread per worker process owns every registry access the worker makes: it reads the
change-log cursor (on SQLite every :data:`SQLITE_POLL_S`; on PostgreSQL when a ``NOTIFY``
wakes it, and every :data:`POSTGRES_POLL_S` in case one was missed), and when the cursor moved
it brings the index up to date from the change log (the changed tokens read again; see
:meth:`~desktop.services.access.AccessDecisions.updated_index`) and swaps it in: one attribute
assignment, so a request sees the old index or the new one, never a mixture. Every
:data:`FLUSH_INTERVAL_S` it writes the uses counted. The end of a grace period and an expiry
need no change: the index decides them by the clock.

Each successful read confirms the registry; :meth:`Follower.unconfirmed_for` says how long ago
the last one was, and the application refuses to answer from memory past ``--max-staleness``.
An SQLite file that was deleted or replaced counts as unreachable even though the open
connection still reads the old file: the path's device and inode must stay the ones opened.
A file put back (a restored backup) is opened afresh; a missing one is waited for, never
created.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from desktop.app import Context
from desktop.server.usage import UsageCounter
from desktop.services import forward_auth
from desktop.services.access import AccessIndex

log = logging.getLogger(__name__)

SQLITE_POLL_S = 0.25
POSTGRES_POLL_S = 1.0
FLUSH_INTERVAL_S = 5.0
# An update that takes this long is logged: it delays what every request sees.
SLOW_UPDATE_S = 1.0


class RegistryGone(Exception):
    """The registry's file is not the one opened (deleted, or replaced by another)."""


class Follower:
    """The thread that keeps :attr:`index` current for one worker.

    *opener* opens the registry again (for an SQLite file that was replaced); *on_index* hears
    each new index with its cursor; *flush_interval* is how often counted uses are written.
    """

    def __init__(
        self,
        context: Context,
        usage: UsageCounter,
        *,
        max_staleness: float,
        opener: Callable[[], Context],
        on_index: Callable[[AccessIndex, int], None] | None = None,
        flush_interval: float = FLUSH_INTERVAL_S,
        poll_interval: float | None = None,
    ) -> None:
        self._context = context
        self._usage = usage
        self._opener = opener
        self._on_index = on_index
        self.max_staleness = max_staleness
        self._flush_interval = flush_interval
        self._file: Path | None = forward_auth.registry_file(context.database)
        self._identity = forward_auth.file_identity(self._file) if self._file else None
        postgres = self._file is None
        self._poll = poll_interval or (POSTGRES_POLL_S if postgres else SQLITE_POLL_S)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tokendesk-follower", daemon=True)
        self._listener = context.service.change_listener(self._wake.set) if postgres else None
        self._failing_since: float | None = None
        self._warned = False
        self._flush_failed = False
        self._faulty = False  # an unexpected error was logged, and nothing has succeeded since
        self.writes = 0  # batches of uses written
        # The first index, read before the server answers anything.
        self.cursor = context.service.change_cursor()
        self.index = context.service.access_index()
        self.confirmed_at = time.monotonic()
        self._announce()

    # ----------------------------------------------------------------- the requests' side

    def unconfirmed_for(self) -> float:
        """Seconds since the registry last answered (and the index was current)."""
        return time.monotonic() - self.confirmed_at

    # ----------------------------------------------------------------- running

    def start(self) -> None:
        if self._listener is not None:
            self._listener.start()
        self._thread.start()

    def stop(self, wait_s: float = 30.0) -> None:
        """Stop following, write what was counted (the thread does, on its way out) and close
        the registry."""
        self._stopping.set()
        self._wake.set()
        if self._listener is not None:
            self._listener.stop()
        if self._thread.is_alive():
            self._thread.join(wait_s)
        elif self._thread.ident is None:  # never started: write here
            self.flush(final=True)
            self._context.close()

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_interval
        try:
            while not self._stopping.is_set():
                self._wake.wait(self._poll)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                try:
                    self.catch_up()
                    if time.monotonic() >= next_flush:
                        self.flush()
                        next_flush = time.monotonic() + self._flush_interval
                except Exception as error:
                    # A fault of ours, not the registry's (catch_up handles those): the thread
                    # must not die of it, or this worker would answer 503 until restarted
                    # with nothing in the log to say why. Said once, tried again each poll.
                    if not self._faulty:
                        self._faulty = True
                        log.error(
                            "the access index could not be kept current (%s): trying again; "
                            "past --max-staleness every answer is 503",
                            _one_line(error),
                            exc_info=error,
                        )
                else:
                    self._faulty = False
        finally:
            self.flush(final=True)
            try:
                self._context.close()
            except Exception:
                log.debug("closing the registry failed", exc_info=True)

    # ----------------------------------------------------------------- one look

    def catch_up(self) -> bool:
        """Read the cursor and, when it moved, bring the index up to date. True when the
        registry answered (the index is current); False when it did not."""
        try:
            self._check_file()
            # The newest change-log entry; reading it is also the cheap proof the registry answers.
            cursor = self._context.service.change_cursor()
            if cursor != self.cursor:
                started = time.monotonic()
                index, cursor = self._updated()
                took = time.monotonic() - started
                if took > SLOW_UPDATE_S:
                    log.info(
                        "the access index took %.1f s to update (%d secrets)", took, len(index)
                    )
                self.index, self.cursor = index, cursor
                self._announce()
        except Exception as error:
            self._failed(error)
            return False
        self._confirmed()
        return True

    def _updated(self) -> tuple[AccessIndex, int]:
        """The index brought up to the change log's newest entry, and that entry: the tokens
        that changed read again, and those an environment, role or agent change concerns;
        everything read again for a new file, or when the log was pruned past the index."""
        service = self._context.service
        if self.cursor < 0:  # a new file
            cursor = self._context.service.change_cursor()
            return service.access_index(), cursor
        changes = service.changes_since(self.cursor)
        if not changes.complete:
            return service.access_index(), changes.cursor
        directory = changes.names or changes.directory
        index = service.access.updated_index(self.index, changes.tokens, directory=directory)
        return index, changes.cursor

    def _check_file(self) -> None:
        if self._file is None:
            return
        try:
            identity = forward_auth.file_identity(self._file)
        except FileNotFoundError:
            raise RegistryGone(f"the registry {self._file} is gone") from None
        if identity == self._identity:
            return
        # Another file is there now: it is the registry from now on, read from scratch.
        context = self._opener()
        old, self._context, self._identity = self._context, context, identity
        self.cursor = -1
        log.info("the registry %s was replaced: reading the new file", self._file)
        try:
            old.close()
        except Exception:
            log.debug("closing the replaced registry failed", exc_info=True)

    def _confirmed(self) -> None:
        self.confirmed_at = time.monotonic()
        if self._failing_since is not None:
            if self._warned:
                log.info(
                    "the registry answers again after %.0f s: deciding from an index at change %d",
                    self.confirmed_at - self._failing_since,
                    self.cursor,
                )
            self._failing_since = None
            self._warned = False

    def _failed(self, error: BaseException) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            log.info(
                "cannot read the registry (%s): answering from the last index for up to %.0f s",
                _one_line(error),
                self.max_staleness,
            )
            log.debug("the registry's error", exc_info=error)
        unconfirmed = now - self.confirmed_at
        if unconfirmed > self.max_staleness and not self._warned:
            self._warned = True
            log.warning(
                "registry unreachable for %.0f s (%s): every /v1/auth request is answered 503 "
                "until it is back",
                unconfirmed,
                _one_line(error),
            )

    def _announce(self) -> None:
        if self._on_index is not None:
            self._on_index(self.index, self.cursor)

    # ----------------------------------------------------------------- usage

    def flush(self, *, final: bool = False) -> None:
        """Write the uses counted since the last write; keep them for the next on failure."""
        batch = self._usage.take()
        if not batch:
            return
        try:
            self._check_file()
            forward_auth.record_uses(self._context.database, batch)
        except Exception as error:
            self._usage.give_back(batch)
            if final:
                log.warning("%d tokens' uses were not written (%s)", len(batch), _one_line(error))
            elif not self._flush_failed:
                self._flush_failed = True
                log.info(
                    "cannot write token uses yet (%s): kept for the next try", _one_line(error)
                )
            return
        self._flush_failed = False
        self.writes += 1


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
