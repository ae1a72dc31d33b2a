"""Render the screenshots in resources/screenshots/ from the real window on demo data.

    .venv/bin/python tests/screenshots.py [--out resources/screenshots] [--scale 2]

Each picture is taken as a person would see it: the app runs on an X screen of its own (Xvfb)
under a window manager (openbox), in the desktop's light and then its dark colour scheme (GNOME's
Adwaita and Adwaita-dark, which Qt reads through its GTK platform theme), and ImageMagick's
``import`` captures each window with its frame. Needs Debian's xvfb, openbox and imagemagick
(and libgtk-3-0, which GNOME desktops have).

Uses the running Secret Service when there is one; otherwise starts a private D-Bus session
with an unlocked gnome-keyring for the run (as the test suite does). The demo tokens are
deleted from the keyring again afterwards, and the temporary data dirs removed.

``--scale 2`` renders at twice the pixels (``QT_SCALE_FACTOR``), to look at the window as a
high-DPI screen shows it; those pictures are named ``*@2x.png``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from desktop.app import Context
    from tests.helpers.keyring_session import KeyringSession

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WINDOW_SIZE = (1440, 640)
SCREEN = (1600, 1000)  # logical pixels; times the scale
# The desktop's colour scheme, as a GNOME session hands it to Qt's GTK platform theme.
SCHEMES = {"light": "Adwaita", "dark": "Adwaita:dark"}
TOOLS = ("Xvfb", "openbox", "import")


def _ensure_keyring() -> KeyringSession | None:
    """A private keyring session when the current one has no usable Secret Service."""
    from desktop.domain.errors import SecretStoreUnavailable
    from desktop.secrets.store import open_secret_store

    try:
        open_secret_store()
        return None
    except SecretStoreUnavailable:
        pass
    from tests.helpers import keyring_session

    if not keyring_session.tools_available():
        raise SystemExit("no keyring: install dbus and gnome-keyring, or unlock your keyring")
    return keyring_session.start()


def _free_display() -> str:
    for number in range(90, 200):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return f":{number}"
    raise SystemExit("no free X display number")


def _start_screen(stack: ExitStack, scale: float) -> str:
    """Xvfb with openbox on it; both stopped when *stack* closes."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)}: sudo apt-get install xvfb openbox imagemagick"
        )
    display = _free_display()
    screen = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", _geometry(scale), "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(_stop, screen)
    socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
    deadline = time.monotonic() + 10
    while not socket.exists():
        if time.monotonic() > deadline or screen.poll() is not None:
            raise SystemExit("Xvfb did not start")
        time.sleep(0.05)
    manager = subprocess.Popen(
        ["openbox"],
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(_stop, manager)
    time.sleep(0.5)  # openbox takes the screen before the first window maps
    return display


def _geometry(scale: float) -> str:
    width, height = SCREEN
    return f"{round(width * scale)}x{round(height * scale)}x24"


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio")
    parser.add_argument("--render", choices=sorted(SCHEMES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.render:
        return _render(out, args.render, args.scale)

    with ExitStack() as stack:
        session = _ensure_keyring()
        if session is not None:
            stack.callback(session.stop)
        display = _start_screen(stack, args.scale)
        for scheme, gtk_theme in SCHEMES.items():
            env = {
                **os.environ,
                "DISPLAY": display,
                "QT_QPA_PLATFORM": "xcb",
                "XDG_CURRENT_DESKTOP": "GNOME",
                "GTK_THEME": gtk_theme,
                "QT_SCALE_FACTOR": str(args.scale),
            }
            command = [sys.executable, __file__, "--render", scheme, "--out", str(out)]
            command += ["--scale", str(args.scale)]
            subprocess.run(command, env=env, check=True)
    return 0


def _settle() -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def _capture(widget: QWidget, path: Path) -> None:
    """The window as the screen shows it, frame and all (the window manager's decoration)."""
    _settle()
    subprocess.run(
        ["import", "-frame", "-window", str(int(widget.winId())), str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"wrote {path}")


def _render(out: Path, scheme: str, scale: float) -> int:
    from desktop.app import build_main_window, open_context
    from desktop.demo import seed
    from desktop.gui import theme
    from desktop.gui.launch import application

    application()
    dark = theme.is_dark()
    if dark != (scheme == "dark"):
        raise SystemExit(f"asked for a {scheme} desktop, but Qt's palette is not {scheme}")
    suffix = ("-dark" if dark else "") + ("@2x" if scale != 1 else "")
    with tempfile.TemporaryDirectory(prefix="tokendesk-shots-") as folder:
        data_dir = Path(folder) / "data"
        context = open_context(data_dir)
        seed(context.service, context.database)
        context.close()

        window = build_main_window(data_dir)
        # The registry as a person's own would read, not this run's temporary folder.
        window.notices.show_registry(str(Path.home() / ".local/share/TokenDesk/tokendesk.sqlite3"))
        window.resize(*WINDOW_SIZE)
        window.show()
        # The token with the most to show: a rotation, a grace, uses and its events.
        rows = (window.model.token_at(row) for row in range(window.model.rowCount()))
        window.select_tokens([next(t.id for t in rows if t.label == "Servicing dashboard")])
        _capture(window, out / f"main-window{suffix}.png")

        from desktop.gui.create_dialog import CreateTokenDialog

        dialog = CreateTokenDialog(window.service, window, "Production")
        dialog.show()
        hint = dialog.sizeHint()
        dialog.resize(max(hint.width(), 600), hint.height())
        _capture(dialog, out / f"create-dialog{suffix}.png")
        dialog.close()

        window.close()
        service = window.service
        for token in service.tokens():
            service.delete(token.id)
        # build_main_window opened the window on a Context of its own, which is ours to close.
        cast("Context", window.context).close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
