"""Every window title in one style: title case, as the KDE Human Interface Guidelines ask of
window and dialog titles ("Refresh Secret", "Try a Request"), while the text inside stays in
sentence case. The titles are collected from the source, so a new dialog cannot slip by."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.gui.notices import sentence_case
from tests.gui.conftest import ROOT

# Words title case leaves in lower case inside a title: articles, conjunctions and short
# prepositions (Chicago Manual of Style, which the KDE guidelines follow).
MINOR = frozenset(
    {"a", "an", "the", "and", "but", "or", "nor", "for", "so", "yet", "as", "at", "by", "in"}
    | {"of", "on", "to", "up", "via", "per", "vs"}
)
# The calls whose argument (by position) is a window title.
TITLE_ARGUMENT = {
    "setWindowTitle": 0,
    "confirm": 1,
    "confirm_refresh": 1,
    "ask_save": 1,
    "inform": 1,
    "error": 1,
    "ask_text": 1,
    "show_secret": 2,
    "_show_secret": 1,
    "attempt": 0,
    "_attempt": 0,
    "set_title_note": -1,  # not a title of its own: a note after one
}
SOURCES = [*sorted((ROOT / "desktop" / "gui").rglob("*.py")), ROOT / "desktop" / "app.py"]


def title_case_problems(title: str) -> list[str]:
    """The words of *title* (an f-string's fields written ``{}``) that break title case."""
    problems = []
    words = title.split()
    start = True  # the first word, and the first after a colon or a dash
    for n, word in enumerate(words):
        bare = word.strip("\"'“”()[]…,.:;!?")
        last = n == len(words) - 1
        if bare and bare[0].isalpha():
            if start or last:
                ok = bare[0].isupper()
            elif bare.lower() in MINOR:
                ok = bare == bare.lower()
            else:
                ok = bare[0].isupper()
            if not ok:
                problems.append(word)
        start = word.endswith(":") or word in ("—", "-")
    return problems


def _texts(node: ast.expr) -> Iterator[str]:
    """The literal texts an argument can take: strings, f-strings (fields as ``{}``), and both
    sides of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(
            str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    elif isinstance(node, ast.IfExp):
        yield from _texts(node.body)
        yield from _texts(node.orelse)
    elif (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) == "token_title"
        and node.args
    ):  # a title about one token: "Edit Label — Token #3"
        yield from (f"{text} — Token {{}}" for text in _texts(node.args[0]))


def window_titles() -> list[tuple[str, str]]:
    """(where, title) for every literal window title in the window's source."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                position = TITLE_ARGUMENT.get(name, -1)
                if 0 <= position < len(node.args):
                    found += [(f"{where}:{node.lineno}", t) for t in _texts(node.args[position])]
            elif isinstance(node, ast.Assign):
                targets = [getattr(t, "id", "") for t in node.targets]
                if any(re.fullmatch(r"(title|TITLE|\w+_TITLE)", t) for t in targets):
                    found += [(f"{where}:{node.lineno}", t) for t in _texts(node.value)]
    return found


def test_the_rule() -> None:
    for good in (
        "Refresh Secret",
        "Try a Request",
        "Agents & Roles",
        "Rotation Schedule — Token #{}",
        "New Secret {} of {}",
        "TokenDesk: Unexpected Error",
        "Turn Off API Access",
        "What Is It For?",
    ):
        assert title_case_problems(good) == [], good
    assert title_case_problems("Refresh secret") == ["secret"]
    assert title_case_problems("Try A Request") == ["A"]
    assert title_case_problems("TokenDesk: unexpected error") == ["unexpected", "error"]
    assert title_case_problems("Where to") == ["to"]  # the last word is capitalized


def test_every_window_title_is_in_title_case() -> None:
    titles = window_titles()
    # The collection finds the titles it must: a dialog's, a question's, a failure's.
    texts = {title for _, title in titles}
    assert {"Create Token", "Refresh Secret", "Unsaved Changes", "About TokenDesk"} <= texts
    assert {"Turn Off API Access", "Edit Label — Token {}", "New Secret {} of {}"} <= texts
    wrong = [f"{where}: {title!r}" for where, title in titles if title_case_problems(title)]
    assert wrong == []


@pytest.mark.parametrize(
    ("title", "sentence"),
    [
        ("Refresh Secret", "Refresh secret"),
        ("API Access", "API access"),
        ("Delete", "Delete"),
        ("About TokenDesk", "About TokenDesk"),
    ],
)
def test_a_failure_names_the_title_in_a_sentence(title: str, sentence: str) -> None:
    """The message under a title reads as a sentence: "Refresh secret failed."."""
    assert sentence_case(title) == sentence


def test_sources_are_found() -> None:
    assert all(isinstance(path, Path) and path.exists() for path in SOURCES)
    assert len(SOURCES) > 20
