"""TokenCommands: what the person asks of the selected tokens, and how the window words it.

Each handler asks what needs asking (through the :mod:`desktop.gui.messages` seam), calls the
:class:`TokenService`, catches the table up and says what happened. A TokenDesk error becomes a
message box, never a crash (:meth:`Notices.attempt`). The actions (:mod:`desktop.gui.actions`)
call these handlers and decide when each is enabled; the handlers check again, for callers that
are not actions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QDialog, QLineEdit, QWidget

from desktop.gui import messages
from desktop.gui.clipboard import SecretClipboard
from desktop.gui.environment_bar import EnvironmentBar
from desktop.gui.notices import Notices
from desktop.gui.table_sync import TableSync
from desktop.gui.token_model import TokenTableModel
from desktop.gui.token_table import TokenTableView
from desktop.gui.widgets import plural
from desktop.services.display import describe_token, format_duration, token_ref, token_title
from desktop.services.runner import RotationRunner
from desktop.services.tokens import TokenService
from desktop.services.views import IssuedSecret, TokenView

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from desktop.gui.actions import WindowActions

REVEAL_MS = 30_000
LIST_AT_MOST = 8  # tokens listed by name in a confirmation; the rest are counted


def list_tokens(tokens: list[TokenView], note: Callable[[TokenView], str] | None = None) -> str:
    """Tokens by name, one a line, the rest counted (for a confirmation)."""
    lines = [
        f"• {describe_token(t)}" + (f": {note(t)}" if note else "") for t in tokens[:LIST_AT_MOST]
    ]
    if len(tokens) > LIST_AT_MOST:
        lines.append(f"… and {len(tokens) - LIST_AT_MOST} more")
    return "\n".join(lines)


def old_secret_fate(token: TokenView, grace: timedelta | None = None) -> str:
    """What happens to requests with a token's old secret once it has a new one, under *grace*
    (None: the token's own grace period)."""
    own = grace is None or grace == token.grace
    grace = token.grace if grace is None else grace
    if grace:
        whose = " (the token's grace period)" if own else ""
        return (
            f"the old secret keeps working for {format_duration(grace)}{whose}, then requests "
            "using it get 401"
        )
    return "the old secret stops working now: requests using it get 401"


class TokenCommands(QObject):
    """The handlers of the token actions and the dialogs they open."""

    def __init__(
        self,
        service: TokenService,
        runner: RotationRunner,
        clipboard: SecretClipboard,
        sync: TableSync,
        environments: EnvironmentBar,
        table: TokenTableView,
        model: TokenTableModel,
        filter_edit: QLineEdit,
        notices: Notices,
        *,
        actions_changed: Callable[[], None],
        reveal_ms: int = REVEAL_MS,
        parent: QWidget,
    ) -> None:
        """*parent* is the window the questions and dialogs belong to; *notices* say what was
        done or why it failed; *actions_changed* is called when what the actions offer may
        have changed."""
        super().__init__(parent)
        self.setObjectName("tokenCommands")
        self._window = parent
        self._service = service
        self._runner = runner
        self._clipboard = clipboard
        self._sync = sync
        self._environments = environments
        self._table = table
        self._model = model
        self._filter_edit = filter_edit
        self._status = notices.status
        self.attempt = notices.attempt
        self._actions_changed = actions_changed
        self._actions: WindowActions | None = None
        self._open_dialogs: list[QDialog] = []
        self.reveal_timer = QTimer(self)
        self.reveal_timer.setObjectName("revealTimer")
        self.reveal_timer.setSingleShot(True)
        self.reveal_timer.setInterval(reveal_ms)
        self.reveal_timer.timeout.connect(self.conceal)

    def use_actions(self, actions: WindowActions) -> None:
        """The actions that call these handlers: a direct call checks that the action it
        stands for is enabled, as a click on it would."""
        self._actions = actions

    def _enabled(self, action: Callable[[WindowActions], QAction]) -> bool:
        return self._actions is None or action(self._actions).isEnabled()

    def _selected(self) -> list[TokenView]:
        return self._table.selected_tokens()

    def _single(self) -> TokenView | None:
        selected = self._selected()
        return selected[0] if len(selected) == 1 else None

    # ----------------------------------------------------------------- new tokens

    def create_token(self) -> None:
        if not self._enabled(lambda a: a.create):
            return
        from desktop.gui.create_dialog import CreateTokenDialog

        issued = CreateTokenDialog.ask(
            self._service, self._window, self._environments.choice or None
        )
        if issued is None:
            return
        self._show_token(issued.token)
        message = f"Token {describe_token(issued.token)} was created in {issued.token.environment}."
        if issued.warnings:
            message += "\n\n" + "\n".join(f"Note: {w}." for w in issued.warnings)
        self._show_secret(issued, token_title("New Secret", issued.token.id), message)

    def _show_token(self, token: TokenView) -> None:
        """Switch to the token's environment, read it, and select the token (clearing a
        filter that would hide it)."""
        environments = self._environments
        if not environments.showing_all() and token.environment != environments.choice:
            environments.choose(token.environment)
            self._sync.reload()
        else:
            self._sync.catch_up()
        if self._model.row_of(token.id) is None and self._model.filter_text:
            self._filter_edit.clear()
        self._table.select_tokens([token.id])
        row = self._model.row_of(token.id)
        if row is not None:
            self._table.scrollTo(self._model.index(row, 0))

    def _show_secret(self, issued: IssuedSecret, title: str, message: str) -> None:
        messages.show_secret(self._window, issued.secret, title, message, self.copy_text)

    # ----------------------------------------------------------------- secrets

    def copy_text(self, secret: str) -> None:
        """Put a secret on the clipboard, marked for clipboard managers, cleared later (the
        status bar counts down to it)."""
        self._clipboard.copy(secret)

    def copy_token(self) -> None:
        token = self._single()
        if token is None or not self._enabled(lambda a: a.copy):
            return
        self.attempt("Copy", lambda: self.copy_text(self._service.reveal(token.id)))

    def reveal_token(self) -> None:
        token = self._single()
        if token is None or not self._enabled(lambda a: a.reveal):
            return
        if token.id in self._model.revealed_ids():
            self.conceal()
            return

        def reveal() -> None:
            secret = self._service.reveal(token.id)
            self.conceal()
            self._model.reveal(token.id, secret)
            self._table.widen_token_column(secret)
            self.reveal_timer.start()

        if self.attempt("Reveal", reveal):
            seconds = max(1, round(self.reveal_timer.interval() / 1000))
            self._status(f"Revealed token {token_ref(token.id)}; it is hidden again in {seconds} s")
            self._actions_changed()

    @Slot()
    def conceal(self) -> None:
        """Hide every revealed secret again."""
        self.reveal_timer.stop()
        self._model.conceal()
        self._table.restore_token_column()
        self._actions_changed()

    def conceal_unless_selected(self) -> None:
        """A revealed secret stays only while its token is the one selected (and shown, with
        the same secret): otherwise hide it now rather than when the timer runs out."""
        revealed = self._model.revealed_ids()
        widened = self._table.token_column_widened()
        if not revealed and not widened:
            return
        if not revealed or [t.id for t in self._selected()] != revealed:
            self.conceal()

    # ----------------------------------------------------------------- changes

    def set_status(self, active: bool) -> None:
        targets = [t for t in self._selected() if t.active != active]
        if not targets:
            return
        done: list[TokenView] = []

        def work() -> None:
            for token in targets:
                self._service.set_status(token.id, active)
                done.append(token)

        self.attempt("Activate" if active else "Deactivate", work)
        self._sync.catch_up()
        if done:
            tokens = plural(len(done), "token")
            self._status(
                f"Activated {tokens}"
                if active
                else f"Deactivated {tokens}: requests using {'it' if len(done) == 1 else 'them'}"
                " get 401 now"
            )

    def refresh_secret(self) -> None:
        """Issue a new secret for each selected token, after asking how long the old ones keep
        working (preset from the tokens' own grace), showing each new secret."""
        targets = self._selected()
        if not targets or not self._enabled(lambda a: a.refresh):
            return
        from desktop.gui.refresh_dialog import grace_choices

        choices, preset = grace_choices([token.grace for token in targets])
        if len(targets) == 1:
            token = targets[0]
            text = f"Issue a new secret for token {describe_token(token)}?"

            def fate(grace: timedelta | None) -> str:
                said = old_secret_fate(token, grace)
                return f"{said[:1].upper()}{said[1:]}."
        else:
            text = f"Issue new secrets for {len(targets)} tokens?"

            def fate(grace: timedelta | None) -> str:
                return "For each token:\n" + list_tokens(
                    targets, lambda token: old_secret_fate(token, grace)
                )

        choice = messages.confirm_refresh(
            self._window, "Refresh Secret", text, fate, choices, preset
        )
        if choice is None:
            return
        issued: list[IssuedSecret] = []

        def work() -> None:
            for token in targets:
                issued.append(self._service.refresh(token.id, grace=choice.grace))

        self.attempt("Refresh Secret", work)
        self._sync.catch_up()
        if issued:
            # Their deliveries run off this thread (a delivery command may take a minute); a
            # run already under way makes them once it ends.
            self._runner.run_now()
        for n, new in enumerate(issued, 1):
            title = "New Secret" if len(issued) == 1 else f"New Secret {n} of {len(issued)}"
            message = (
                f"Token {describe_token(new.token)} has a new secret; "
                f"{old_secret_fate(new.token, choice.grace)}."
            )
            self._show_secret(new, token_title(title, new.token.id), message)
        if issued:
            self._status(f"Issued new secrets for {plural(len(issued), 'token')}")

    def delete_tokens(self) -> None:
        targets = self._selected()
        if not targets or not self._enabled(lambda a: a.delete):
            return
        if len(targets) == 1:
            text = f"Delete token {describe_token(targets[0])}?"
            informative = (
                "Requests using this token will get 401 immediately. Its secret is removed "
                "from the keyring; this cannot be undone. The audit log keeps its history."
            )
        else:
            text = f"Delete {len(targets)} tokens?"
            informative = (
                "Requests using these tokens will get 401 immediately:\n"
                + list_tokens(targets)
                + "\n\nTheir secrets are removed from the keyring; this cannot be undone."
            )
        if not messages.confirm(
            self._window,
            "Delete Tokens" if len(targets) > 1 else "Delete Token",
            text,
            informative,
            accept="Delete",
            destructive=True,
        ):
            return
        model = self._model
        first_row = min(model.rows_of(t.id for t in targets), default=0)
        deleted: list[int] = []

        def work() -> None:
            for token in targets:
                self._service.delete(token.id)
                deleted.append(token.id)

        self.attempt("Delete", work)
        self._sync.catch_up()
        if deleted:
            self._status(f"Deleted {plural(len(deleted), 'token')}")
            if not self._selected() and model.rowCount():
                # Keep the keyboard where it was: the token after the deleted ones.
                following = model.token_at(min(first_row, model.rowCount() - 1))
                self._table.select_tokens([following.id])

    def edit_rotation(self) -> None:
        token = self._single()
        if token is None:
            return
        from desktop.gui.rotation_dialog import RotationDialog

        if RotationDialog.ask(self._service, token.id, self._window):
            self._sync.catch_up()

    def edit_expiry(self) -> None:
        token = self._single()
        if token is None:
            return
        from desktop.gui.expiry_dialog import ExpiryDialog

        saved = ExpiryDialog.ask(self._service, token, self._window)
        if saved is not None:
            self._sync.catch_up()
            self._status(f"Token {token_ref(saved.id)}: expiry saved")

    def edit_label(self) -> None:
        token = self._single()
        if token is None:
            return
        from desktop.gui.label_dialog import LabelDialog

        if LabelDialog.ask(self._service, token, self._window):
            self._sync.catch_up()

    def run_due_rotations(self) -> None:
        if not self._runner.run_now():
            self._status("No token is due for rotation")

    # ----------------------------------------------------------------- other windows

    def _open(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._open_dialogs.append(dialog)
        dialog.show()
        dialog.raise_()
        return dialog

    def show_directory(self) -> None:
        from desktop.gui.directory_dialog import DirectoryDialog

        dialog = DirectoryDialog(self._service, self._window)
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()
        self._sync.catch_up()

    def show_audit_log(self) -> QDialog:
        from desktop.gui.audit_dialog import AuditDialog

        return self._open(AuditDialog(self._service, self._window))

    def show_token_history(self) -> QDialog | None:
        token = self._single()
        if token is None:
            return None
        from desktop.gui.audit_dialog import AuditDialog

        return self._open(AuditDialog(self._service, self._window, token_id=token.id))

    def try_request(self) -> None:
        from desktop.gui.try_request_dialog import TryRequestDialog

        token = self._single()
        dialog = TryRequestDialog(
            self._service,
            self._window,
            environment=self._environments.choice or None,
            token_id=token.id if token else None,
        )
        try:
            dialog.exec()
        finally:
            dialog.deleteLater()

    def reload_dialogs(self) -> None:
        """The dialogs left open (the audit log) show what changed too."""
        alive = []
        for dialog in self._open_dialogs:
            if not shiboken6.isValid(dialog) or not dialog.isVisible():
                continue
            alive.append(dialog)
            reload = getattr(dialog, "reload", None)
            if callable(reload):
                reload()
        self._open_dialogs = alive

    def close(self) -> None:
        """Hide what is revealed and close the dialogs left open."""
        self.conceal()
        for dialog in self._open_dialogs:
            if shiboken6.isValid(dialog):
                dialog.close()
        self._open_dialogs.clear()


__all__ = ["REVEAL_MS", "TokenCommands", "list_tokens", "old_secret_fate"]
