"""The details pane: what the selected token may do, and what happened to it lately.

The table answers who holds a token and when it rotates; whether a request with it gets through
also depends on its environment's API access, its agent's standing and its role, which the
pane reads together (:meth:`TokenService.token_details`) and says in words, with the token's
latest audit events.

It is one read-only text, so a person can select and copy any of it, a screen reader reads it
as one document, and it is one stop in the window's Tab order. It holds no secret: the token is
named by its number and its masked hint, as the table names it.

Reads wait for the selection to settle (:data:`SETTLE_MS`): holding Down across a hundred
tokens reads the one it stops at, not a hundred. Nothing is read while the pane is hidden.
"""

from __future__ import annotations

import html
from datetime import timedelta

from PySide6.QtCore import QItemSelection, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QFocusEvent,
    QHideEvent,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop.domain import holders
from desktop.domain.errors import NotFound, TokenDeskError
from desktop.gui.widgets import sentence
from desktop.services import display
from desktop.services.details import TokenDetails
from desktop.services.tokens import TokenService
from desktop.services.views import AuditView

# How long the selection must stay put before the pane reads it: longer than a held key's
# repeat interval (25-40 ms on X11, GNOME and KDE), short enough to pass unnoticed.
SETTLE_MS = 120
# From these widths, in average characters of the pane's font (so a larger font gets the room
# it needs), the pane's four parts stand side by side, or two by two; a narrower pane shows them
# one under another. About 1,000 and 560 pixels at the usual 9 or 10 point.
FOUR_COLUMNS_FROM = 160
TWO_COLUMNS_FROM = 90
_WIDTHS = {4: (28, 24, 18, 30), 2: (50, 50), 1: (100,)}
# A timer's interval is a 32-bit count of milliseconds: a far deadline is looked at again daily.
_LONGEST_WAIT_MS = 24 * 3_600_000

NOTHING_SELECTED = "No token selected"
NOTHING_SELECTED_HINT = (
    "Select a token in the table to see what it may do: its environment and API access, its "
    "agent, its role's permissions, its rotation and its latest events."
)


def selected_rows(selection: QItemSelection) -> tuple[int, int | None]:
    """How many rows *selection* holds, and the row when it is one: from its ranges, never
    one row at a time (Ctrl+A on 100,000 tokens is one range)."""
    ranges = (selection.at(n) for n in range(selection.size()))
    spans = sorted({(span.top(), span.bottom()) for span in ranges if span.isValid()})
    count, reach = 0, -1
    for top, bottom in spans:
        if bottom > reach:
            count += bottom - max(top, reach + 1) + 1
            reach = bottom
    return count, spans[0][0] if count == 1 else None


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _paragraphs(title: str, text: str) -> str:
    return f"<h3>{_e(title)}</h3><p>{_e(text)}</p>"


def token_title(details: TokenDetails) -> str:
    """``Token #3 — tdk_••••••••AbCd``: its number, as every dialog names it, and its masked
    hint, as the table shows it (never more of the secret)."""
    return f"Token #{details.token.id} — {details.token.masked}"


def token_facts(details: TokenDetails) -> list[tuple[str, str]]:
    """(caption, text) of each line about who holds the token and whether it may be used."""
    token = details.token
    environment = token.environment + (
        " — API access on" if details.api_enabled else " — API access off: every request gets 401"
    )
    if details.agent_refusal is None:
        agent = f"{token.agent} — eligible"
    else:
        agent = f"{token.agent} — not eligible: {details.agent_refusal}"
    status = display.status_text(token.active)
    if not token.active:
        status += ": every request gets 401"
    return [
        ("Label", token.label or "(no label)"),
        ("Environment", environment),
        ("Agent", agent),
        ("Role", token.role),
        ("Status", status),
    ]


def lifetime_facts(details: TokenDetails) -> list[tuple[str, str]]:
    """(caption, text) of each line about the token's secret over time: when it was made, last
    used and replaced, whose keyring holds it, when it is replaced next (and that it is overdue,
    when its holder's TokenDesk has not rotated it for a day), and how long a replaced secret
    keeps working."""
    token = details.token
    next_at = token.next_rotation_at
    if token.expires_at is not None and (
        token.expired(details.read_at) or (next_at is not None and next_at >= token.expires_at)
    ):
        next_at = None  # an expired token is not rotated, nor is one at or after its expiry
    next_rotation = display.format_time(next_at)
    if next_at is not None and not token.active:
        next_rotation += display.PAUSED
    if token.rotation_overdue(details.read_at):
        next_rotation = sentence(holders.overdue_text(next_rotation, token.holder))
    grace = (
        f"{display.format_duration(token.grace)} after each rotation"
        if token.grace
        else "none: a replaced secret stops at once, unless a refresh asks for one"
    )
    lines = [
        ("Created", display.format_time(token.created_at)),
        # As forward-auth servers saw it: when a request last presented it, and how often.
        ("Last used", display.usage_phrase(token.last_used_at, token.use_count)),
        ("Last rotated", display.format_time(token.last_rotated_at)),
        ("Secret", f"held by {token.holder}"),
        ("Rotation", display.rotation_text(_seconds(token.rotation_interval))),
        ("Next rotation", next_rotation),
        ("Grace", grace),
        ("Expires", sentence(display.expiry_phrase(token.expires_at, details.read_at))),
    ]
    if token.grace_until is not None:
        lines.append(("Previous secret", f"valid until {display.format_time(token.grace_until)}"))
    if token.last_error:
        lines.append(("Last rotation", f"failed: {token.last_error}"))
    if details.delivered_by is not None:
        lines.append(("Delivered by", details.delivered_by))
    return lines


