"""The suite's own rule, checked on a run of its own: an unexpected logged error or Qt warning
fails the test that caused it, in whichever phase; a declared one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CONFTEST = """
from tests.helpers import logfail

def pytest_configure(config):
    config.pluginmanager.register(logfail.LogFail(), "tokendesk-logfail")
"""

PROBES = """
import logging
import threading

import pytest

log = logging.getLogger("desktop.probe")


def test_an_error_fails():
    log.error("boom")


def test_a_warning_passes():
    log.warning("only a warning")


@pytest.mark.expect_log("bo+m", level="ERROR", logger="desktop")
def test_a_declared_error_passes():
    log.error("booom")


@pytest.mark.expect_log("boom", level="ERROR", logger="desktop.elsewhere")
def test_an_error_on_another_logger_than_declared_fails():
    log.error("boom")


@pytest.mark.expect_log("boom", level="WARNING")
def test_an_error_declared_at_another_level_fails():
    log.error("boom")


def test_an_error_expected_from_inside_passes(request):
    request.config.pluginmanager.get_plugin("tokendesk-logfail").expect(
        "kaput", level=logging.CRITICAL
    )
    log.critical("kaput")


def test_an_error_from_another_thread_fails():
    thread = threading.Thread(target=lambda: log.error("from a thread"))
    thread.start()
    thread.join()


@pytest.fixture
def noisy_teardown():
    yield
    log.error("in teardown")


def test_an_error_in_teardown_errors(noisy_teardown):
    pass


def test_a_qt_warning_fails():
    from PySide6.QtCore import qWarning

    qWarning("a Qt warning")


@pytest.mark.expect_log("a Qt warning", level="WARNING", logger="qt")
def test_a_declared_qt_warning_passes():
    from PySide6.QtCore import qWarning

    qWarning("a Qt warning")


def test_a_failing_test_is_reported_once():
    log.error("logged before the failure")
    raise AssertionError("the test's own failure")
"""


def test_unexpected_records_fail_their_test_and_declared_ones_do_not(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--no-qt-log", "-rA")
    result.assert_outcomes(passed=5, failed=6, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_probes.py::test_a_warning_passes",
            "PASSED test_probes.py::test_a_declared_error_passes",
            "PASSED test_probes.py::test_an_error_expected_from_inside_passes",
            "PASSED test_probes.py::test_a_declared_qt_warning_passes",
            "FAILED test_probes.py::test_an_error_fails - Failed: unexpected log records *",
            "FAILED test_probes.py::test_an_error_on_another_logger_than_declared_fails - *",
            "FAILED test_probes.py::test_an_error_declared_at_another_level_fails - *",
            "FAILED test_probes.py::test_an_error_from_another_thread_fails - *",
            "FAILED test_probes.py::test_a_qt_warning_fails - *",
            "FAILED test_probes.py::test_a_failing_test_is_reported_once - AssertionError*",
            "ERROR test_probes.py::test_an_error_in_teardown_errors - Failed: unexpected *",
            "  WARNING qt: a Qt warning",
            "  ERROR desktop.probe: from a thread",
        ]
    )
