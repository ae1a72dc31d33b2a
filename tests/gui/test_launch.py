"""The QApplication the window runs in: the running one reused and named TokenDesk, and the
window icon found among the packaged resources."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktop import __version__
from desktop.gui import icons, launch


@pytest.fixture
def restored(qapp: QApplication) -> Iterator[QApplication]:
    """The test run's application, given back with the names and icon it had."""
    before = (
        qapp.applicationName(),
        qapp.organizationName(),
        qapp.applicationVersion(),
        qapp.desktopFileName(),
        qapp.windowIcon(),
    )
    yield qapp
    qapp.setApplicationName(before[0])
    qapp.setOrganizationName(before[1])
    qapp.setApplicationVersion(before[2])
    qapp.setDesktopFileName(before[3])
    qapp.setWindowIcon(before[4])


def test_the_running_application_is_reused_and_named(
    restored: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    themes: list[bool] = []
    monkeypatch.setattr(icons, "install_theme_fallback", lambda: themes.append(True))
    app = launch.application()
    assert app is restored
    assert (app.applicationName(), app.organizationName()) == ("TokenDesk", "TokenDesk")
    assert app.applicationVersion() == __version__
    assert app.desktopFileName() == "tokendesk"
    assert themes == [True]
    assert not app.windowIcon().isNull()


def test_the_packaged_icon_is_found(qapp: QApplication) -> None:
    icon = launch.window_icon()
    assert icon is not None and not icon.isNull()


def test_the_icon_is_looked_for_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By name first (the application's own icon before a generic one), each name beside the
    resources and then in their icons folder."""
    monkeypatch.setattr(launch, "resources_dir", lambda: tmp_path)
    monkeypatch.setattr(launch, "QIcon", lambda path: path)  # which file, not its pixels
    assert launch.window_icon() is None

    def chosen() -> object:
        return launch.window_icon()  # the path QIcon was given, as the stand-in returns it

    (tmp_path / "icons").mkdir()
    for path in ("icons/icon.png", "icon.svg", "icons/tokendesk.png", "tokendesk.svg"):
        (tmp_path / path).write_text("")
        assert chosen() == str(tmp_path / path)
    (tmp_path / "icons" / "tokendesk.svg").write_text("")
    assert chosen() == str(tmp_path / "tokendesk.svg")
