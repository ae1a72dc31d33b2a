from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from desktop.domain import tokens


def test_generated_token_has_the_documented_shape() -> None:
    token = tokens.generate()
    assert token.startswith("tdk_")
    assert len(token) == tokens.TOKEN_LENGTH == 53
    assert tokens.is_well_formed(token)


def test_generated_tokens_differ() -> None:
    assert len({tokens.generate() for _ in range(200)}) == 200


def test_body_carries_at_least_256_bits() -> None:
    assert 62**tokens.BODY_LENGTH >= 2**256


@given(st.integers(min_value=4, max_value=52), st.sampled_from(tokens.ALPHABET))
def test_any_single_character_typo_is_rejected(position: int, replacement: str) -> None:
    token = tokens.generate()
    typo = token[:position] + replacement + token[position + 1 :]
    assert tokens.is_well_formed(typo) == (typo == token)


def test_malformed_inputs_are_rejected() -> None:
    good = tokens.generate()
    for bad in [
        "",
        "tdk_",
        good[:-1],
        good + "x",
        "xyz_" + good[4:],
        good.replace("tdk_", "TDK_"),
        good[:10] + "-" + good[11:],
        good[:10] + "é" + good[11:],
    ]:
        assert not tokens.is_well_formed(bad), bad


def test_fingerprint_is_sha256_hex_and_hint_is_the_last_four() -> None:
    token = tokens.generate()
    assert tokens.fingerprint(token) == hashlib.sha256(token.encode()).hexdigest()
    assert tokens.hint(token) == token[-4:]


def test_mask_shows_prefix_and_hint_only() -> None:
    token = tokens.generate()
    masked = tokens.mask(tokens.hint(token))
    assert masked.startswith("tdk_") and masked.endswith(token[-4:])
    assert token[4:-4] not in masked


def _checksum_by_definition(body: str) -> str:
    """CRC32 of the body in six base62 digits, most significant first, one division at a time."""
    import zlib

    number, digits = zlib.crc32(body.encode("ascii")), []
    for _ in range(tokens.CHECKSUM_LENGTH):
        number, digit = divmod(number, 62)
        digits.append(tokens.ALPHABET[digit])
    return "".join(reversed(digits))


@given(st.text(alphabet=tokens.ALPHABET, min_size=tokens.BODY_LENGTH, max_size=tokens.BODY_LENGTH))
def test_checksum_is_the_documented_encoding(body: str) -> None:
    # Tokens already issued must stay valid: the fast encoding must give the same digits.
    assert tokens.checksum(body) == _checksum_by_definition(body)


def test_a_known_token_stays_valid() -> None:
    body = "0" * tokens.BODY_LENGTH
    assert tokens.checksum(body) == _checksum_by_definition(body)
    assert tokens.is_well_formed(tokens.PREFIX + body + tokens.checksum(body))


def test_conceal_finds_a_secret_however_a_request_wrote_it() -> None:
    """A reason quotes a path as it came (percent-encoded, even twice over) or its segment
    lower-cased: each is shown as the window shows a token, its last four characters."""
    secret = tokens.generate()
    body = secret[len(tokens.PREFIX) :]
    shown = tokens.mask(secret[-4:])
    for written in (
        secret,
        "tdk%5F" + body,
        "tdk%5f" + body,
        "tdk%255F" + body,
        "%74%64%6B%5F" + body,
    ):
        assert (
            tokens.conceal(f"no endpoint in path '/{written}'") == f"no endpoint in path '/{shown}'"
        )
    lowered = tokens.conceal(f"role does not allow GET on /{secret.lower()}")
    assert lowered == f"role does not allow GET on /{tokens.mask(secret[-4:].lower())}"
    assert tokens.conceal("tdk_ab and tdk_") == f"{tokens.mask('ab')} and tdk_"
    assert tokens.conceal("/Loans%20(5)") == "/Loans%20(5)"
