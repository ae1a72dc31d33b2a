"""Checks on text that people type: names and labels.

A name (of an environment, a role or an agent) is what people tell things apart by, on screen,
in scripts and in the audit log, so two names that read alike must be one name. It is stored
trimmed and in Unicode NFC, and it is refused when it holds anything that does not show as
itself: a control character, an invisible (default-ignorable or format) character, a space
other than the ordinary one, or two spaces in a row. :func:`name_key` is what names are
compared by: two names with the same key are the same name.
"""

from __future__ import annotations

import unicodedata

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput

MAX_LABEL = 200
MAX_NAME = 100


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in text)


def clean_label(text: str | None) -> str:
    """Trim; at most 200 characters; no control characters. An empty label is allowed."""
    if text is None:
        return ""
    label = text.strip()
    if len(label) > MAX_LABEL:
        raise InvalidInput(f"label is too long: {len(label)} characters, at most {MAX_LABEL}")
    if _has_control(label):
        raise InvalidInput("label must not contain control characters")
    if tokens.appears_in(label):
        raise InvalidInput("label must not contain a token secret")
    return label


# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt), which the
# standard library does not expose: characters that show as nothing. Most are format
# characters (Cf) anyway; the others are combining marks and fillers that render blank.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_BLANK_SYMBOLS = frozenset({"\u2800"})  # BRAILLE PATTERN BLANK: a symbol that shows nothing


def _default_ignorable(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)


def _invisible(ch: str) -> bool:
    """Whether *ch* shows as nothing: a format character, a default-ignorable one or a blank."""
    return unicodedata.category(ch) == "Cf" or _default_ignorable(ch) or ch in _BLANK_SYMBOLS


def code_point(ch: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: how a message names a character it must not print raw."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def _name_problem(ch: str) -> str | None:
    """Why *ch* may not stand in a name, or None when it may."""
    if ch == " " or (ch.isascii() and ch.isprintable()):
        return None  # the common case, decided without looking up a category
    category = unicodedata.category(ch)
    if category == "Cc":
        return "a control character"
    if category in {"Zl", "Zp"}:
        return "a line or paragraph separator"
    if category == "Zs":
        return "a non-breaking or other special space"
    if _invisible(ch):
        return "an invisible character"
    if category == "Cs":
        return "text that is not valid Unicode"
    if category == "Co":
        return "a private-use character"
    if category == "Cn":
        return "a character this version of Unicode does not define"
    return None


def shown(text: str) -> str:
    """*text* quoted for a message, with every character that would not show as itself (an
    invisible, control or special-space character) written as its code point, e.g.
    ``'Prod<U+200B>uction'``: a message never echoes an invisible character raw."""
    return "'" + "".join(f"<U+{ord(c):04X}>" if _name_problem(c) else c for c in text) + "'"


def clean_name(text: str, what: str) -> str:
    """A name as stored: trimmed, in NFC, non-empty, at most 100 characters, each of which
    shows as itself (see the module's docstring); *what* (``environment``, ``role``,
    ``agent``) starts each refusal's message."""
    name = unicodedata.normalize("NFC", text.strip())
    if not name:
        raise InvalidInput(f"{what} name must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"{what} name is too long: at most {MAX_NAME} characters")
    for ch in name:
        problem = _name_problem(ch)
        if problem is not None:
            advice = "; use an ordinary space" if unicodedata.category(ch) == "Zs" else ""
            raise InvalidInput(f"{what} name must not contain {problem} ({code_point(ch)}){advice}")
    if "  " in name:
        raise InvalidInput(f"{what} name must not contain two spaces in a row")
    if tokens.appears_in(name):
        raise InvalidInput(f"{what} name must not contain a token secret")
    return name


def _spaces_and_ignorables(text: str) -> str:
    """*text* with every kind of whitespace made an ordinary space and the characters that show
    as nothing (controls and invisible ones) dropped."""
    return "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or not (unicodedata.category(ch) == "Cc" or _invisible(ch))
    )


def name_key(name: str) -> str:
    """What names are compared by: two names with the same key are the same name.

    Unicode's compatibility caseless match (NFKC and full case folding, so ``Straße`` is
    ``STRASSE``, fullwidth letters are the ASCII ones and a precomposed ``é`` is ``e`` with
    a combining accent) after dropping what shows as nothing and making every kind of space one
    ordinary space. Names as stored never hold those, but a lookup may (a script that copied a
    name with a non-breaking space still finds it), and so may names stored by an older
    TokenDesk. Stored beside each name under a unique index, so the database itself keeps two
    names that read alike from existing. Stable across Unicode versions for the characters a
    name may hold: new names with unassigned characters are refused.
    """
    if name.isascii():  # the common case: folding ASCII is lower-casing it
        return " ".join(_spaces_and_ignorables(name).lower().split())
    if _has_surrogates(name):  # undecodable input (a command line's bytes): never a name
        name = name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = unicodedata.normalize("NFKC", _spaces_and_ignorables(name)).casefold()
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


def _has_surrogates(text: str) -> bool:
    """Whether *text* holds a lone surrogate, which SQLite cannot store as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def repaired_name(name: str) -> str:
    """A name stored by an older TokenDesk, made what :func:`clean_name` accepts where that can
    be done without changing which name it is (its :func:`name_key` stays the same): in NFC,
    every kind of space an ordinary one, no runs of spaces, nothing invisible, trimmed.
    May be empty (a name made only of invisible characters); it is not shortened."""
    text = _spaces_and_ignorables(name)
    return " ".join(unicodedata.normalize("NFC", text).split())


def settled_names(rows: list[tuple[int, str]], what: str) -> dict[int, str]:
    """New names for the rows (id, name) of names an older TokenDesk stored, so that no two
    are the same name (by :func:`name_key`) and each is repaired where it can be: only the rows
    whose name changes are in the answer.

    Of the names that are one name, the oldest that needs no repair (else the oldest) keeps
    it, repaired if need be; each of the others gets its repaired name and the first free
    ``" (2)"``, ``" (3)"``… after it. A name with nothing visible left becomes
    ``"<what> <id>"``. Nothing is removed: every row stays, with its tokens, under a name that
    is now its own.
    """
    taken = {name_key(name) for _, name in rows}
    groups: dict[str, list[tuple[int, str]]] = {}
    for row in sorted(rows):
        groups.setdefault(name_key(row[1]), []).append(row)

    def free(base: str, number: int | None) -> str:
        """*base*, or *base* with the first free number from *number* on, taken from now."""
        candidate = base if number is None else f"{base} ({number})"
        while name_key(candidate) in taken:
            number = 2 if number is None else number + 1
            candidate = f"{base} ({number})"
        taken.add(name_key(candidate))
        return candidate

    changes: dict[int, str] = {}
    for members in groups.values():
        keeper = next((row for row in members if repaired_name(row[1]) == row[1]), members[0])
        for row_id, name in members:
            repaired = repaired_name(name)
            if not repaired:
                changes[row_id] = free(f"{what} {row_id}", None)
            elif (row_id, name) != keeper:
                changes[row_id] = free(repaired, 2)
            elif repaired != name:
                changes[row_id] = repaired  # the same key: still this group's own
    return changes
