"""What the benchmark modules share: a result row, medians, and the window under test."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from desktop.gui.main_window import MainWindow

ALL_ENVIRONMENTS = "All environments"
WINDOW_SIZE = (1280, 800)


@dataclass
class Figure:
    """One line of the results table. Values are already formatted; ``data`` keeps the numbers."""

    name: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: bool | None  # None: no target, shown for reference
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def app() -> QApplication:
    from desktop.gui.launch import application

    return application()


@dataclass
class Shown:
    """The window under test and what its table shows."""

    window: MainWindow
    rows: int
    description: str  # which environment, and why
    all_environments: bool


def wait_until_loaded(window: MainWindow, rows: int, timeout: float = 120.0) -> None:
    """Run the event loop until the table holds *rows* rows and, where the model reads them
    in the background (it then has a true ``loading`` attribute), has finished reading."""
    from PySide6.QtCore import QEventLoop

    application = app()
    model = window.model
    deadline = time.monotonic() + timeout
    application.processEvents()
    while model.rowCount() != rows or getattr(model, "loading", False):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the table did not load within {timeout:.0f} s: {model.rowCount():,} of "
                f"{rows:,} rows"
            )
        application.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 100)


@contextmanager
def bench_window(data_dir: Path, database: str | None = None) -> Iterator[Shown]:
    """The main window on *data_dir* (its registry at *database*, a PostgreSQL URL, when
    given) with its scheduler not started, shown offscreen at
    WINDOW_SIZE, showing every token ("All environments"), or the largest environment when the
    window has no such entry. Closed and deleted afterwards."""
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtTest import QTest

    from desktop.app import main_window_for, open_context

    app()
    context = open_context(data_dir, actor="bench", database=database)
    window = main_window_for(context, autostart=False)
    try:
        window.resize(*WINDOW_SIZE)
        window.show()
        if not QTest.qWaitForWindowExposed(window, 10_000):
            raise RuntimeError("the main window was never exposed")
        selector = window.environment_selector
        index = selector.findText(ALL_ENVIRONMENTS)
        everything = index >= 0
        if everything:
            description = f"{ALL_ENVIRONMENTS}"
        else:
            largest = max(context.service.environments(), key=lambda env: env.token_count)
            index = selector.findText(largest.name)
            description = (
                f"largest environment {largest.name!r} (the window has no "
                f"{ALL_ENVIRONMENTS!r} entry)"
            )
        if index < 0:
            raise RuntimeError("the environment to show is not in the selector")
        selector.setCurrentIndex(index)
        environments = context.service.environments()
        expected = (
            sum(env.token_count for env in environments)
            if everything
            else max(env.token_count for env in environments)
        )
        wait_until_loaded(window, expected)
        window.table.viewport().repaint()
        rows = window.model.rowCount()
        yield Shown(window, rows, f"{description}: {rows:,} rows", everything)
    finally:
        window.close()
        window.shutdown()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        context.close()
