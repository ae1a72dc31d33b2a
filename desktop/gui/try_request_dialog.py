"""TryRequestDialog ("Try a request"): what the API would answer for a token, method and path.

The answer comes from :meth:`TokenService.verify`, the same decision the API makes. A stored
token's secret is read from the keyring only when Send is pressed and is never displayed.
"""

from __future__ import annotations

from http import HTTPStatus

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.access import METHODS, Decision
from desktop.domain.errors import TokenDeskError
from desktop.gui import theme
from desktop.gui.theme import Tone, paint_tone
from desktop.gui.token_choices import TokenChoices, offer
from desktop.gui.widgets import fit_to_contents
from desktop.services.display import token_choice_masked, token_ref
from desktop.services.tokens import TokenService
from desktop.services.views import Names, TokenRow

PROMPT = "Choose a token, a method and a path, then press Send."
CHANGED = "The request changed: press Send to try it."

# How each outcome is coloured (and whether in bold); the colours follow the palette.
OUTCOME_TONES: dict[str, tuple[Tone, bool]] = {
    "allowed": (Tone.SUCCESS, True),
    "unauthorized": (Tone.ERROR, True),
    "forbidden": (Tone.WARNING, True),
    "error": (Tone.ERROR, False),
}


def answer_text(decision: Decision) -> str:
    """E.g. ``403 Forbidden — role does not allow POST on /loans``."""
    try:
        phrase = HTTPStatus(decision.status).phrase
    except ValueError:
        phrase = ""
    return f"{decision.status} {phrase} — {decision.reason}".replace("  ", " ")


def outcome(decision: Decision) -> str:
    if decision.status == 200:
        return "allowed"
    return "unauthorized" if decision.status == 401 else "forbidden"


