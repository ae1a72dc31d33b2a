"""The window's view of token use: the Last used column kept current, and unused tokens offered
for deactivation.

Forward-auth servers (``tokendesk serve``) write when each token was last presented every few
seconds, and on purpose not through the change log, which would wake every window and server
each time. So :class:`UsageFollower` asks on its own, every :data:`USAGE_READ_MS` and whenever
the window is activated: a cheap read of the uses later than the latest one it knows, taken into
the rows that changed through the table's ordinary update path, never a reload.

:class:`UnusedOffer` says in a banner how many active tokens shown have gone unused for
:data:`~desktop.domain.usage.UNUSED_DAYS` days (:mod:`desktop.domain.usage`), shows just them on
request (View → Unused tokens only) and deactivates them after asking, one audit event each.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from desktop.domain.errors import TokenDeskError
from desktop.domain.usage import UNUSED_DAYS, unused_cutoff
from desktop.gui import messages
from desktop.gui.banner import Banner
from desktop.gui.token_commands import list_tokens
from desktop.gui.token_model import TokenTableModel
from desktop.gui.widgets import plural
from desktop.services.display import token_ref
from desktop.services.tokens import TokenService

log = logging.getLogger(__name__)

USAGE_READ_MS = 60_000  # how often the Last used column is brought up to date
# Servers stamp a use when they see it and write it a few seconds later, each on its own clock:
# a use written after a read may carry an earlier time than the latest one that read saw. So
# each read goes back this far before it; rows that did not change are left alone.
USAGE_OVERLAP_S = 120
DEACTIVATE_TITLE = "Deactivate Unused Tokens"
# Unused tokens are counted again this long after a change, once however many came meanwhile
# (a run of rotations brings many): the count reads up to 100,000 rows.
UNUSED_COUNT_DELAY_MS = 1_000


class UsageFollower(QObject):
    """Keeps the table's Last used column current while the window is open."""

    # The tokens held whose use changed, by id (the details pane reads the selected one again).
    usageChanged = Signal(list)

    def __init__(
        self, service: TokenService, model: TokenTableModel, window: QWidget, parent: QObject
    ) -> None:
        """Reads for *model*'s tokens every :data:`USAGE_READ_MS` once started, and each time
        *window* is activated."""
        super().__init__(parent)
        self.setObjectName("usageFollower")
        self._service = service
        self._model = model
        self._seen: int | None = None  # the latest use read (POSIX seconds, as stored)
        self._failed = False
        self.timer = QTimer(self)
        self.timer.setObjectName("usageTimer")
        self.timer.setInterval(USAGE_READ_MS)
        self.timer.timeout.connect(self.read)
        window.installEventFilter(self)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate and self.timer.isActive():
            QTimer.singleShot(0, self, self.read)  # once the activation is done
        return super().eventFilter(watched, event)

    @Slot()
    def read(self) -> None:
        """Read the uses since the latest one known into the rows they changed (nothing while
        the table is being read: its rows come with their use)."""
        model = self._model
        if model.loading:
            return
        known = [seen for seen in (self._seen, model.latest_use()) if seen is not None]
        # None known: the rows were just read with every use until now.
        seen = max(known) if known else math.floor(self._service.clock.now().timestamp())
        try:
            uses = self._service.usage_since(seen - USAGE_OVERLAP_S)
        except TokenDeskError as error:  # a server away: said once, tried again next time
            if not self._failed:
                log.warning("reading when tokens were last used failed: %s", error)
            self._failed = True
            return
        self._failed = False
        self._seen = max(seen, *(at for _, at, _ in uses)) if uses else seen
        changed = model.update_usage(uses)
        if changed:
            self.usageChanged.emit(changed)


