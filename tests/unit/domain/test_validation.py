"""The checks on what people type as names and labels: trimmed, bounded, printable, and never a
pasted secret (which would otherwise land in SQLite and the audit log)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput
from desktop.domain.validation import (
    MAX_LABEL,
    MAX_NAME,
    clean_label,
    clean_name,
    name_key,
    repaired_name,
    settled_names,
    shown,
)

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


@pytest.mark.parametrize(
    ("character", "message"),
    [
        ("\t", "a control character (U+0009)"),
        ("\n", "a control character (U+000A)"),
        ("\r", "a control character (U+000D)"),
        ("\x00", "a control character (U+0000)"),
        ("\x1b", "a control character (U+001B)"),
        ("\x7f", "a control character (U+007F)"),
        ("\u200b", "an invisible character (U+200B ZERO WIDTH SPACE)"),
        ("\u200c", "an invisible character (U+200C ZERO WIDTH NON-JOINER)"),
        ("\u200d", "an invisible character (U+200D ZERO WIDTH JOINER)"),
        ("\u2060", "an invisible character (U+2060 WORD JOINER)"),
        ("\ufeff", "an invisible character (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
        ("\u202e", "an invisible character (U+202E RIGHT-TO-LEFT OVERRIDE)"),
        ("\u00ad", "an invisible character (U+00AD SOFT HYPHEN)"),
        ("\u034f", "an invisible character (U+034F COMBINING GRAPHEME JOINER)"),
        ("\ufe0f", "an invisible character (U+FE0F VARIATION SELECTOR-16)"),
        ("\u3164", "an invisible character (U+3164 HANGUL FILLER)"),
        ("\u2800", "an invisible character (U+2800 BRAILLE PATTERN BLANK)"),
        ("\u2028", "a line or paragraph separator (U+2028 LINE SEPARATOR)"),
        ("\u00a0", "a non-breaking or other special space (U+00A0 NO-BREAK SPACE); use an"),
        ("\u202f", "a non-breaking or other special space (U+202F NARROW NO-BREAK SPACE)"),
        ("\u3000", "a non-breaking or other special space (U+3000 IDEOGRAPHIC SPACE)"),
        ("\ue000", "a private-use character (U+E000)"),
        ("\U000e0041", "an invisible character (U+E0041 TAG LATIN CAPITAL LETTER A)"),
        ("\udcff", "text that is not valid Unicode (U+DCFF)"),
        ("\uffff", "a character this version of Unicode does not define (U+FFFF)"),
    ],
)
def test_a_name_with_a_character_that_does_not_show_as_itself_is_refused(
    character: str, message: str
) -> None:
    """Named by its code point, never echoed raw: the reader would not see it."""
    with pytest.raises(InvalidInput) as refused:
        clean_name(f"Prod{character}uction", "environment")
    assert str(refused.value).startswith(f"environment name must not contain {message}")
    assert character not in str(refused.value)


def test_a_name_with_two_spaces_in_a_row_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^role name must not contain two spaces in a row$"):
        clean_name("Loan  Officer", "role")
    assert clean_name("Loan Officer", "role") == "Loan Officer"


def test_a_name_is_stored_in_nfc_and_trimmed_of_any_space() -> None:
    decomposed = "Rene\u0301 Mu\u0308ller"
    assert clean_name(f"\u00a0{decomposed}\u3000\n", "agent") == "René Müller"
    assert clean_name(f"\u00a0{decomposed}\u3000\n", "agent") == unicodedata.normalize(
        "NFC", decomposed
    )
    assert clean_name("Zahlungsverkehr Ω 🚀", "role") == "Zahlungsverkehr Ω 🚀"


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


@pytest.mark.parametrize(
    "spellings",
    [
        ("Production", "PRODUCTION", "production"),
        ("Straße", "STRASSE", "strasse"),  # full case folding, beyond ASCII
        ("René", "Rene\u0301", "RENÉ", "RENE\u0301"),  # composed or decomposed, any case
        ("Σίσυφος", "ΣΊΣΥΦΟΣ", "σίσυφοσ"),  # final sigma
        ("Prod uction", "Prod\u00a0uction", "Prod\u200b uction", " prod  uction\t"),
        ("Prod", "\uff30\uff52\uff4f\uff44"),  # fullwidth letters
    ],
)
def test_names_that_read_alike_have_one_key(spellings: tuple[str, ...]) -> None:
    assert len({name_key(spelling) for spelling in spellings}) == 1


def test_names_that_read_differently_have_different_keys() -> None:
    names = ["Production", "Prod uction", "Produktion", "Rene", "René", "Straße", "Strasse 1"]
    assert len({name_key(name) for name in names}) == len(names)


def test_a_key_is_found_for_text_that_is_not_valid_unicode() -> None:
    """A command line's undecodable bytes arrive as lone surrogates: a lookup must not crash."""
    key = name_key("Prod\udcffuction")
    key.encode("utf-8")  # storable and comparable in SQLite
    assert key != name_key("Production")


_NAME_TEXT = st.text(
    alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Zs", "Zl", "Cc", "Cf"]),
    max_size=40,
)


@given(_NAME_TEXT)
def test_a_stored_name_keeps_the_key_of_what_was_typed(text: str) -> None:
    """Cleaning never makes a name another name: trimming and NFC keep its key."""
    try:
        name = clean_name(text, "agent")
    except InvalidInput:
        return
    assert name_key(name) == name_key(text)
    assert name == unicodedata.normalize("NFC", name)
    assert name_key(name_key(name)) == name_key(name)


@given(_NAME_TEXT)
def test_a_repaired_name_is_the_same_name_and_acceptable(text: str) -> None:
    repaired = repaired_name(text)
    assert name_key(repaired) == name_key(text)
    if repaired:  # what the alphabet holds (no private-use or unassigned) is then acceptable
        assert clean_name(repaired, "role") == repaired


def test_settled_names_make_every_stored_name_its_own() -> None:
    rows = [
        (1, "Prod uction"),
        (2, "Prod\u00a0uction"),
        (3, "PROD  UCTION"),
        (4, "Prod uction (2)"),  # a real name the numbering must step over
        (5, "\u200b\u2060"),  # nothing visible
        (6, "Sandbox\u00a0EU"),  # invalid but its own: repaired in place
        (7, "Rene\u0301"),  # valid once in NFC
    ]
    changes = settled_names(rows, "environment")
    assert changes == {
        2: "Prod uction (3)",
        3: "PROD UCTION (4)",
        5: "environment 5",
        6: "Sandbox EU",
        7: "René",
    }
    final = [changes.get(row_id, name) for row_id, name in rows]
    assert len({name_key(name) for name in final}) == len(rows)
    assert settled_names(list(enumerate(final, start=1)), "environment") == {}


def test_the_name_already_valid_keeps_it_over_an_older_invalid_one() -> None:
    assert settled_names([(1, "Prod\u00a0uction"), (2, "prod uction")], "role") == {
        1: "Prod uction (2)"
    }


def test_shown_names_invisible_characters_by_their_code_points() -> None:
    assert shown("Prod\u200buction") == "'Prod<U+200B>uction'"
    assert shown("Prod\u00a0uction\u3164") == "'Prod<U+00A0>uction<U+3164>'"
    assert shown("Straße 🚀") == "'Straße 🚀'"
