"""TableReader: the whole table read in a thread of its own, handed over by request number."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.gui.table_reader import Request, TableReader
from desktop.gui.token_model import TokenTableModel
from desktop.services.tokens import TokenService
from tests.gui.conftest import make_tokens
from tests.helpers.directories import seed_three_agents as seed


@pytest.fixture
def service(memory_context: Context) -> TokenService:
    return seed(memory_context.service)


@pytest.fixture
def reader(service: TokenService, qapp: QApplication) -> Iterator[TableReader]:
    made = TableReader(service)
    yield made
    made.wait()


def adopted(reader: TableReader) -> list[int]:
    """The token ids of the last read, as a model shows them once it takes the rows over."""
    result = reader.result()
    assert result is not None
    model = TokenTableModel()
    model.adopt(result.prepared)
    return model.token_ids()


def test_a_read_reports_its_number_and_the_rows_of_its_environment(
    reader: TableReader, service: TokenService, qtbot: QtBot
) -> None:
    production = make_tokens(service, 3)
    make_tokens(service, 2, "Staging")
    request = Request(7, "Production", show_environment=False)
    with qtbot.waitSignal(reader.done) as done:
        reader.read(request)
    assert done.args == [7]
    result = reader.result()
    assert result is not None and result.request == request
    assert result.cursor == service.change_cursor()  # the rows are current at this cursor
    assert adopted(reader) == production


def test_every_environment_is_read_when_none_is_named(
    reader: TableReader, service: TokenService, qtbot: QtBot
) -> None:
    ids = make_tokens(service, 2) + make_tokens(service, 2, "Staging")
    with qtbot.waitSignal(reader.done):
        reader.read(Request(1, None, show_environment=True))
    assert sorted(adopted(reader)) == sorted(ids)


def test_the_next_read_starts_once_the_one_before_has_ended(
    reader: TableReader, service: TokenService, qtbot: QtBot
) -> None:
    make_tokens(service, 2)
    staging = make_tokens(service, 1, "Staging")
    numbers: list[int] = []
    reader.done.connect(numbers.append)
    reader.read(Request(1, "Production", show_environment=False))
    with qtbot.waitSignal(reader.done, check_params_cb=lambda number: number == 2):
        reader.read(Request(2, "Staging", show_environment=False))
    qtbot.waitUntil(lambda: numbers == [1, 2])
    assert adopted(reader) == staging  # only the last result is kept


@pytest.mark.expect_log("reading the tokens failed", level="ERROR", logger="desktop.gui")
def test_a_failed_read_reports_its_number_without_a_result(
    reader: TableReader,
    service: TokenService,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(environment: str | None = None) -> object:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(service, "token_table", broken)
    with (
        caplog.at_level(logging.ERROR, logger="desktop.gui.table_reader"),
        qtbot.waitSignal(reader.done) as done,
    ):
        reader.read(Request(3, "Production", show_environment=False))
    assert done.args == [3]
    assert reader.result() is None  # the window then reads in its own thread
    assert "reading the tokens failed" in caplog.text