class UnusedOffer(QObject):
    """The banner about active tokens unused for :data:`UNUSED_DAYS` days, the toggle that
    shows just them, and their deactivation."""

    # Tokens were deactivated: the window catches its table up.
    deactivated = Signal()

    def __init__(
        self,
        service: TokenService,
        model: TokenTableModel,
        toggle: QAction,
        status: Callable[[str], None],
        banner_parent: QWidget,
        window: QWidget,
    ) -> None:
        """*toggle* is the checkable action that shows only unused tokens; *status* shows a
        passing message; the banner is made in *banner_parent* (the window lays it out) and the
        questions belong to *window*."""
        super().__init__(window)
        self.setObjectName("unusedOffer")
        self._service = service
        self._model = model
        self._toggle = toggle
        self._status = status
        self._window = window
        self._unused: list[int] = []
        self._dismissed: frozenset[int] = frozenset()  # what the banner said when dismissed
        self.banner = Banner("unusedBanner", "info", banner_parent)
        # Mnemonics no menu title or other window control takes: Alt+W, Alt+C.
        self.show_button = self.banner.add_button("Sho&w", "unusedShow", self._show_clicked)
        self.deactivate_button = self.banner.add_button(
            "Dea&ctivate…", "unusedDeactivate", self.deactivate
        )
        self.banner.add_close_button("unusedDismiss", self.dismiss)
        self._later = QTimer(self)
        self._later.setObjectName("unusedRefreshTimer")
        self._later.setSingleShot(True)
        self._later.timeout.connect(self.refresh)

    @property
    def unused(self) -> list[int]:
        """The tokens shown that are unused, by id, as of the last :meth:`refresh`."""
        return list(self._unused)

    def _cutoff(self) -> int:
        return unused_cutoff(self._service.clock.now().timestamp())

    @Slot()
    def schedule_refresh(self) -> None:
        """Refresh in a moment (:data:`UNUSED_COUNT_DELAY_MS`), once however often asked; at
        once while rows are being read, so the banner forgets the rows shown before."""
        if self._model.loading:
            self.refresh()
        elif not self._later.isActive():
            self._later.start(UNUSED_COUNT_DELAY_MS)

    @Slot()
    def refresh(self) -> None:
        """Count the unused tokens again (time passes and uses arrive), and say so."""
        self._later.stop()
        if self._model.loading:
            # Another environment's rows are being read: the count shown was for the rows
            # before, so it goes until these are counted (when every row is read).
            self._unused = []
            self.banner.hide()
            return
        self._unused = self._model.unused_ids(self._cutoff())
        self._show_banner()

    def _show_banner(self) -> None:
        count = len(self._unused)
        showing = self._toggle.isChecked()
        if not count or (self._dismissed.issuperset(self._unused) and not showing):
            self.banner.hide()
            return
        tokens = plural(count, "active token")
        days = f"unused for {UNUSED_DAYS} days"
        # One token is "it": "Deactivate them" over a single row reads as a slip.
        them, their = ("it", "its") if count == 1 else ("them", "their")
        if showing:
            self.banner.set_text(
                f"No request has presented {them} to a TokenDesk server since, and nothing "
                f"needs {their} secret{'' if count == 1 else 's'} to keep working.",
                heading=f"Showing the {tokens} {days}.",
            )
            self.show_button.setText("Sho&w all")
        else:
            self.banner.set_text(
                "Deactivate it, or show it on its own to decide."
                if count == 1
                else "Deactivate them, or show just them to decide one by one.",
                heading=f"{tokens[:1].upper()}{tokens[1:]} {days}.",
            )
            self.show_button.setText("Sho&w")
        self.banner.show()

    def _show_clicked(self) -> None:
        self._toggle.setChecked(not self._toggle.isChecked())

    def show_unused(self, shown: bool) -> None:
        """Show only the unused tokens, or every token again (the toggle's state follows). A
        token used meanwhile leaves the table as its use arrives; one that goes unused while
        they are shown joins at the next toggle."""
        if self._toggle.isChecked() != shown:
            self._toggle.setChecked(shown)  # which calls this again, through the window
            return
        self._model.set_unused(self._cutoff() if shown else None)
        self.refresh()

    def dismiss(self) -> None:
        """Hide the banner until more tokens go unused (or the filter is turned on)."""
        self._dismissed = frozenset(self._unused)
        self.banner.hide()

    def deactivate(self) -> None:
        """Deactivate the unused tokens shown, after asking (Cancel is the default); one audit
        event each. A token that cannot be deactivated is named, never passed over."""
        self.refresh()
        tokens = self._model.tokens_of(self._unused)
        if not tokens:
            self._status(f"No active token has gone unused for {UNUSED_DAYS} days")
            return
        count = plural(len(tokens), "token")
        if not messages.confirm(
            self._window,
            DEACTIVATE_TITLE,
            f"Deactivate {count} unused for {UNUSED_DAYS} days?",
            f"Every request with {'it' if len(tokens) == 1 else 'them'} will get 401 until "
            "activated again:\n" + list_tokens(tokens),
            accept="Deactivate",
            destructive=True,
        ):
            return
        done: list[int] = []
        failed: list[str] = []
        for token in tokens:
            try:
                self._service.set_status(token.id, False)
            except TokenDeskError as error:
                failed.append(f"{token_ref(token.id)}: {error}")
            else:
                done.append(token.id)
        self.deactivated.emit()
        if done:
            self._status(f"Deactivated {plural(len(done), 'unused token')}")
        if failed:
            messages.error(
                self._window,
                DEACTIVATE_TITLE,
                f"{plural(len(failed), 'token')} could not be deactivated.",
                "\n".join(failed),
            )
        self.refresh()

    def stop(self) -> None:
        """Count nothing more (the window is closing)."""
        self._later.stop()


__all__ = ["USAGE_OVERLAP_S", "USAGE_READ_MS", "UnusedOffer", "UsageFollower"]
