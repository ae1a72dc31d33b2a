"""``tokendesk rotate-due``: rotate every token whose rotation is due, for cron or a systemd
timer while the window is closed."""

from __future__ import annotations

import argparse
import logging

from desktop.cli.common import (
    EXIT_FAILED,
    EXIT_KEYRING,
    EXIT_OK,
    Subparsers,
    command,
    error,
    one_line,
)
from desktop.cli.output import emit
from desktop.services import actors
from desktop.services.tokens import TokenService
from desktop.services.views import RotationReport

log = logging.getLogger(__name__)


def register(commands: Subparsers) -> None:
    command(
        commands,
        "rotate-due",
        rotate_due,
        "rotate every token whose rotation is due (needs the keyring)",
        secret=True,
        epilog="For cron or a systemd timer while the window is closed; missed rotations "
        "coalesce into one.\nThen the new secrets are delivered (see 'token deliver'), and "
        "deliveries that failed earlier are\ntried again.\nExit status: 0 when nothing failed, "
        "1 when a rotation or a delivery failed, 3 when the keyring\ncannot be used (at the "
        "start, or during the run: it stops there, and what it rotated before is\nstill "
        "listed), 4 when the database cannot be used (a full disk stops the run at once).",
    )


def report_text(report: RotationReport) -> str:
    """One line per token rotated, skipped or failed, then the counts."""
    if not (report.rotated or report.skipped or report.failed or report.deliveries):
        return "No tokens are due for rotation."
    lines = [f"rotated token {token_id}" for token_id in report.rotated]
    lines += [
        f"skipped token {token_id} (no longer due, or being changed elsewhere)"
        for token_id in report.skipped
    ]
    lines += [f"failed token {token_id}: {one_line(why)}" for token_id, why in report.failed]
    lines += [f"delivery: {one_line(outcome.summary)}" for outcome in report.deliveries]
    lines.append(
        f"{len(report.rotated)} rotated, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed."
    )
    return "\n".join(lines)


def rotate_due(service: TokenService, args: argparse.Namespace) -> int:
    """Rotate what is due and list it. A keyring that fails during the run stops it, as one
    that is down at the start refuses it: both are status 3 (a script's cue to try again
    later), and the tokens rotated before it failed are listed all the same."""
    report = service.rotate_due(actor=actors.scheduler())  # what cron runs: the schedule
    document: dict[str, object] = {
        "rotated": list(report.rotated),
        "skipped": list(report.skipped),
        "failed": [{"token": tid, "error": why} for tid, why in report.failed],
        "deliveries": [outcome.to_json() for outcome in report.deliveries],
    }
    if report.keyring_unavailable:
        document["stopped"] = "keyring"
    emit(args, document, lambda: report_text(report))
    for token_id, why in report.failed:
        log.debug("rotation of token %s failed: %s", token_id, why)
    if report.keyring_unavailable:
        _, why = report.failed[-1]
        error(
            "the keyring could not be used, so the run stopped (the tokens still due wait for "
            f"the next run): {why}"
        )
        return EXIT_KEYRING
    # A failed delivery counts as a failure here: cron's mail is how anyone hears of it.
    undelivered = any(not outcome.ok for outcome in report.deliveries)
    return EXIT_FAILED if report.failed or undelivered else EXIT_OK
