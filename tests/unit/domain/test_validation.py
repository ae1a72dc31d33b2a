"""The checks on what people type as names and labels: trimmed, bounded, printable, and never a
pasted secret (which would otherwise land in SQLite and the audit log)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput
from desktop.domain.validation import MAX_LABEL, MAX_NAME, clean_label, clean_name

# Characters of each refused Unicode category: Cc (controls), Cf (format: zero-width space,
# right-to-left override, byte order mark), Zl and Zp (line and paragraph separators).
CONTROLS = ["\t", "\n", "\r", "\x00", "\x1b", "\x7f", "\u200b", "\u202e", "\ufeff", "\u2028"]


def not_a_token(secret: str) -> str:
    """The same shape as *secret* with its checksum broken."""
    last = "A" if secret[-1] != "A" else "B"
    return secret[:-1] + last


def test_a_label_is_trimmed_and_may_be_empty() -> None:
    assert clean_label("  nightly import \t") == "nightly import"
    assert clean_label(None) == ""
    assert clean_label("") == ""
    assert clean_label("   ") == ""


def test_a_label_keeps_printable_unicode() -> None:
    assert clean_label("Zahlungsimport — Müller 🚀") == "Zahlungsimport — Müller 🚀"


def test_a_label_may_hold_exactly_the_maximum() -> None:
    assert clean_label("x" * MAX_LABEL) == "x" * MAX_LABEL
    assert clean_label(" " + "x" * MAX_LABEL + " ") == "x" * MAX_LABEL  # counted after trimming
    with pytest.raises(InvalidInput, match=f"label is too long: {MAX_LABEL + 1} characters"):
        clean_label("x" * (MAX_LABEL + 1))


@pytest.mark.parametrize("control", CONTROLS)
def test_a_label_with_a_control_character_is_refused(control: str) -> None:
    with pytest.raises(InvalidInput, match="label must not contain control characters"):
        clean_label(f"night{control}ly")


def test_a_label_holding_a_secret_is_refused() -> None:
    secret = tokens.generate()
    for text in (secret, f"key {secret} for the dashboard", f"{secret}{secret}"):
        with pytest.raises(InvalidInput, match="label must not contain a token secret"):
            clean_label(text)


def test_text_shaped_like_a_token_with_a_wrong_checksum_is_a_label() -> None:
    """Only a real secret (correct checksum) is refused: a label may mention the prefix."""
    lookalike = not_a_token(tokens.generate())
    assert not tokens.is_well_formed(lookalike)
    assert clean_label(lookalike) == lookalike
    assert clean_label("tdk_ tokens for the ETL") == "tdk_ tokens for the ETL"


def test_a_name_is_trimmed_and_must_not_be_empty() -> None:
    assert clean_name("  Ada Servicing Bot ", "agent") == "Ada Servicing Bot"
    for empty in ("", "   ", "\t\n"):
        with pytest.raises(InvalidInput, match=r"^agent name must not be empty$"):
            clean_name(empty, "agent")


def test_a_name_may_hold_exactly_the_maximum() -> None:
    assert clean_name("r" * MAX_NAME, "role") == "r" * MAX_NAME
    with pytest.raises(InvalidInput, match=rf"^role name is too long: at most {MAX_NAME} "):
        clean_name("r" * (MAX_NAME + 1), "role")


@pytest.mark.parametrize("control", CONTROLS)
def test_a_name_with_a_control_character_is_refused(control: str) -> None:
    with pytest.raises(
        InvalidInput, match=r"^environment name must not contain control characters$"
    ):
        clean_name(f"Prod{control}uction", "environment")


def test_a_name_holding_a_secret_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^agent name must not contain a token secret$"):
        clean_name(f"bot {tokens.generate()}", "agent")
    lookalike = not_a_token(tokens.generate())
    assert clean_name(lookalike, "agent") == lookalike


def test_the_checks_run_in_order_length_first() -> None:
    """An overlong text is refused for its length before it is scanned (the cheap check)."""
    with pytest.raises(InvalidInput, match="too long"):
        clean_label("\x00" * (MAX_LABEL + 1))
    with pytest.raises(InvalidInput, match="too long"):
        clean_name("\x00" * (MAX_NAME + 1), "agent")


@given(st.text(alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=120))
def test_printable_text_within_bounds_comes_back_trimmed(text: str) -> None:
    cleaned = clean_label(text)
    assert cleaned == text.strip()
    assert len(cleaned) <= MAX_LABEL
