"""Logs a person can send: a private, rotating file that never holds a secret.

Every run of ``tokendesk`` (each command, and the window) appends to ``tokendesk.log`` in
:func:`log_dir`. The file and the directory made for it are readable by their owner only, the
file rotates at 1 MB keeping three old ones, and every record passes :class:`MaskTokens` on its
way out, so a secret that slipped into a message, its arguments or a traceback is written as
``tdk_[masked]``. Standard error keeps its own level, ``$TOKENDESK_LOG_LEVEL`` (WARNING when
unset), and is masked the same way.

Nothing here imports Qt: the command line uses it without loading the window toolkit.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

import platformdirs

from desktop.domain import tokens
from desktop.paths import APP_NAME, ENV_DATA_DIR

ENV_LOG_DIR = "TOKENDESK_LOG_DIR"
ENV_LOG_LEVEL = "TOKENDESK_LOG_LEVEL"
FILENAME = "tokendesk.log"
MAX_BYTES = 1024 * 1024
BACKUP_COUNT = 3  # tokendesk.log.1 … .3: at most 4 MB in all
DIR_MODE = 0o700
FILE_MODE = 0o600
FILE_FORMAT = "%(asctime)s.%(msecs)03dZ %(process)d %(levelname)s %(name)s: %(message)s"
MASKED = "[masked]"
# ``extra=FILE_ONLY`` on a record meant for the log file alone: what a person would send
# (which command ran, why it was refused), never repeated on standard error.
FILE_ONLY = {"tokendesk_file_only": True}

# The prefix and any run of base62 after it: a whole token, a truncated one or one with a typo.
_PREFIXED = re.compile(re.escape(tokens.PREFIX) + "[0-9A-Za-z]+")
# A run as long as a token's body with the prefix cut off (a SHA-256 in hex is masked too).
_BARE_BODY = re.compile(f"(?<![0-9A-Za-z])[0-9A-Za-z]{{{tokens.BODY_LENGTH},}}(?![0-9A-Za-z])")


def mask(text: str) -> str:
    """*text* with everything that looks like a token, or a token's body, replaced."""
    if not text:
        return text
    text = _PREFIXED.sub(tokens.PREFIX + MASKED, text)
    return _BARE_BODY.sub(MASKED, text)


def log_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the log file goes: ``$TOKENDESK_LOG_DIR``; else a data dir chosen by hand
    (*data_dir*, from ``--data-dir``, or ``$TOKENDESK_DATA_DIR``), so separate data sets and
    test runs keep separate logs; else the platform's user log dir
    (``~/.local/state/TokenDesk/log`` on Linux)."""
    from_env = os.environ.get(ENV_LOG_DIR)
    if from_env:
        return Path(from_env).expanduser()
    chosen = data_dir or os.environ.get(ENV_DATA_DIR)
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def stderr_level() -> int:
    """``$TOKENDESK_LOG_LEVEL`` (a level name such as DEBUG or INFO), else WARNING."""
    name = os.environ.get(ENV_LOG_LEVEL, "").strip().upper() or "WARNING"
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.WARNING


class MaskTokens(logging.Filter):
    """Masks the message, its arguments, the traceback and the stack of every record it sees.

    The record itself is rewritten (message formatted, arguments dropped), so any handler that
    sees it later gets the masked text too. It never refuses a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: keep both, masked
            message = f"{record.msg!r} {record.args!r}"
        record.msg = mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, "tokendesk_file_only", False)


