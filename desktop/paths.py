"""Where TokenDesk keeps its data, and where its packaged resources are."""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

import platformdirs

APP_NAME = "TokenDesk"
ENV_DATA_DIR = "TOKENDESK_DATA_DIR"
ENV_DATABASE = "TOKENDESK_DATABASE"
DATABASE_SCHEMES = ("postgresql://", "postgres://")


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--data-dir``, else ``$TOKENDESK_DATA_DIR``, else the platform's user data dir."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(ENV_DATA_DIR)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def database_url(explicit: str | None = None) -> str | None:
    """``--database``, else ``$TOKENDESK_DATABASE``: the URL of a registry on PostgreSQL
    (``postgresql://user@host:port/dbname``), or None for the SQLite file in the data dir.
    Raises ValueError, naming where it came from, for anything but such a URL."""
    url, source = explicit, "--database"
    if not url:
        url, source = os.environ.get(ENV_DATABASE) or None, f"${ENV_DATABASE}"
    if url is None:
        return None
    if not url.startswith(DATABASE_SCHEMES):
        raise ValueError(
            f"{source} takes a PostgreSQL URL such as postgresql://user@host:5432/dbname "
            "(without it, the registry is the SQLite file in the data dir)"
        )
    return url


def resources_dir() -> Path:
    """``resources/`` beside the package, or inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


# ---------------------------------------------------------------------------- private modes

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # the group's and everyone else's bits


def private_dir(directory: Path) -> bool:
    """Make *directory* (and any missing parents) if need be, the directory itself owner-only
    (0700) whatever the umask; an existing one that others may read is narrowed to 0700.

    Whether an existing directory was narrowed, so the caller can say so once. A shared sticky
    directory such as ``/tmp`` is never narrowed: it is not TokenDesk's to change. Raises
    OSError when the directory cannot be made."""
    if os.name != "posix":
        directory.mkdir(parents=True, exist_ok=True)
        return False
    try:
        directory.mkdir(mode=DIR_MODE, parents=True)
    except FileExistsError:
        if not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(directory)) from None
        mode = directory.stat().st_mode
        if mode & stat.S_ISVTX or not mode & _OTHERS:
            return False
        os.chmod(directory, DIR_MODE)
        return True
    os.chmod(directory, DIR_MODE)  # mkdir's mode is narrowed by the umask, never widened
    return False


def private_file(path: Path) -> bool:
    """Narrow an existing file that others may read to owner-only (0600); whether it was.
    A file that does not exist is left alone."""
    if os.name != "posix":
        return False
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    if not mode & _OTHERS:
        return False
    os.chmod(path, FILE_MODE)
    return True
