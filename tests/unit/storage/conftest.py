"""The storage tests run on both engines: SQLite and the private PostgreSQL server."""

from __future__ import annotations

import pytest

from tests.helpers.postgres import parametrize_engines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_engines(metafunc)
