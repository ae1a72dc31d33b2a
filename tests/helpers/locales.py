"""Running a test in another locale: QLocale's default, which the window's times follow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QLocale

from desktop.services import display


@contextmanager
def in_locale(name: str) -> Iterator[QLocale]:
    """QLocale's default is *name* (``de_DE``) inside, the C locale again after."""
    locale = QLocale(name)
    QLocale.setDefault(locale)
    display.reset_local_times()
    try:
        yield locale
    finally:
        QLocale.setDefault(QLocale.c())
        display.reset_local_times()