class TryRequestDialog(QDialog):
    def __init__(
        self,
        service: TokenService,
        parent: QWidget | None = None,
        environment: str | None = None,
        token_id: int | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TryRequestDialog")
        self.setWindowTitle("Try a Request")
        self._service = service

        self._environment = QComboBox(self)
        self._environment.setObjectName("tryEnvironment")
        self._environment.setToolTip("The environment the request is sent to")

        self._use_stored = QRadioButton("St&ored token:", self)
        self._use_stored.setObjectName("tryUseStored")
        self._use_pasted = QRadioButton("&Pasted token:", self)
        self._use_pasted.setObjectName("tryUsePasted")
        group = QButtonGroup(self)
        group.addButton(self._use_stored)
        group.addButton(self._use_pasted)

        self._token = QComboBox(self)
        self._token.setObjectName("tryTokenCombo")
        self._token.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self._token.setMinimumContentsLength(48)
        self._token.setToolTip(
            "Its secret is read from the system keyring when you press Send; it is not shown"
        )
        self._pasted = QLineEdit(self)
        self._pasted.setObjectName("tryTokenEdit")
        self._pasted.setEchoMode(QLineEdit.EchoMode.Password)
        self._pasted.setPlaceholderText("tdk_…")
        self._pasted.setToolTip("Paste a token as a client would present it")
        self._show = QCheckBox("Sho&w", self)
        self._show.setObjectName("tryShowToken")
        self._show.setToolTip("Show the pasted token")

        self._method = QComboBox(self)
        self._method.setObjectName("tryMethod")
        self._method.addItems(list(METHODS))
        self._endpoint = QLineEdit(self)
        self._endpoint.setObjectName("tryEndpoint")
        self._endpoint.setPlaceholderText("/Loans/42")
        self._endpoint.setToolTip(
            "The request path; the first segment (after an optional odata.svc/) is the endpoint"
        )

        self._send = QPushButton("&Send", self)
        self._send.setObjectName("trySend")
        self._send.setDefault(True)
        self._result = QLabel(PROMPT, self)
        self._result.setObjectName("tryResult")
        self._result.setWordWrap(True)
        self._result.setProperty("outcome", "")

        token_grid = QGridLayout()
        token_grid.addWidget(self._use_stored, 0, 0)
        token_grid.addWidget(self._token, 0, 1, 1, 2)
        token_grid.addWidget(self._use_pasted, 1, 0)
        token_grid.addWidget(self._pasted, 1, 1)
        token_grid.addWidget(self._show, 1, 2)
        token_grid.setColumnStretch(1, 1)

        form = QFormLayout()
        form.addRow("&Environment:", self._environment)
        form.addRow(token_grid)
        form.addRow("&Method:", self._method)
        form.addRow("Pa&th:", self._endpoint)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("buttonBox")
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("closeButton")
        close.setAutoDefault(False)
        buttons.addButton(self._send, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self._result)
        layout.addStretch(1)
        layout.addWidget(buttons)

        for env in service.environments():
            text = env.name if env.api_enabled else f"{env.name} (API access disabled)"
            self._environment.addItem(text, env.name)
        if token_id is not None:  # the token is more specific: open on its environment
            try:
                environment = service.token(token_id).environment
            except TokenDeskError:
                token_id = None
        if environment is not None:
            self._environment.setCurrentIndex(
                max(0, self._environment.findData(environment.strip()))
            )
        self._load_tokens(token_id)
        if self._token.count() == 0:
            self._use_pasted.setChecked(True)
        else:
            self._use_stored.setChecked(True)

        self._environment.currentIndexChanged.connect(self._environment_changed)
        self._use_stored.toggled.connect(self._sync)
        self._show.toggled.connect(self._toggle_shown)
        self._pasted.textEdited.connect(self._pasted_edited)
        self._endpoint.textChanged.connect(self._sync)
        # An answer stands beside the request it answers: any change of the request takes it
        # away, so an earlier "200 OK" never reads as the answer to a new path.
        for changed in (
            self._environment.currentIndexChanged,
            self._method.currentIndexChanged,
            self._token.currentIndexChanged,
            self._use_stored.toggled,
            self._pasted.textEdited,
            self._endpoint.textEdited,
        ):
            changed.connect(self._request_changed)
        self._send.clicked.connect(self.send)
        self._sync()
        self._endpoint.setFocus()
        self.resize(600, 1)
        fit_to_contents(self, 600)

    # ----------------------------------------------------------------- choices

    def _load_tokens(self, selected: int | None = None) -> None:
        environment = self.environment()
        rows: list[TokenRow] = []
        names = Names({}, {})
        if environment is not None:
            try:
                _, names, rows = self._service.token_table(environment)
            except TokenDeskError:
                rows = []
        choices = TokenChoices(names, rows, token_choice_masked, parent=self)
        offer(self._token, choices)
        if choices.rowCount():
            self._token.setCurrentIndex(choices.row_of(selected) or 0)

    def environment(self) -> str | None:
        value = self._environment.currentData()
        return value if isinstance(value, str) else None

    def _environment_changed(self) -> None:
        self._load_tokens()
        self._sync()

    def _pasted_edited(self) -> None:
        self._use_pasted.setChecked(True)

    def _toggle_shown(self, shown: bool) -> None:
        self._pasted.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )

    def _sync(self) -> None:
        stored = self._use_stored.isChecked()
        self._use_stored.setEnabled(self._token.count() > 0)
        self._token.setEnabled(stored and self._token.count() > 0)
        has_token = (not stored) or self._token.currentIndex() >= 0
        self._send.setEnabled(
            self.environment() is not None and has_token and bool(self._endpoint.text().strip())
        )

    # ----------------------------------------------------------------- sending

    def _request_changed(self) -> None:
        if self._result.property("outcome"):
            result = self._result
            result.setText(CHANGED)
            result.setProperty("outcome", "")
            theme.follow(result, lambda: result.setStyleSheet(""))

    def _show_result(self, text: str, kind: str) -> None:
        self._result.setText(text)
        self._result.setProperty("outcome", kind)
        tone, bold = OUTCOME_TONES[kind]
        paint_tone(self._result, tone, bold=bold)
        fit_to_contents(self, 600)

    def send(self) -> None:
        environment = self.environment()
        path = self._endpoint.text().strip()
        if environment is None or not path:
            return
        method = self._method.currentText()
        if self._use_stored.isChecked():
            token_id = self._token.currentData()
            if not isinstance(token_id, int):
                return
            try:
                presented = self._service.reveal(token_id)
            except TokenDeskError as error:
                self._show_result(
                    f"Could not read token {token_ref(token_id)} from the keyring: {error}.",
                    "error",
                )
                return
        else:
            presented = self._pasted.text().strip()
        try:
            decision = self._service.verify(environment, presented, method, path)
        finally:
            del presented
        self._show_result(answer_text(decision), outcome(decision))
