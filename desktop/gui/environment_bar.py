"""EnvironmentBar: which environment's tokens the window shows, and its API access.

The selector lists every environment and, with more than one, *All environments*; the API
access toggle turns every token of the environment shown into 401 (after asking) or back. The
banner below the bar says so while API access is off. The bar only decides what is shown: it
tells the window through ``chosen`` and ``apiAccessChanged``, which read the tokens again.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QWidget

from desktop.gui import messages
from desktop.gui.banner import Banner
from desktop.gui.widgets import plural
from desktop.services.tokens import TokenService
from desktop.services.views import EnvironmentView

# Item data of the environment selector's entry that shows every environment's tokens.
ALL_ENVIRONMENTS = ""

Attempt = Callable[[str, Callable[[], object]], bool]  # title, work -> whether it worked


class EnvironmentBar(QWidget):
    """The environment selector and the API access toggle, with the API access banner."""

    # Another environment (or All environments) was chosen: its tokens are to be read.
    chosen = Signal()
    # API access was turned on or off for the environment shown.
    apiAccessChanged = Signal()

    def __init__(
        self,
        service: TokenService,
        attempt: Attempt,
        status: Callable[[str], None],
        *,
        environment: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """*attempt* runs a change, reporting a failure; *status* says what was done;
        *environment* is shown first (a name, ``ALL_ENVIRONMENTS``, or None for the first)."""
        super().__init__(parent)
        self.setObjectName("environmentBar")
        self._service = service
        self._attempt = attempt
        self._status = status
        self._environments: list[EnvironmentView] = []
        self._environment = environment  # a name, ALL_ENVIRONMENTS or None
        self.counted = False  # the environments' token counts are known

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.selector = QComboBox(self)
        self.selector.setObjectName("environmentSelector")
        self.selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.selector.setMinimumContentsLength(14)
        self.selector.setToolTip("The environment whose tokens are shown")
        self.selector.currentIndexChanged.connect(self._environment_chosen)
        label = QLabel("&Environment:", self)
        label.setBuddy(self.selector)
        self.api_toggle = QCheckBox("&API access", self)
        self.api_toggle.setObjectName("apiAccessToggle")
        self.api_toggle.setToolTip(
            "When off, every token of this environment answers 401 to every request"
        )
        self.api_toggle.clicked.connect(self._api_toggled)
        layout.addWidget(label)
        layout.addWidget(self.selector)
        layout.addSpacing(8)
        layout.addWidget(self.api_toggle)
        # Laid out by the window, below the bar's row.
        self.api_banner = Banner("apiAccessBanner", "warning", parent)

    # ----------------------------------------------------------------- what is shown

    @property
    def choice(self) -> str | None:
        """The environment shown: a name, ``ALL_ENVIRONMENTS`` or None (there is none)."""
        return self._environment

    def choose(self, environment: str) -> None:
        """Show *environment* from the next read on (no ``chosen``: the caller reads)."""
        self._environment = environment

    def current(self) -> EnvironmentView | None:
        """The environment shown; None when there is none, or when all are shown."""
        return next((e for e in self._environments if e.name == self._environment), None)

    def api_off(self) -> str | None:
        """The environment shown, when its API access is off (no new tokens there)."""
        environment = self.current()
        return environment.name if environment is not None and not environment.api_enabled else None

    def showing_all(self) -> bool:
        """True while the table shows the tokens of every environment."""
        return self._environment == ALL_ENVIRONMENTS

    def has_environments(self) -> bool:
        return bool(self._environments)

    def read(self, *, counted: bool = True) -> None:
        """Read the environments again (with their token counts, unless not ``counted``)."""
        self._environments = self._service.environments(counted=counted)
        self.counted = counted
        self._fill()

    def _fill(self) -> None:
        combo = self.selector
        names = [e.name for e in self._environments]
        if self._environment not in names and not (names and self.showing_all()):
            self._environment = names[0] if names else None
        # Every environment, then (with more than one) an entry showing all of them.
        data = [*names, ALL_ENVIRONMENTS] if len(names) > 1 else names
        combo.blockSignals(True)
        try:
            if [combo.itemData(i) for i in range(combo.count())] != data:
                combo.clear()
                for env in self._environments:
                    combo.addItem(env.name, env.name)
                if len(names) > 1:
                    combo.addItem("All environments", ALL_ENVIRONMENTS)
            total = 0
            for i, env in enumerate(self._environments):
                total += env.token_count
                access = f"API access {'enabled' if env.api_enabled else 'disabled'}"
                tip = f"{plural(env.token_count, 'token')}; {access}" if self.counted else access
                combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
            if len(names) > 1:
                tip = f"{len(names)} environments"
                if self.counted:
                    tip = f"{plural(total, 'token')} in {tip}"
                combo.setItemData(len(names), tip, Qt.ItemDataRole.ToolTipRole)
            if self._environment not in data:
                self._environment = names[0] if names else None
            combo.setCurrentIndex(
                data.index(self._environment) if self._environment in data else -1
            )
        finally:
            combo.blockSignals(False)
        combo.setEnabled(bool(names))

    @Slot(int)
    def _environment_chosen(self, index: int) -> None:
        value = self.selector.itemData(index)
        if isinstance(value, str) and value != self._environment:
            self._environment = value
            self.chosen.emit()

    def select(self, environment: str) -> bool:
        """Choose *environment* in the selector, as the person would; False if it is not
        offered."""
        index = self.selector.findData(environment)
        if index < 0:
            return False
        self.selector.setCurrentIndex(index)
        return True

    def update_state(self) -> None:
        """The toggle and the banner follow the environment shown."""
        environment = self.current()
        self.api_toggle.setEnabled(environment is not None)
        self.api_toggle.setChecked(environment is not None and environment.api_enabled)
        if environment is not None and not environment.api_enabled:
            self.api_banner.set_text(
                f"API access is disabled for {environment.name}: every token in it answers "
                "401. Turn on API access to let its tokens make requests again."
            )
            self.api_banner.show()
        else:
            self.api_banner.hide()

    # ----------------------------------------------------------------- API access

    @Slot(bool)
    def _api_toggled(self, enabled: bool) -> None:
        environment = self.current()
        if environment is None:
            return
        if not enabled and not self._confirm_off(environment.name):
            self.api_toggle.setChecked(True)
            return
        changed = self._attempt(
            "API Access", lambda: self._service.set_api_enabled(environment.name, enabled)
        )
        self.apiAccessChanged.emit()
        if changed:
            self._status(
                f"API access turned on for {environment.name}"
                if enabled
                else f"API access turned off for {environment.name}: its tokens get 401"
            )

    def _confirm_off(self, name: str) -> bool:
        """Ask before every token of *name* starts answering 401; with no token there, nothing
        stops working, so there is nothing to ask."""
        count = self._service.environment(name).token_count
        if not count:
            return True
        return messages.confirm(
            self.window(),
            "Turn Off API Access",
            f"Turn off API access for {name}?",
            f"Every token in {name} ({plural(count, 'token')}) will answer 401 until API access "
            "is turned on again.",
            accept="Turn off",
            destructive=True,
        )


__all__ = ["ALL_ENVIRONMENTS", "EnvironmentBar"]
