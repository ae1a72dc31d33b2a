"""The window's first screen is painted before Peewee is imported, and Peewee is loaded right
after it: a process of its own, as a user starts one, so nothing imported by the tests counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.benchmarks.seed import seed
from tests.gui.conftest import ROOT

# Opens the window on every environment, and reports whether Peewee is imported when the
# table's viewport is first painted with rows, then once the window's after-paint step ran.
CHILD = """
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer

from desktop.app import build_main_window
from desktop.gui.launch import application

app = application()
window = build_main_window(Path(sys.argv[1]), environment="")
seen = {}


class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and window.model.rowCount() and not seen:
            seen["rows"] = window.model.rowCount()
            seen["at paint"] = "peewee" in sys.modules
        return False


def after_paint():
    seen["after paint"] = "peewee" in sys.modules
    app.quit()


painted = FirstPaint(window)
window.table.viewport().installEventFilter(painted)
# Connected after the window's own after-paint step, so it runs once that one has.
window.sync.firstPainted.connect(after_paint)
QTimer.singleShot(60_000, app.quit)
window.show()
app.exec()
window.shutdown()
window.context.close()
print(seen["rows"], seen["at paint"], seen.get("after paint"))
"""


def test_the_first_screen_paints_before_peewee_loads_and_it_loads_right_after(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    seed(data_dir, 200)  # the current schema, nothing to recover
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    rows, at_paint, after_paint = done.stdout.split()
    assert int(rows) > 0
    assert at_paint == "False", "Peewee was imported before the first paint"
    assert after_paint == "True", "Peewee was not loaded after the first paint"
