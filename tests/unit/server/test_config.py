"""``tokendesk serve``'s options: a bad one is refused with one line, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert main(["--data-dir", str(data_dir), "serve", *arguments]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tokendesk: error: {message}")
