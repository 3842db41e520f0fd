"""What every wizard step shares: its step name, what Next needs, and the data it saves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.containers import Vertical

from factoryos.client import FactoryClient
from tui.session import Session

if TYPE_CHECKING:
    from tui.screens.onboarding import OnboardingScreen


class WizardPane(Vertical):
    step: ClassVar[str]
    FIRST_FOCUS: ClassVar[str | None] = None  # selector of what gets focus when the step is shown

    @property
    def wizard(self) -> OnboardingScreen:
        return self.screen  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        return self.wizard.session

    @property
    def api(self) -> FactoryClient:
        return self.wizard.api

    def activate(self) -> None:
        """The step is shown (again): load what it lists."""

    def focus_first(self) -> None:
        if self.FIRST_FOCUS:
            for widget in self.query(self.FIRST_FOCUS):
                if widget.display and widget.focusable:
                    widget.focus()
                    return

    def blocker(self) -> str | None:
        """Why the step cannot be marked done yet (None: it can)."""
        return None

    def step_data(self) -> dict[str, Any]:
        return {}

    def already_done(self) -> bool:
        state = self.wizard.state
        return state is not None and state.step(self.step).status == "done"
