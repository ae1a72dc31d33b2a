"""Where the data dir is (``--data-dir``, then ``$TOKENDESK_DATA_DIR``, then the platform's
user data dir) and where the packaged resources are, from a checkout or a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from desktop import paths


@pytest.fixture(autouse=True)
def _no_data_dir_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(paths.ENV_DATA_DIR, raising=False)


def test_an_explicit_dir_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path / "from-env"))
    assert paths.data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert paths.data_dir(str(tmp_path / "as-text")) == tmp_path / "as-text"


def test_the_environment_wins_over_the_platform_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path / "from-env"))
    assert paths.data_dir() == tmp_path / "from-env"
    assert paths.data_dir("") == tmp_path / "from-env"  # an empty --data-dir is no choice


def test_the_platform_dir_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(paths.ENV_DATA_DIR, "")  # set but empty: not a choice either
    expected = Path(platformdirs.user_data_dir("TokenDesk", appauthor=False))
    assert paths.data_dir() == expected
    assert expected.name == "TokenDesk"


def test_a_home_relative_dir_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.data_dir("~/tokens") == tmp_path / "tokens"
    monkeypatch.setenv(paths.ENV_DATA_DIR, "~/from-env")
    assert paths.data_dir() == tmp_path / "from-env"


def test_resources_sit_beside_the_package_in_a_checkout() -> None:
    resources = paths.resources_dir()
    assert resources == Path(paths.__file__).resolve().parent.parent / "resources"
    assert resources.is_dir()


def test_resources_are_inside_a_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"
