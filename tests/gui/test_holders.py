"""Another admin's tokens in the window: their secret is in that admin's keyring, so Copy and
Reveal are off and say why, the table and the details pane name the holder, a refresh makes
this person the holder, this window's scheduler leaves their rotations alone, and one left
undone for more than a day is flagged."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import Context
from desktop.domain.table import Column
from desktop.gui.actions import COPY_TIP
from desktop.gui.main_window import MainWindow
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret
from tests.gui.conftest import Answers, action, model
from tests.gui.test_token_details import showing, text
from tests.helpers.clock import FakeClock

ALICE = "alice@laptop"
REASON = "The secret is in alice@laptop's keyring; Refresh to get a new one in yours"


def alices_token(context: Context, clock: FakeClock) -> IssuedSecret:
    """A daily token alice@laptop made on the same registry. Her keyring is the one this test
    reaches too, so nothing but the holder keeps this window from her secret."""
    alice = TokenService(
        context.database, context.service.store, clock=clock, actor=ALICE, person=ALICE
    )
    return alice.create_token("Production", "Alpha Bot", rotation="daily")


def tip(window: MainWindow, token_id: int, column: Column, role: Qt.ItemDataRole) -> object:
    row = window.model.row_of(token_id)
    assert row is not None
    return model(window).index(row, column).data(role)


def test_another_admins_secret_is_neither_copied_nor_revealed_until_refreshed_here(
    window: MainWindow,
    seeded: TokenService,
    context: Context,
    clock: FakeClock,
    answers: Answers,
    qtbot: QtBot,
) -> None:
    hers = alices_token(context, clock)
    mine = seeded.create_token("Production", "Beta Sync")
    window.sync.reload()
    window.select_tokens([hers.token.id])
    copy, reveal = action(window, "actionCopyToken"), action(window, "actionRevealToken")
    assert not copy.isEnabled() and not reveal.isEnabled()
    assert (copy.statusTip(), reveal.statusTip(), reveal.toolTip()) == (REASON, REASON, REASON)
    assert copy.toolTip().startswith(REASON)
    cell_tip = tip(window, hers.token.id, Column.TOKEN, Qt.ItemDataRole.ToolTipRole)
    assert cell_tip == f"{hers.token.masked}: {REASON}"
    qtbot.waitUntil(showing(window, hers.token.id))
    assert "\nSecret\nheld by alice@laptop\n" in text(window)  # "Secret  held by alice@laptop"
    copy.trigger()
    reveal.trigger()  # disabled: nothing is read, nothing shown
    assert window.model.revealed_ids() == [] and answers.secrets == []

    window.select_tokens([mine.token.id])
    assert copy.isEnabled() and reveal.isEnabled() and copy.statusTip() == COPY_TIP
    assert "Refresh" not in str(
        tip(window, mine.token.id, Column.TOKEN, Qt.ItemDataRole.ToolTipRole)
    )

    window.select_tokens([hers.token.id])
    action(window, "actionRefresh").trigger()  # into this person's keyring: they hold it now
    (_title, _message, secret) = answers.secrets[0]
    assert seeded.token(hers.token.id).holder == seeded.person
    assert copy.isEnabled() and reveal.isEnabled()
    reveal.trigger()
    assert window.model.revealed_ids() == [hers.token.id]
    assert tip(window, hers.token.id, Column.TOKEN, Qt.ItemDataRole.DisplayRole) == secret
    event = seeded.audit(hers.token.id)[0]
    assert event.details.endswith(f"holder changed from alice@laptop to {seeded.person}")


def test_another_admins_rotation_is_left_to_them_and_flagged_once_a_day_late(
    window: MainWindow, seeded: TokenService, context: Context, clock: FakeClock, qtbot: QtBot
) -> None:
    hers = alices_token(context, clock)
    window.sync.reload()
    clock.advance(timedelta(days=1, hours=1))  # due an hour ago
    with (
        qtbot.assertNotEmitted(window.runner.started),
        qtbot.assertNotEmitted(window.runner.failed),
    ):
        assert not window.runner.run_now(blocking=True)
    assert seeded.token(hers.token.id).generation == 0
    overdue = (Column.NEXT_ROTATION, Qt.ItemDataRole.ToolTipRole)
    assert tip(window, hers.token.id, *overdue) is None  # her desktop may just be asleep

    clock.advance(timedelta(days=1))
    window.select_tokens([hers.token.id])
    late = tip(window, hers.token.id, *overdue)
    assert isinstance(late, str)
    assert late.startswith("Overdue since ")
    assert late.endswith(", held by alice@laptop: only their TokenDesk rotates it")
    icon = tip(window, hers.token.id, Column.NEXT_ROTATION, Qt.ItemDataRole.DecorationRole)
    assert icon is not None
    qtbot.waitUntil(showing(window, hers.token.id))
    assert "\nNext rotation\nOverdue since 2026-01-06 09:00, held by alice@laptop\n" in text(window)
