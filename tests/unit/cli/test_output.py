"""The one output function, and the text helpers commands share."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pytest

from desktop.cli import output
from desktop.services.views import IssuedSecret, TokenView


def args(**values: object) -> argparse.Namespace:
    return argparse.Namespace(**values)


def test_emit_prints_json_with_json_and_text_without(capsys: pytest.CaptureFixture[str]) -> None:
    record = {"name": "Production", "tokens": 2, "é": None}
    output.emit(args(json=True), record, "not this")
    out = capsys.readouterr().out
    assert json.loads(out) == record
    assert out == json.dumps(record, indent=2) + "\n"
    output.emit(args(json=False), record, "Added environment 'Production'.")
    assert capsys.readouterr().out == "Added environment 'Production'.\n"
    output.emit(args(), record, "a command without --json prints text")
    assert capsys.readouterr().out == "a command without --json prints text\n"


def test_emit_makes_only_the_form_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    def never() -> str:
        raise AssertionError("made a form that is not printed")

    output.emit(args(json=True), lambda: [1, 2], never)
    assert json.loads(capsys.readouterr().out) == [1, 2]
    output.emit(args(json=False), never, lambda: "text")
    assert capsys.readouterr().out == "text\n"


def test_table_aligns_columns_and_never_pads_the_last() -> None:
    text = output.table(
        ["ID", "NAME", "NOTE"], [["1", "Production", "x"], ["12", "QA", ""]], empty="-"
    )
    assert text.splitlines() == [
        "ID  NAME        NOTE",
        "1   Production  x",
        "12  QA",
    ]
    assert output.table(["ID"], [], empty="No tokens.") == "No tokens."


def test_cell_is_one_line_shortened_with_an_ellipsis() -> None:
    assert output.cell("a\nb") == "a b"
    assert output.cell("x" * 40) == "x" * 40
    assert output.cell("x" * 41) == "x" * 39 + "…"
    assert output.cell("abcdef", 4) == "abc…"


def test_fields_align_the_values() -> None:
    assert output.fields("Token 3", [("agent", "Bot"), ("next rotation", "-")]).splitlines() == [
        "Token 3",
        "  agent:         Bot",
        "  next rotation: -",
    ]


def test_secret_text_shows_the_secret_once_on_its_own_line() -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    view = TokenView(
        id=7,
        environment="Production",
        agent="Bot",
        label="",
        role="Reader",
        status="Active",
        hint="wxyz",
        generation=0,
        rotation=None,
        rotation_interval=None,
        grace=timedelta(0),
        next_rotation_at=None,
        last_rotated_at=None,
        grace_until=None,
        last_error=None,
        created_at=now,
    )
    text = output.secret_text(IssuedSecret(view, "tdk_secretwxyz"), "Created token 7")
    assert text.splitlines() == [
        "Created token 7. Its secret is:",
        "",
        "    tdk_secretwxyz",
        "",
        "It stays in this desktop user's keyring, where nobody else can read it: print it "
        "again with 'tokendesk token show 7 --reveal'.",
    ]
