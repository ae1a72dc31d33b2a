"""A module imported on first use, so importing a service does not import Peewee.

Services reach :mod:`~desktop.storage.repository` (Peewee models) this way::

    if TYPE_CHECKING:
        from desktop.storage import repository
    else:
        repository = deferred("desktop.storage.repository")

so the type checker sees the module itself, and the import happens at the first call that
needs it, which for the window is after its first paint. Not
:class:`importlib.util.LazyLoader`: on Python 3.11 its first attribute access is not safe
from two threads at once, and services run on worker threads.
"""

from __future__ import annotations

import importlib
from typing import Any


class Deferred:
    """Stands for the module *name*: each attribute is read from the module, imported (once,
    under the import system's own lock) by the first read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # import_module, not sys.modules: it waits while another thread is importing it.
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def deferred(name: str) -> Any:
    """A stand-in for the module *name* that imports it when first used (see :class:`Deferred`)."""
    return Deferred(name)


__all__ = ["Deferred", "deferred"]
