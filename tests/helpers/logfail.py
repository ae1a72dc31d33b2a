"""A test fails on a problem it did not expect: a log record at ERROR or above, or a Qt warning.

An error that is only logged (a background rotation that failed, a reader thread that gave up)
or a Qt warning (a layout set twice, a timer started from the wrong thread, a thread destroyed
while running) leaves no trace in a test's outcome, so the suite could stay green while the
window misbehaves. Here such a record fails the test during whose setup, call or teardown it
was emitted.

Qt's messages are forwarded into Python logging, on the logger ``qt`` (``qt.<category>`` for
categorised ones), so one rule, one report and one way of declaring an expectation cover both.
Only QtCore is needed for that, and the handler is installed only once something imported Qt:
a run of the unit tests alone never imports it on this plugin's account.

A test that provokes such a record on purpose says so, either for the whole test::

    @pytest.mark.expect_log("rotation of .* failed", level="ERROR", logger="desktop.services")

or from inside it, once it knows what to expect::

    def test_x(expect_log: logfail.Expect) -> None:
        expect_log("QThread: Destroyed", level="WARNING", logger="qt")

The pattern is searched for in the record's message; the level must match exactly (an expected
warning that turns into a critical message is news); *logger* also matches its children.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from PySide6.QtCore import QMessageLogContext, QtMsgType

QT_LOGGER = "qt"
MARKER = "expect_log"
# What fails a test: Python's records from ERROR up; Qt's from warnings up (Qt says "warning"
# for what is a mistake in the calling code, and critical / fatal for worse).
PYTHON_THRESHOLD = logging.ERROR
QT_THRESHOLD = logging.WARNING


class Expect(Protocol):
    """The ``expect_log`` fixture: declare, from inside a test, a record it provokes."""

    def __call__(
        self, pattern: str, *, level: int | str = logging.ERROR, logger: str | None = None
    ) -> None: ...


def _level(level: int | str) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    return number


def _is_qt(name: str) -> bool:
    return name == QT_LOGGER or name.startswith(f"{QT_LOGGER}.")


@dataclass(frozen=True)
class Expectation:
    pattern: re.Pattern[str]
    level: int
    logger: str | None = None

    @classmethod
    def make(
        cls, pattern: str, level: int | str = logging.ERROR, logger: str | None = None
    ) -> Expectation:
        return cls(re.compile(pattern), _level(level), logger)

    def matches(self, record: logging.LogRecord) -> bool:
        if record.levelno != self.level:
            return False
        if self.logger is not None and not (
            record.name == self.logger or record.name.startswith(f"{self.logger}.")
        ):
            return False
        return self.pattern.search(record.getMessage()) is not None


# Expected in every test: what the offscreen platform the suite runs on says about itself.
# Qt's default QPlatformWindow methods warn "This plugin does not support <call>" when a platform
# plugin lacks a feature (offscreen lacks size hints, among others): never this code's doing.
RUN_WIDE = (
    Expectation.make(r"^This plugin does not support ", level=logging.WARNING, logger=QT_LOGGER),
)


@dataclass
class _Watch:
    """One test's expectations and the records it did not expect."""

    nodeid: str
    expectations: list[Expectation]
    unexpected: list[logging.LogRecord] = field(default_factory=list)


class _FailHandler(logging.Handler):
    """On the root logger for the whole run: hands each record to the test running now."""

    def __init__(self, plugin: LogFail) -> None:
        super().__init__(logging.NOTSET)
        self._plugin = plugin

    def emit(self, record: logging.LogRecord) -> None:
        self._plugin.seen(record)


def _describe(record: logging.LogRecord) -> str:
    text = f"{record.levelname} {record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += f" [{type(error).__name__}: {error}]"
    return text


