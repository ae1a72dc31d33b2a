"""Checks on text that people type: names and labels."""

from __future__ import annotations

import re
import unicodedata

from desktop.domain import tokens
from desktop.domain.errors import InvalidInput

MAX_LABEL = 200
MAX_NAME = 100


_TOKEN_LIKE = re.compile(
    re.escape(tokens.PREFIX) + f"[0-9A-Za-z]{{{tokens.BODY_LENGTH + tokens.CHECKSUM_LENGTH}}}"
)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in text)


def _holds_a_token(text: str) -> bool:
    """A pasted secret must not end up in SQLite and the audit log as a label or name."""
    return any(tokens.is_well_formed(match) for match in _TOKEN_LIKE.findall(text))


def clean_label(text: str | None) -> str:
    """Trim; at most 200 characters; no control characters. An empty label is allowed."""
    if text is None:
        return ""
    label = text.strip()
    if len(label) > MAX_LABEL:
        raise InvalidInput(f"label is too long: {len(label)} characters, at most {MAX_LABEL}")
    if _has_control(label):
        raise InvalidInput("label must not contain control characters")
    if _holds_a_token(label):
        raise InvalidInput("label must not contain a token secret")
    return label


def clean_name(text: str, what: str) -> str:
    """A non-empty trimmed name of at most 100 printable characters."""
    name = text.strip()
    if not name:
        raise InvalidInput(f"{what} name must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"{what} name is too long: at most {MAX_NAME} characters")
    if _has_control(name):
        raise InvalidInput(f"{what} name must not contain control characters")
    if _holds_a_token(name):
        raise InvalidInput(f"{what} name must not contain a token secret")
    return name
