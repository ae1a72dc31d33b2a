"""What ``tokendesk serve`` was asked to do, handed to each worker process (it is pickled)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8181
DEFAULT_MAX_STALENESS_S = 30.0


@dataclass(frozen=True)
class Settings:
    """One server's settings: where the registry is, where to listen, how many workers."""

    data_dir: Path
    database: str | None  # a PostgreSQL URL, or None for the SQLite file in data_dir
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    # How long the last index may answer while the registry cannot be read, in seconds.
    max_staleness: float = DEFAULT_MAX_STALENESS_S
    access_log: bool = False
    log_level: int = 20  # logging.INFO


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8181`` for IPv6) as (host, port); port 0 asks for a free one.
    Raises :class:`ValueError` with what is wrong."""
    host, separator, port_text = text.strip().rpartition(":")
    if not separator or not host:
        raise ValueError(f"invalid --listen {text[:80]!r}: write HOST:PORT, e.g. 127.0.0.1:8181")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"invalid port {port_text[:20]!r} in --listen: use 0 to 65535")
    return host, port
