"""A secret pasted into the wrong argument is never repeated in full: every message on standard
error (the rules' refusals, "not found", argparse's usage errors, warnings) shows it as the
window shows a token. Cron mail and CI logs keep what a command prints on standard error."""

from __future__ import annotations

import re

import pytest

from desktop.cli import common
from desktop.domain import tokens
from tests.unit.cli.conftest import Cli, Seed

LOOKS_LIKE_TOKEN = re.compile(r"tdk_[^\s'\"]*")
WINDOW_FORM = re.compile("tdk_•{8}[0-9A-Za-z]{1,4}")

# Every argument and option a person types, each given the secret in turn ("ID" is the seeded
# token's id, where one is needed beside the misplaced secret).
MISPLACED = [
    ["token", "show", "SECRET"],
    ["token", "show", "SECRET", "--reveal"],
    ["token", "activate", "SECRET"],
    ["token", "deactivate", "SECRET"],
    ["token", "refresh", "SECRET"],
    ["token", "refresh", "ID", "--grace", "SECRET"],
    ["token", "rotate", "SECRET", "--off"],
    ["token", "rotate", "ID", "--every", "SECRET"],
    ["token", "rotate", "ID", "--every", "daily", "--grace", "SECRET"],
    ["token", "label", "SECRET", "x"],
    ["token", "delete", "SECRET", "--yes"],
    ["token", "delete", "ID", "SECRET"],
    ["token", "list", "--env", "SECRET"],
    ["token", "create", "--env", "SECRET", "--agent", "Bot"],
    ["token", "create", "--env", "Production", "--agent", "SECRET"],
    ["token", "create", "--env", "Production", "--agent", "Bot", "--rotate", "SECRET"],
    ["token", "create", "--env", "Production", "--agent", "Bot", "--grace", "SECRET"],
    ["env", "enable", "SECRET"],
    ["env", "disable", "SECRET"],
    ["role", "add", "Writer", "--allow", "SECRET"],
    ["agent", "add", "Carol", "--role", "SECRET"],
    ["agent", "update", "SECRET", "--logged-in"],
    ["agent", "update", "Bot", "--role", "SECRET"],
    ["verify", "--env", "Production", "SECRET", "/Loans"],
    ["audit", "--token", "SECRET"],
    ["audit", "--limit", "SECRET"],
    ["SECRET"],
    ["token", "SECRET"],
    ["rotate-due", "SECRET"],
    ["env", "list", "--SECRET"],
    ["--data-dir"],  # the secret as the data dir: see the test
]


@pytest.mark.parametrize("argv", MISPLACED, ids=[" ".join(argv) for argv in MISPLACED])
def test_a_misplaced_secret_is_masked_in_every_message(
    cli: Cli, seeded: Seed, argv: list[str]
) -> None:
    secret = tokens.generate()
    body = secret[len(tokens.PREFIX) :]
    argv = [str(seeded.token_id) if arg == "ID" else arg.replace("SECRET", secret) for arg in argv]
    result = cli(*argv) if argv != ["--data-dir"] else cli("--data-dir", secret, "token", "x")
    assert result.code != 0
    shown = result.out + result.err
    assert body[:12] not in shown and body[-12:-4] not in shown
    # Repeated only as the window shows a token: the prefix, dots, at most four characters.
    assert all(WINDOW_FORM.fullmatch(found) for found in LOOKS_LIKE_TOKEN.findall(shown))
    if "(see 'tokendesk" in result.err:  # argparse's refusals are masked before shortening
        assert LOOKS_LIKE_TOKEN.findall(shown) in ([], [tokens.mask(tokens.hint(secret))])


@pytest.mark.parametrize(
    "argv", [["--env", "SECRET", "GET", "/Loans"], ["--env", "Production", "GET", "/Admin/SECRET"]]
)
def test_verify_does_not_repeat_a_misplaced_secret_in_its_answer(
    cli: Cli, seeded: Seed, argv: list[str]
) -> None:
    secret = tokens.generate()
    for extra in ([], ["--json"]):
        result = cli(
            "verify", *[a.replace("SECRET", secret) for a in argv], *extra, stdin=seeded.secret
        )
        assert result.code == 1 and result.out.startswith(("401 ", "403 ", "{"))
        assert secret[len(tokens.PREFIX) :][:12] not in result.out + result.err


def test_conceal_shows_what_looks_like_a_token_as_the_window_does() -> None:
    secret = tokens.generate()
    masked = tokens.mask(tokens.hint(secret))
    assert common.conceal(f"unknown environment {secret!r}") == f"unknown environment {masked!r}"
    assert common.conceal(f"invalid token id {secret[:40]!r}") == (
        f"invalid token id {tokens.mask(secret[36:40])!r}"
    )
    assert common.conceal("tdk_ nothing after the prefix") == "tdk_ nothing after the prefix"
    assert common.conceal("no tokens here") == "no tokens here"