def _seconds(interval: timedelta | None) -> int | None:
    return None if interval is None else int(interval.total_seconds())


def verdict(details: TokenDetails) -> str:
    """What happens to a request with this token, in one sentence."""
    refusal = details.refusal
    if refusal is not None:
        return f"Every request with this token gets 401: {refusal}."
    if not details.permissions:
        return f"Every request with this token gets 403: role {details.token.role} allows nothing."
    return f"Requests with this token get through where role {details.token.role} allows:"


def event_text(event: AuditView) -> tuple[str, str, str]:
    """When, who, and what (the action and its details) of one audit event."""
    what = event.action + (f": {event.details}" if event.details else "")
    return display.format_time(event.at), event.actor, what


def _facts_table(lines: list[tuple[str, str]]) -> str:
    rows = "".join(
        f'<tr><th align="left" valign="top">{_e(caption)}</th><td>{_e(text)}</td></tr>'
        for caption, text in lines
    )
    return f'<table cellspacing="0" cellpadding="1">{rows}</table>'


def columns_for(width: int) -> int:
    """How many of the pane's four parts stand side by side in a pane *width* average
    characters wide."""
    return 4 if width >= FOUR_COLUMNS_FROM else 2 if width >= TWO_COLUMNS_FROM else 1


def details_html(details: TokenDetails, *, columns: int = 4) -> str:
    """The pane's text for one token: who holds it, its lifetime, what it may do and its
    latest events, in 4, 2 or 1 *columns* (side by side, two by two, one under another)."""
    role = details.token.role
    allowed = f"<p>{_e(verdict(details))}</p>"
    if details.permissions:
        if details.refusal is not None:
            allowed += f"<p>Role {_e(role)} would allow:</p>"
        allowed += "<ul>" + "".join(f"<li>{_e(p)}</li>" for p in details.permissions) + "</ul>"

    recent = "".join(
        f"<p>{_e(when)} · {_e(who)}<br>{_e(what)}</p>"
        for when, who, what in map(event_text, details.recent)
    )
    parts = [
        (token_title(details), _facts_table(token_facts(details))),
        ("Lifetime", _facts_table(lifetime_facts(details))),
        ("What it may do", allowed),
        ("Latest events", recent or "<p>None recorded.</p>"),
    ]
    widths = _WIDTHS[columns]
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td valign="top" width="{width}%"><h3>{_e(title)}</h3>{body}</td>'
            for (title, body), width in zip(parts[start : start + columns], widths, strict=True)
        )
        + "</tr>"
        for start in range(0, len(parts), columns)
    )
    return f'<table width="100%" cellspacing="0" cellpadding="4">{rows}</table>'


def summary(details: TokenDetails) -> str:
    """The pane in one line, for a screen reader's description of it."""
    token = details.token
    state = details.refusal or f"role {token.role}"
    return f"Token #{token.id}, agent {token.agent}, {token.environment}, {state}"


