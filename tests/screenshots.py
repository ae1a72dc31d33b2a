"""Render the screenshots in resources/screenshots/ from demo data, offscreen.

    .venv/bin/python tests/screenshots.py [--out resources/screenshots]

Uses the running Secret Service when there is one; otherwise starts a private D-Bus session
with an unlocked gnome-keyring for the run (as the test suite does). The demo tokens are
deleted from the keyring again afterwards, and the temporary data dir removed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from desktop.app import Context
    from tests.helpers.keyring_session import KeyringSession

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WINDOW_SIZE = (1180, 440)


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


def _settle(app: object) -> None:
    from PySide6.QtCore import QCoreApplication, QEventLoop

    for _ in range(5):
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    session = _ensure_keyring()
    try:
        return _render(out)
    finally:
        if session is not None:
            session.stop()


def _render(out: Path) -> int:
    from desktop.app import build_main_window, open_context
    from desktop.demo import seed
    from desktop.gui.launch import application

    app = application()
    with tempfile.TemporaryDirectory(prefix="tokendesk-shots-") as folder:
        data_dir = Path(folder) / "data"
        context = open_context(data_dir)
        seed(context.service)
        context.close()

        window = build_main_window(data_dir)
        window.setWindowTitle("TokenDesk — ~/.local/share/TokenDesk")
        window.resize(*WINDOW_SIZE)
        window.show()
        window.select_tokens([window.model.token_at(1).id])
        _settle(app)
        path = out / "main-window.png"
        window.grab().save(str(path))
        print(f"wrote {path}")

        from desktop.gui.create_dialog import CreateTokenDialog

        dialog = CreateTokenDialog(window.service, window, "Production")
        dialog.show()
        hint = dialog.sizeHint()
        dialog.resize(max(hint.width(), 600), hint.height())
        _settle(app)
        path = out / "create-dialog.png"
        dialog.grab().save(str(path))
        print(f"wrote {path}")
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
