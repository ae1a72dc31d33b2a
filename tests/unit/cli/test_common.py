"""Argument types, one-line messages, the token on standard input and the parser's errors."""

from __future__ import annotations

import argparse
import io
import sys

import pytest

from desktop.cli import common


@pytest.mark.parametrize(("text", "value"), [("12", 12), (" 7 ", 7), (str(2**63 - 1), 2**63 - 1)])
def test_token_id_accepts_positive_whole_numbers(text: str, value: int) -> None:
    assert common.token_id(text) == value


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("abc", "whole number"),
        ("1.5", "whole number"),
        ("0", "positive"),
        ("-3", "positive"),
        (str(2**63), "too large"),
    ],
)
def test_token_id_refuses_the_rest(text: str, why: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=why):
        common.token_id(text)


@pytest.mark.parametrize(
    "text",
    [
        # Arabic-Indic, fullwidth, Devanagari, mixed, superscript two
        *("\u0661\u0662", "\uff11\uff12", "\u0967\u0968", "1\u0662", "\u00b2"),
        # what int() reads besides: a sign, underscores, and more digits than it takes
        *("+12", "1_2", "12.0", "0x0c", "9" * 5000),
    ],
)
def test_a_token_id_is_written_in_ascii_digits_only(text: str) -> None:
    """``int()`` reads Arabic-Indic, fullwidth and Devanagari digits, a sign and underscores:
    Arabic-Indic "12" would otherwise select token 12."""
    with pytest.raises(argparse.ArgumentTypeError, match=r"whole number|too large"):
        common.token_id(text)


def test_token_id_quotes_at_most_40_characters() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        common.token_id("x" * 500)
    assert "x" * 41 not in str(raised.value)


@pytest.mark.parametrize("text", ["1", "1000000"])
def test_positive_accepts_one_to_a_million(text: str) -> None:
    assert common.positive(text) == int(text)


@pytest.mark.parametrize(
    "text", ["0", "1000001", "ten", "", "\u0661\u0662", "\uff11", "+5", "1_0", "9" * 5000]
)
def test_positive_refuses_the_rest(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected 1 to 1000000"):
        common.positive(text)


def test_messages_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    common.error("first\nsecond\t third")
    common.warn("  spaced   out \n")
    assert capsys.readouterr().err == (
        "tokendesk: error: first second third\nwarning: spaced out\n"
    )


def test_read_presented_reads_bytes_trims_and_stops_at_64_kib(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"  tdk_abc \n\n")))
    assert common.read_presented() == "tdk_abc"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe")))
    assert common.read_presented() == "\ufffd\ufffd"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a" * 1_000_000)))
    assert len(common.read_presented()) == common.MAX_STDIN + 1


def test_read_presented_without_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    assert common.read_presented() == ""
    monkeypatch.setattr(sys, "stdin", io.StringIO(" typed \n"))  # no binary buffer
    assert common.read_presented() == "typed"


def test_read_presented_at_a_terminal_hides_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return " tdk_typed "

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    assert common.read_presented() == "tdk_typed"
    assert prompts == ["Token (input hidden): "]


def test_a_usage_error_is_one_line_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    parser = common.Parser(prog="tokendesk")
    group = parser.add_subparsers(dest="command")
    sub = common.command(group, "show", lambda service, args: 0, "show one token")
    common.token_id_argument(sub)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["show", "twelve"])
    assert exited.value.code == common.EXIT_USAGE
    err = capsys.readouterr().err
    assert err == (
        "tokendesk: error: argument ID: invalid token id 'twelve': expected a whole number "
        "such as 12 (see 'tokendesk show --help')\n"
    )


def test_command_declares_handler_json_and_keyring_need() -> None:
    parser = common.Parser(prog="tokendesk")
    group = parser.add_subparsers(dest="command")

    def handler(service: object, args: argparse.Namespace) -> int:
        return 0

    common.command(group, "plain", handler, "say it plainly", json_output=False)
    common.command(group, "secret", handler, "handle a secret", secret=True)
    plain = parser.parse_args(["plain"])
    assert (plain.handler, plain.secret, hasattr(plain, "json")) == (handler, False, False)
    secret = parser.parse_args(["secret", "--json"])
    assert (secret.secret, secret.json) == (True, True)
    assert group.choices["plain"].description == "Say it plainly."