class TokenDetailsPane(QTextBrowser):
    """The selected token's details, kept current; says so plainly when there are none."""

    # Esc: the person is done reading; the window puts the focus back on the table.
    leave = Signal()

    def __init__(self, service: TokenService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenDetails")
        self.setAccessibleName("Token details")
        self._service = service
        self.setOpenLinks(False)
        self.setUndoRedoEnabled(False)
        # Selectable by keyboard too (a caret, Shift+arrows, Ctrl+A, Ctrl+C), and Tab moves on.
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setTabChangesFocus(True)

        self._wanted: tuple[int, int | None] = (0, None)  # how many are selected; the one
        self._stale = True  # what is shown is not (yet) what is wanted, as it is now
        self._details: TokenDetails | None = None
        self._shown_id: int | None = None  # whose details are on screen
        self._html = ""  # as on screen
        self._columns = 0  # as the text on screen is laid out

        self.settle_timer = QTimer(self)
        self.settle_timer.setObjectName("detailsSettleTimer")
        self.settle_timer.setSingleShot(True)
        self.settle_timer.setInterval(SETTLE_MS)
        self.settle_timer.timeout.connect(self.flush)
        # A previous secret's grace ends without any change to the token: look again then.
        self._deadline = QTimer(self)
        self._deadline.setObjectName("detailsDeadlineTimer")
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(self.refresh)

        back = QAction(self)
        back.setObjectName("actionLeaveDetails")
        back.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        back.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        back.triggered.connect(self.leave)
        self.addAction(back)
        self._show_text(NOTHING_SELECTED, NOTHING_SELECTED_HINT)

    # ----------------------------------------------------------------- what to show

    @property
    def details(self) -> TokenDetails | None:
        """What the pane shows now: one token's details, or None (no token, or several)."""
        return self._details

    @property
    def pending(self) -> bool:
        """True while a change of selection or data waits to be read."""
        return self._stale

    def show_selection(self, count: int, token_id: int | None = None) -> None:
        """*count* tokens are selected now, *token_id* the one when there is one: shown once
        the selection settles (at once when the pane gets the focus or is shown). The same
        selection again changes nothing."""
        wanted = (count, token_id if count == 1 else None)
        if wanted == self._wanted and not self._stale:
            return
        self._wanted = wanted
        self._changed()

    def stop(self) -> None:
        """Read nothing more (the window is closing)."""
        self.settle_timer.stop()
        self._deadline.stop()

    @Slot()
    def refresh(self) -> None:
        """The data may have changed: read the selected token again, once things settle."""
        self._changed()

    def _changed(self) -> None:
        self._stale = True
        if self.isVisible():
            self.settle_timer.start()

    @Slot()
    def flush(self) -> None:
        """Show what is selected now, if it is not shown yet."""
        self.settle_timer.stop()
        if not self._stale:
            return
        self._stale = False
        self._deadline.stop()
        count, token_id = self._wanted
        if token_id is None:
            self._details = None
            if count > 1:
                self._show_text(
                    f"{count:,} tokens selected",
                    "Select one token to see what it may do and its latest events.",
                )
            else:
                self._show_text(NOTHING_SELECTED, NOTHING_SELECTED_HINT)
            return
        try:
            details = self._service.token_details(token_id)
        except NotFound:  # deleted meanwhile: the table drops it next
            self._details = None
            self._show_text(f"Token #{token_id}", "This token no longer exists.")
            return
        except TokenDeskError as error:  # the database is busy or gone: say so, try later
            self._details = None
            self._show_text(f"Token #{token_id}", f"Its details cannot be read now: {error}")
            return
        self._details = details
        self._render()
        self._watch_grace(details)

    def _watch_grace(self, details: TokenDetails) -> None:
        until = details.token.grace_until
        if until is None:
            return
        left = until - self._service.clock.now()
        wait = int(left.total_seconds() * 1000) + 1_000  # just past it
        self._deadline.start(max(0, min(wait, _LONGEST_WAIT_MS)))

    # ----------------------------------------------------------------- painting

    def _render(self) -> None:
        details = self._details
        if details is None:
            return
        self._columns = self._fitting_columns()
        self._set_html(details_html(details, columns=self._columns), details.token.id)
        self.setAccessibleDescription(summary(details))

    def _show_text(self, title: str, text: str) -> None:
        self._set_html(_paragraphs(title, text), None)
        self.setAccessibleDescription(title)

    def _set_html(self, text: str, token_id: int | None) -> None:
        """New text; the same token's, read again, keeps its place in the pane, and the same
        text (another token changed) is left alone, with whatever the person selected in it."""
        if text == self._html:
            return
        bar = self.verticalScrollBar()
        position = bar.value() if token_id is not None and token_id == self._shown_id else 0
        self.setHtml(text)
        self._html, self._shown_id = text, token_id
        bar.setValue(position)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._details is not None and self._fitting_columns() != self._columns:
            self._render()

    def _fitting_columns(self) -> int:
        character = max(1, self.fontMetrics().averageCharWidth())
        return columns_for(self.viewport().width() // character)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:  # shown again: what is selected now, as soon as the pane is painted
            QTimer.singleShot(0, self, self.flush)

    def hideEvent(self, event: QHideEvent) -> None:
        self.settle_timer.stop()  # read when shown again, not for nobody
        super().hideEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self.flush()  # what has the focus is what was selected, not what was a moment ago
        super().focusInEvent(event)

    def sizeHint(self) -> QSize:
        # About twelve lines: the facts about a token without scrolling, beside its events.
        hint = super().sizeHint()
        return QSize(hint.width(), self.fontMetrics().lineSpacing() * 12 + 2 * self.frameWidth())


__all__ = [
    "SETTLE_MS",
    "TokenDetailsPane",
    "columns_for",
    "details_html",
    "lifetime_facts",
    "selected_rows",
    "token_facts",
    "verdict",
]
