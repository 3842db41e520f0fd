"""On the start screen of an owner or admin: the company setup is unfinished, press 0 to go on."""

from __future__ import annotations

from textual import work
from textual.screen import Screen
from textual.widgets import Static

from factoryos.client import ClientError
from factoryos.onboarding.models import OnboardingOut

MENU_KEY = "0"


def banner_text(state: OnboardingOut, company: str) -> str:
    if not any(s.status != "pending" for s in state.steps) and state.current_step == state.steps[0].step:
        return (f"[b]Set up {company}:[/] connect your ERP, import jobs, add machines, roles and your team. "
                f"Press [b]{MENU_KEY}[/] to start.")
    index = [s.step for s in state.steps].index(state.current_step) + 1
    return (f"[b]Company setup is not finished:[/] it stopped at step {index} of {len(state.steps)} "
            f"({state.step(state.current_step).title}). Press [b]{MENU_KEY}[/] to continue where you left off.")


class OnboardingBanner(Static):
    """Hidden unless the member may run the setup wizard and the company has not completed it."""

    DEFAULT_CSS = """
    OnboardingBanner { height: auto; margin-top: 1; padding: 0 1; border-left: thick $warning; display: none; }
    """

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self.reload()

    def _screen_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.reload()  # back from the wizard: it may have moved on or finished

    @work(exclusive=True, group="onboarding-banner", exit_on_error=False)
    async def reload(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        if session is None or not session.can("admin.system"):
            self.display = False
            return
        try:
            state = await session.api.onboarding()
        except ClientError:  # a hint, not worth an error: the start screen shows being offline already
            self.display = False
            return
        self.update(banner_text(state, session.me.company.name))
        self.display = not state.completed
