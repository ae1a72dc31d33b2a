"""One worker process's start: its log, its registry, its first index, its application.

Granian calls :func:`load` in each worker process it spawns (the settings travel pickled), so
each worker opens the registry itself and keeps its own index: nothing is shared between
workers but the listening socket and the metrics' files.
"""

from __future__ import annotations

import logging
import sys

from desktop import logs
from desktop.app import Context, open_context
from desktop.server.app import AuthApplication
from desktop.server.config import Settings
from desktop.server.follower import Follower
from desktop.server.metrics import Metrics
from desktop.server.usage import UsageCounter

STDERR_FORMAT = "tokendesk: %(levelname)s: %(name)s: %(message)s"


def open_registry(settings: Settings) -> Context:
    """The registry, without the keyring: decisions need only the fingerprints."""
    return open_context(settings.data_dir, need_keyring=False, database=settings.database)


def build(settings: Settings, context: Context) -> AuthApplication:
    """The application on an open *context*, its index read (not yet following changes)."""
    usage = UsageCounter()
    metrics = Metrics()

    def announce(index: object, cursor: int) -> None:
        metrics.changes.set(cursor)
        metrics.tokens.set(len(index))  # type: ignore[arg-type]

    follower = Follower(
        context,
        usage,
        max_staleness=settings.max_staleness,
        opener=lambda: open_registry(settings),
        on_index=announce,
    )
    return AuthApplication(follower, usage, metrics, access_log=settings.access_log)


def load(settings: Settings) -> AuthApplication:
    """What Granian runs in a worker: log to standard error as the command line does, open
    the registry and build the application."""
    _log_to_stderr(settings.log_level)
    return build(settings, open_registry(settings))


def _log_to_stderr(level: int) -> None:
    root = logging.getLogger()
    if not any(getattr(handler, "tokendesk_serve", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logs.OneLineFormatter(STDERR_FORMAT))
        handler.addFilter(logs.MaskTokens())
        handler.tokendesk_serve = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
