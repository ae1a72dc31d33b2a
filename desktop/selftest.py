"""``tokendesk --self-test``: can TokenDesk work on this machine, and if not, why not?

Four checks, each reported on one line that starts with ``OK`` or ``FAIL``; a failure says what
to do about it. The checks touch only what the app itself uses: the window toolkit, the data
folder, the database in it (opened and migrated exactly as the app would) and the system keyring
(one fixed test entry, written, read back and deleted). The exit status is 0 when every check
passed and 1 otherwise.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from desktop import __version__, paths

EXIT_OK = 0
EXIT_FAILED = 1

_LINUX_QT_LIBS = (
    "libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0 libx11-6 "
    "libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 "
    "libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0"
)


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def check_qt() -> Result:
    """The window toolkit loads and a display platform starts (offscreen when there is none)."""
    name = "window toolkit"
    try:
        from desktop.gui.toolkit import check_toolkit
    except ImportError as error:
        hint = (
            f"install the missing system libraries (on Debian or Ubuntu: apt install "
            f"{_LINUX_QT_LIBS})"
            if sys.platform.startswith("linux")
            else "reinstall TokenDesk"
        )
        return Result(name, False, f"Qt cannot be loaded ({_one_line(error)}); {hint}")
    ok, detail = check_toolkit(_LINUX_QT_LIBS)
    return Result(name, ok, detail)


def check_data_dir(data_dir: Path) -> Result:
    """The data folder exists (or can be created) and a file can be written in it."""
    name = "data folder"
    try:
        paths.private_dir(data_dir)  # as the database makes it: owner-only
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".selftest-", delete=True) as probe:
            probe.write(b"tokendesk self-test\n")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        reason = error.strerror or _one_line(error)
        return Result(
            name,
            False,
            f"{data_dir} is not writable ({reason}); make it a folder you may write to (check "
            f"the path and its permissions), or choose another with --data-dir or "
            f"{paths.ENV_DATA_DIR}",
        )
    return Result(name, True, f"{data_dir} is writable")


def check_database(data_dir: Path) -> Result:
    """The database in the data folder opens, migrates and passes SQLite's quick check."""
    from desktop.domain.errors import DatabaseError, SchemaTooNew
    from desktop.storage.database import (
        DB_FILENAME,
        SCHEMA_VERSION,
        open_database,
        quick_check,
        user_version,
    )

    name = "database"
    path = data_dir / DB_FILENAME
    try:
        database = open_database(path)
    except (SchemaTooNew, DatabaseError) as error:  # each names the file and what to do
        return Result(name, False, _one_line(error))
    except OSError as error:
        return Result(
            name,
            False,
            f"cannot open {path} ({_one_line(error)}); make sure the folder is writable and the "
            f"file is a TokenDesk database (move it aside to start afresh)",
        )
    try:
        version = user_version(database)
        verdict = quick_check(database)
    except DatabaseError as error:
        return Result(name, False, f"cannot read {path} ({_one_line(error)})")
    finally:
        database.close()
    if verdict != "ok":
        return Result(
            name,
            False,
            f"{path} is damaged (SQLite quick check: {_one_line(verdict)}); restore it from a "
            f"backup (a copy is kept beside it as *.bak before each migration)",
        )
    return Result(
        name, True, f"{path} opens at schema version {version} of {SCHEMA_VERSION}, quick check ok"
    )


def check_keyring() -> Result:
    """A trusted keyring backend is present and stores, returns and deletes a test entry."""
    from desktop.domain.errors import SecretStoreUnavailable
    from desktop.secrets.store import KeyringSecretStore, select_backend

    name = "keyring"
    try:
        store = KeyringSecretStore(select_backend())
    except SecretStoreUnavailable as error:
        return Result(name, False, str(error))
    try:
        store.round_trip()
    except SecretStoreUnavailable as error:
        return Result(name, False, str(error))
    return Result(name, True, f"{store.backend_name} stored, returned and deleted a test entry")


def _describe_install() -> str:
    if getattr(sys, "frozen", False):
        return f"bundle in {Path(sys.executable).resolve().parent}"
    return f"Python {platform.python_version()} at {sys.executable}"


def run(data_dir: Path | None = None, out: TextIO | None = None) -> int:
    """Run every check, print one line each to *out* (stdout) and return the exit status."""
    stream = out if out is not None else sys.stdout
    folder = data_dir if data_dir is not None else paths.data_dir()
    started = time.monotonic()
    print(f"TokenDesk {__version__} self-test ({_describe_install()})", file=stream, flush=True)

    checks: list[tuple[str, Callable[[], Result]]] = [
        ("window toolkit", check_qt),
        ("data folder", lambda: check_data_dir(folder)),
        ("database", lambda: check_database(folder)),
        ("keyring", check_keyring),
    ]
    results: list[Result] = []
    for name, check in checks:
        if name == "database" and not results[-1].ok:
            result = Result(name, False, "not checked: the data folder is not usable (see above)")
        else:
            try:
                result = check()
            except Exception as error:  # a check must report, never crash the self-test
                result = Result(
                    name,
                    False,
                    f"unexpected {type(error).__name__}: {_one_line(error)}; please report this",
                )
        results.append(result)
        print(result.line(), file=stream, flush=True)

    failed = sum(not r.ok for r in results)
    took = time.monotonic() - started
    if failed:
        print(f"{failed} of {len(results)} checks failed ({took:.1f} s).", file=stream, flush=True)
        return EXIT_FAILED
    print(f"All {len(results)} checks passed ({took:.1f} s).", file=stream, flush=True)
    return EXIT_OK


__all__ = ["Result", "run"]
