"""What ``tokendesk serve`` was asked to do, handed to each worker process (it is pickled)."""

from __future__ import annotations

import ipaddress
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
    """``HOST:PORT`` as (host, port): HOST an IP address (IPv6 in brackets, ``[::1]:8181``) or
    ``localhost``; port 0 asks for a free one. Raises :class:`ValueError` with what is wrong.

    A bare IPv6 address is refused rather than split at its last colon: ``::1`` would
    otherwise be host ``::`` (every interface) and port 1. A host name is refused too: the
    server binds addresses, and a name that resolves to several would bind one of them."""
    text = text.strip()
    usage = f"invalid --listen {text[:80]!r}: write HOST:PORT, e.g. 127.0.0.1:8181 or [::1]:8181"
    if text.startswith("["):
        host, separator, port_text = text[1:].partition("]:")
        if not separator or ":" not in host:
            raise ValueError(usage)
    else:
        host, separator, port_text = text.rpartition(":")
        if not separator or not host:
            raise ValueError(usage)
        if ":" in host:
            raise ValueError(f"{usage} (an IPv6 address goes in brackets)")
    if host == "localhost":
        host = DEFAULT_HOST
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(
            f"invalid host {host[:80]!r} in --listen: write an IP address such as 127.0.0.1, "
            "0.0.0.0 or [::1]"
        ) from None
    # Digits only: int() would also take "+80", " 80" and "8_181".
    port = int(port_text) if port_text.isascii() and port_text.isdigit() else -1
    if not 0 <= port <= 65535:
        raise ValueError(f"invalid port {port_text[:20]!r} in --listen: use 0 to 65535")
    return host, port
