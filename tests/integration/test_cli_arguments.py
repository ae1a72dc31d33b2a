"""Arguments that are not UTF-8 (a Latin-1 terminal, a mangled script) are refused with one
line and status 2, like any other bad input, and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.cli import main
from desktop.secrets.store import KeyringSecretStore
from tests.helpers.cli import seed, snapshot

NOT_UTF8 = b"Z\xfcrich".decode("utf-8", "surrogateescape")  # how Python passes such bytes on


@pytest.mark.parametrize(
    "args",
    [
        ["env", "add", NOT_UTF8],
        ["agent", "add", NOT_UTF8, "--role", "Reader"],
        ["role", "add", "R2", "--allow", f"GET /{NOT_UTF8}"],
        ["token", "label", "1", NOT_UTF8],
        ["token", "list", "--env", NOT_UTF8],
        ["verify", "--env", NOT_UTF8, "GET", "/Loans"],
        ["verify", "--env", "Production", "GET", f"/Loans/{NOT_UTF8}"],
    ],
)
def test_arguments_that_are_not_utf8_are_refused(
    data_dir: Path,
    keyring_store: KeyringSecretStore,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    seed(data_dir, keyring_store)
    before = snapshot(data_dir)
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), *args])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("tokendesk: error: ")
    assert "UTF-8" in err
    assert snapshot(data_dir) == before
