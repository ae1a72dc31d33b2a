"""``tokendesk serve``'s options: a bad one is refused with one line, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.app import open_context
from desktop.cli import main
from desktop.server.config import parse_listen


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8181", ("127.0.0.1", 8181)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),  # noqa: S104 - text, not a socket
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:65535", ("127.0.0.1", 65535)),
        ("[0:0::1]:80", ("::1", 80)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "8181",
        ":8181",
        "127.0.0.1:",
        "127.0.0.1:http",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "127.0.0.1:8_181",
        # IPv6 without brackets: "::1" would be host "::" (every interface), port 1.
        "::1",
        "::1:8181",
        "[::1]",
        "[::1]8181",
        "[127.0.0.1]:80",
        # Not an address: Granian binds addresses.
        "nohost.invalid:8181",
        "1.2.3:80",
    ],
)
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ValueError, match="--listen"):
        parse_listen(text)


@pytest.mark.sqlite_only  # the same refusal on either engine
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--listen", "nowhere"], "invalid --listen 'nowhere'"),
        (["--workers", "0"], "invalid --workers 0"),
        (["--max-staleness", "0"], "invalid --max-staleness 0"),
    ],
)
def test_bad_options_are_refused_with_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    open_context(data_dir, need_keyring=False).close()  # a registry to serve
    assert main(["--data-dir", str(data_dir), "serve", *arguments]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tokendesk: error: {message}")


@pytest.mark.sqlite_only  # a PostgreSQL registry is a server's, made by whoever runs it
def test_a_registry_that_is_not_there_is_refused_not_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped --data-dir would otherwise serve a new, empty registry: 401 to every request,
    and /healthz saying all is well."""
    data_dir = tmp_path / "mistyped"
    assert main(["--data-dir", str(data_dir), "serve", "--listen", "127.0.0.1:0"]) == 2
    _, err = capsys.readouterr()
    registry = data_dir / "tokendesk.sqlite3"
    assert err.splitlines() == [
        f"tokendesk: error: no registry at {registry}: serve reads one TokenDesk made there "
        "(check --data-dir, or create it with the window or any other command)"
    ]
    assert not registry.exists()
