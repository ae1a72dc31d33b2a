"""The one way a command prints what it did: JSON with ``--json``, else text for people.

Handlers build both forms from the same records and call :func:`emit`; the text helpers here
(aligned tables, shortened cells, times, the once-only secret) are the shared vocabulary.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence

from desktop.cli.common import PROG, one_line
from desktop.services.views import IssuedSecret

CELL_WIDTH = 40  # table cells longer than this are shortened with an ellipsis


def emit(args: argparse.Namespace, record: object, text: str | Callable[[], str]) -> None:
    """Print *record* as indented JSON when the command was given ``--json``, else *text*.

    Either may be a function that makes it, so that of 100,000 tokens only the form that is
    printed is built."""
    if getattr(args, "json", False):
        print(json.dumps(record() if callable(record) else record, indent=2))
    else:
        print(text() if callable(text) else text)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str) -> str:
    """Aligned columns, or *empty* when there are no rows. The last column is never padded
    (it may be long)."""
    if not rows:
        return empty
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *[list(row) for row in rows]]
    )


def cell(text: str, width: int = CELL_WIDTH) -> str:
    """One line, shortened with an ellipsis to *width* characters."""
    text = one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def fields(title: str, pairs: Sequence[tuple[str, str]]) -> str:
    """A title, then ``name: value`` lines with the values aligned."""
    width = max(len(name) for name, _ in pairs)
    return "\n".join([title, *(f"  {name + ':':<{width + 1}} {value}" for name, value in pairs)])


def secret_text(issued: IssuedSecret, what: str) -> str:
    """*what* happened, then the new secret on a line of its own, and where it stays."""
    return "\n".join(
        [
            f"{what}. Its secret is:",
            "",
            f"    {issued.secret}",
            "",
            "It stays in this desktop user's keyring, where nobody else can read it: print it "
            f"again with '{PROG} token show {issued.token.id} --reveal'.",
        ]
    )
