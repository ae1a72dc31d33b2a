"""The token format: ``tdk_`` + 43 base62 characters (256 random bits) + a 6-character CRC32.

The checksum lets anyone recognise a leaked TokenDesk token and lets a typo be rejected offline,
without a database lookup. Only :func:`fingerprint` and :func:`hint` of a secret are ever stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

PREFIX = "tdk_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 43  # 43 * log2(62) = 256.03 bits
CHECKSUM_LENGTH = 6  # 62**6 > 2**32
TOKEN_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
HINT_LENGTH = 4
MAX_PRESENTED_LENGTH = 4096  # anything longer is refused before it is hashed


# Every pair of base62 digits, so a 32-bit checksum takes three lookups, not six divisions:
# checking tokens nobody issued is on the hot path of every refused request.
_PAIRS = tuple(a + b for a in ALPHABET for b in ALPHABET)
_PAIR = len(_PAIRS)  # 62 ** 2


def checksum(body: str) -> str:
    """The body's CRC32 as six base62 digits (62**6 > 2**32), most significant first."""
    high, low = divmod(zlib.crc32(body.encode("ascii")), _PAIR)
    high, middle = divmod(high, _PAIR)
    return _PAIRS[high] + _PAIRS[middle] + _PAIRS[low]


def generate() -> str:
    """A new secret from the operating system's CSPRNG."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return PREFIX + body + checksum(body)


def is_well_formed(token: str) -> bool:
    """True when the text has the TokenDesk shape and a correct checksum."""
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIX):
        return False
    rest = token[len(PREFIX) :]
    if not (rest.isascii() and rest.isalnum()):  # exactly the base62 alphabet, quickly
        return False
    body, check = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
    return checksum(body) == check


# Anything shaped like a secret inside a longer text (its checksum not checked).
EMBEDDED = re.compile(re.escape(PREFIX) + f"[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}")


def appears_in(text: str) -> bool:
    """Whether *text* holds a well-formed secret anywhere: one pasted by mistake must never be
    stored as a name, a label or an endpoint (and from there reach the audit log)."""
    return PREFIX in text and any(is_well_formed(m) for m in EMBEDDED.findall(text))


def _written(char: str) -> str:
    """A pattern for *char* as a request may write it: itself, or percent-encoded (any number
    of times over: ``%5F``, ``%255F``), in either case of hex digit."""
    return f"(?:{re.escape(char)}|%(?:25)*{ord(char):02x})"


# The prefix and any run of base62 after it (a whole token, a truncated one, one with a typo),
# in either case (a reason quotes a path's segment lower-cased) and percent-encoded or not (a
# reason quotes a request's path as it came).
_CONCEALED = re.compile(
    "".join(_written(char) for char in PREFIX) + "((?:[0-9a-z]|%(?:25)*[0-9a-f]{2})+)",
    re.IGNORECASE | re.ASCII,
)


def conceal(text: str) -> str:
    """*text* with everything that looks like a token shown as the window shows a token: the
    prefix, dots and its last four characters. A refusal may quote what was typed or sent (an
    argument, an environment, a request's path), and a secret pasted there must not reach a
    terminal, cron mail, a CI log or a gateway's client: ``tokendesk verify`` and ``serve``
    give the same reason through this."""
    if "%" not in text and PREFIX not in text.lower():
        return text
    return _CONCEALED.sub(lambda found: mask(found.group(1)[-HINT_LENGTH:]), text)


def fingerprint(token: str) -> str:
    """SHA-256 of the secret, hex: what the database keeps instead of the secret."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hint(token: str) -> str:
    """The last characters of a secret, enough to tell tokens apart on screen."""
    return token[-HINT_LENGTH:]


def mask(token_hint: str) -> str:
    """How a token is shown when it is not revealed: prefix, dots and the hint."""
    return f"{PREFIX}{'•' * 8}{token_hint}"
