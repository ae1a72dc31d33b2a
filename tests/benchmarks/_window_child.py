"""One window in a process of its own, for the start-up and peak-memory figures of ``run.py``.

    python tests/benchmarks/_window_child.py tokendesk DATA_DIR [--environment NAME]
        [--database URL] [--settle-ms MS]
    python tests/benchmarks/_window_child.py baseline [--settle-ms MS]

``tokendesk`` opens the real main window on DATA_DIR (``build_main_window``: database, keyring,
recovery, scheduler), on the environment it chooses itself or on ``--environment`` (an empty
name: All environments), on DATA_DIR's registry or the PostgreSQL one at ``--database``;
``baseline`` an empty QMainWindow whose central widget is an empty QTableView, and nothing else
is imported for it. Both run offscreen and print, on stdout:

``painted ROWS ENVIRONMENT``
    right after the first paint of the table's viewport has been processed (for TokenDesk, the
    first one with rows in the table); the parent times from spawning the process to this line.
``maxrss KIB ROWS``
    after the event loop has run for the settle time (a QTimer) and, for TokenDesk, after showing
    every environment when the window offers "All environments", then typing one character into
    the filter and clearing it: the process's peak resident set size (``VmHWM``).

Then the window closes and the process exits with status 0. Module-level imports are kept to the
standard library so that both kinds of child pay the same to start.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    from desktop.app import Context
    from desktop.gui.main_window import MainWindow

ALL_ENVIRONMENTS = "All environments"
SETTLE_MS = 1_500


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _watch_first_paint(
    viewport: QWidget, ready: Callable[[], bool], then: Callable[[], None]
) -> QObject:
    """Call *then* once the first Paint event of *viewport* for which *ready()* holds has been
    processed (an event filter sees the event before the widget paints, so *then* is queued)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__(viewport)
            self.fired = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if not self.fired and event.type() == QEvent.Type.Paint and ready():
                self.fired = True
                QTimer.singleShot(0, then)
            return False

    watcher = FirstPaint()
    viewport.installEventFilter(watcher)
    return watcher


def _max_rss_kib() -> int:
    """This process's peak resident set size in KiB: ``VmHWM``. Not ``ru_maxrss``, which Linux
    carries over from the parent's peak through fork and exec (a big parent inflates it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _show_all_environments(window: MainWindow) -> None:
    """Show every token, when the window offers it, and wait until the table holds them all
    (also while the model reads them in the background: then it has a true ``loading``)."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    selector = window.environment_selector
    index = selector.findText(ALL_ENVIRONMENTS)
    if index < 0:
        return
    selector.setCurrentIndex(index)
    rows = sum(env.token_count for env in window.service.environments())
    model = window.model
    while model.rowCount() != rows or getattr(model, "loading", False):  # the parent times out
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 100)


def _tokendesk(data_dir: str, settle_ms: int, environment: str | None, database: str | None) -> int:
    from pathlib import Path

    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest

    from desktop.app import build_main_window, main_window_for, open_context
    from desktop.gui.launch import application
    from desktop.services import actors

    app = application()
    if database is None:
        window = build_main_window(Path(data_dir), environment=environment)
    else:  # as build_main_window opens one, on the server's registry
        context = open_context(
            Path(data_dir), actor=actors.window(), need_keyring=False, database=database
        )
        window = main_window_for(context, environment=environment)
    model = window.model

    def measured() -> None:
        _show_all_environments(window)
        app.processEvents()
        QTest.keyClicks(window.filter_edit, "a")
        app.processEvents()
        window.filter_edit.clear()
        app.processEvents()
        window.table.viewport().repaint()
        _say(f"maxrss {_max_rss_kib()} {model.rowCount()}")
        window.close()
        app.quit()

    def painted() -> None:
        _say(f"painted {model.rowCount()} {window.environment_selector.currentText()}")
        QTimer.singleShot(settle_ms, measured)

    watcher = _watch_first_paint(window.table.viewport(), lambda: model.rowCount() > 0, painted)
    window.show()
    code = app.exec()
    watcher.deleteLater()
    window.shutdown()
    # build_main_window opened the window on a Context of its own, which is ours to close.
    cast("Context", window.context).close()
    return code


def _baseline(settle_ms: int) -> int:
    import PySide6.QtWidgets
    from PySide6.QtCore import QTimer

    app = PySide6.QtWidgets.QApplication(sys.argv[:1])
    window = PySide6.QtWidgets.QMainWindow()
    view = PySide6.QtWidgets.QTableView(window)
    window.setCentralWidget(view)

    def measured() -> None:
        _say(f"maxrss {_max_rss_kib()} 0")
        window.close()
        app.quit()

    def painted() -> None:
        _say("painted 0 -")
        QTimer.singleShot(settle_ms, measured)

    _watch_first_paint(view.viewport(), lambda: True, painted)
    window.show()
    return app.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("kind", choices=("tokendesk", "baseline"))
    parser.add_argument("data_dir", nargs="?")
    parser.add_argument("--settle-ms", type=int, default=SETTLE_MS)
    parser.add_argument("--environment", help="the environment to open on ('' for all)")
    parser.add_argument("--database", help="a PostgreSQL registry's URL")
    args = parser.parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if args.kind == "tokendesk":
        if not args.data_dir:
            parser.error("tokendesk needs DATA_DIR")
        return _tokendesk(args.data_dir, args.settle_ms, args.environment, args.database)
    return _baseline(args.settle_ms)


if __name__ == "__main__":
    sys.exit(main())