class LogFail:
    """The pytest plugin (registered by tests/conftest.py)."""

    def __init__(self) -> None:
        self._handler = _FailHandler(self)
        self._watch: _Watch | None = None
        self._lock = threading.Lock()
        self._qt_installed = False
        self._qt_previous: Any = None
        self._qt_levels: dict[Any, int] = {}

    # ---------------------------------------------------------------- records

    def seen(self, record: logging.LogRecord) -> None:
        threshold = QT_THRESHOLD if _is_qt(record.name) else PYTHON_THRESHOLD
        if record.levelno < threshold:
            return
        with self._lock:
            watch = self._watch
            if watch is None:
                return  # between tests: collection, session set-up and tear-down
            if not any(e.matches(record) for e in watch.expectations):
                watch.unexpected.append(record)

    def expect(
        self, pattern: str, *, level: int | str = logging.ERROR, logger: str | None = None
    ) -> None:
        with self._lock:
            if self._watch is None:
                raise RuntimeError("expect_log is for use while a test runs")
            self._watch.expectations.append(Expectation.make(pattern, level, logger))

    def _qt_message(self, mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        """Qt's message handler: the message becomes a log record on ``qt[.category]``."""
        level = self._qt_levels.get(mode, logging.WARNING)
        category = context.category or "default"
        name = QT_LOGGER if category == "default" else f"{QT_LOGGER}.{category}"
        where = f" ({context.file}:{context.line})" if context.file else ""
        if self._watch is None:
            if level >= QT_THRESHOLD:  # as Qt's own handler would: say it on stderr
                print(f"{logging.getLevelName(level)} {name}: {message}{where}", file=sys.stderr)
            return
        logging.getLogger(name).log(level, "%s%s", message, where)

    def _install_qt_handler(self) -> None:
        """Once Qt is loaded (pytest-qt loads it for the window's tests), never before."""
        if self._qt_installed or "PySide6.QtCore" not in sys.modules:
            return
        from PySide6.QtCore import QtMsgType, qInstallMessageHandler

        self._qt_levels = {
            QtMsgType.QtDebugMsg: logging.DEBUG,
            QtMsgType.QtInfoMsg: logging.INFO,
            QtMsgType.QtWarningMsg: logging.WARNING,
            QtMsgType.QtCriticalMsg: logging.ERROR,
            QtMsgType.QtFatalMsg: logging.CRITICAL,
        }
        self._qt_previous = qInstallMessageHandler(self._qt_message)
        self._qt_installed = True

    # ---------------------------------------------------------------- pytest hooks

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        logging.getLogger().addHandler(self._handler)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        logging.getLogger().removeHandler(self._handler)
        if self._qt_installed:
            from PySide6.QtCore import qInstallMessageHandler

            qInstallMessageHandler(self._qt_previous)
            self._qt_installed = False

    def _check(self, phase: str) -> None:
        with self._lock:
            watch = self._watch
            unexpected = list(watch.unexpected) if watch else []
            if watch is not None:
                watch.unexpected.clear()
        if unexpected:
            lines = "\n".join(f"  {_describe(record)}" for record in unexpected)
            pytest.fail(
                f"unexpected log records during {phase} (expect them with "
                f"@pytest.mark.{MARKER}(pattern, level=..., logger=...) if the test means "
                f"to provoke them):\n{lines}",
                pytrace=False,
            )

    def _forget(self) -> None:
        """A phase that failed on its own already shows its records in its captured log."""
        with self._lock:
            if self._watch is not None:
                self._watch.unexpected.clear()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._install_qt_handler()
        expectations = [
            Expectation.make(*marker.args, **marker.kwargs) for marker in item.iter_markers(MARKER)
        ]
        with self._lock:
            self._watch = _Watch(item.nodeid, [*RUN_WIDE, *expectations])
        try:
            yield
        except BaseException:
            self._forget()
            raise
        self._install_qt_handler()  # a fixture may have been the first to import Qt
        self._check("setup")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            yield
        except BaseException:
            self._forget()
            raise
        self._check("call")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, None, None]:
        try:
            try:
                yield
            except BaseException:
                self._forget()
                raise
            self._check("teardown")
        finally:
            with self._lock:
                self._watch = None