class OneLineFormatter(logging.Formatter):
    """Each record on one line, without its traceback or stack: standard error is read by
    people and by cron mail, and the log file keeps the whole story."""

    def format(self, record: logging.LogRecord) -> str:
        kept = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return " ".join(super().format(record).split())
        finally:
            record.exc_info, record.exc_text, record.stack_info = kept


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A :class:`RotatingFileHandler` whose files are created (and kept) owner-only, and that
    never disturbs the program: a record it cannot write is dropped, not printed to stderr.

    Several processes may append to one file (the window and a ``rotate-due`` from cron); each
    rotates on its own, so a line or two may land in ``tokendesk.log.1`` around a rollover."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")

    def _open(self) -> TextIOWrapper:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(self.baseFilename, flags, FILE_MODE)
        try:
            if hasattr(os, "fchmod"):  # a file left with a wider mode is narrowed again
                os.fchmod(descriptor, FILE_MODE)
            return open(descriptor, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(descriptor)
            raise

    def handleError(self, record: logging.LogRecord) -> None:
        """A full disk or a vanished folder must not change what a command prints."""


def _log_folder(directory: Path) -> Path:
    """*directory*, created owner-only (0700) when it does not exist yet. An existing one is
    left as it is, unlike a data dir (:func:`desktop.paths.private_dir`, which the database
    narrows, saying so): a folder named by ``$TOKENDESK_LOG_DIR`` may be shared on purpose,
    with the files in it private all the same."""
    if not directory.is_dir():
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if os.name == "posix":
            os.chmod(directory, DIR_MODE)  # whatever the umask said
    return directory


def file_handler(directory: Path) -> PrivateRotatingFileHandler:
    """A masked, rotating handler on ``directory/tokendesk.log``; raises OSError when the
    folder or the file cannot be made."""
    handler = PrivateRotatingFileHandler(_log_folder(directory) / FILENAME)
    formatter = logging.Formatter(FILE_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime  # UTC, as the log may be read in another time zone
    handler.setFormatter(formatter)
    handler.addFilter(MaskTokens())
    return handler


def log_file() -> Path | None:
    """The file this process is logging to (for the window's error dialog), if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrivateRotatingFileHandler):
            return Path(handler.baseFilename)
    return None


@dataclass
class Installed:
    """What :func:`install` added to the logging tree, so :meth:`remove` can take it out and
    leave an embedding program's logging as it found it."""

    file: Path | None
    handlers: list[logging.Handler] = field(default_factory=list)
    levels: list[tuple[logging.Logger, int]] = field(default_factory=list)

    def remove(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        for logger, level in reversed(self.levels):
            logger.setLevel(level)
        self.handlers.clear()
        self.levels.clear()


def install(directory: Path | None, *, stderr_format: str) -> Installed:
    """Log to standard error at :func:`stderr_level` (one line per record, tracebacks only
    at DEBUG) and, when *directory* is given, to the private log file in it.

    Standard error gets a handler only when nobody configured logging before (as with
    :func:`logging.basicConfig`): a program or test harness that did keeps its own. The file
    takes TokenDesk's own records from DEBUG up and everyone else's from INFO (a database
    library's per-query DEBUG lines would crowd out the rest), or everything from
    ``$TOKENDESK_LOG_LEVEL`` when that is lower. A file that cannot be opened is left out.
    """
    root = logging.getLogger()
    ours = logging.getLogger("desktop")
    level = stderr_level()
    installed = Installed(file=None, levels=[(root, root.level), (ours, ours.level)])
    if not root.handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(level)
        # At DEBUG, asked for by hand, tracebacks are wanted on the terminal too.
        formatter = logging.Formatter if level <= logging.DEBUG else OneLineFormatter
        stderr.setFormatter(formatter(stderr_format))
        stderr.addFilter(_not_file_only)
        stderr.addFilter(MaskTokens())
        root.addHandler(stderr)
        installed.handlers.append(stderr)
    root.setLevel(level)
    if directory is not None:
        try:
            handler = file_handler(directory)
        except OSError:
            logging.getLogger(__name__).debug("no log file in %s", directory, exc_info=True)
        else:
            handler.setLevel(logging.DEBUG)
            root.addHandler(handler)
            installed.handlers.append(handler)
            installed.file = Path(handler.baseFilename)
            root.setLevel(min(level, logging.INFO))
            ours.setLevel(logging.DEBUG)
    return installed


__all__ = [
    "ENV_LOG_DIR",
    "ENV_LOG_LEVEL",
    "FILENAME",
    "FILE_ONLY",
    "Installed",
    "MaskTokens",
    "OneLineFormatter",
    "PrivateRotatingFileHandler",
    "install",
    "log_dir",
    "log_file",
    "mask",
    "stderr_level",
]
