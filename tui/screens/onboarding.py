"""The company setup wizard: Connect ERP → Import Jobs → Configure Machines → Set Up Roles →
Invite Team → Complete.

The step a company is on lives on the server: every Next, Skip and Previous saves it
before the next step shows, so leaving (Escape) and signing in again, on any terminal,
resumes at the same step. Only the job file's bytes stay on this terminal.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer

from factoryos.onboarding.models import OnboardingOut
from factoryos.onboarding.steps import STEPS
from tui.screens.base import AppScreen
from tui.widgets.header import Header
from tui.widgets.step_bar import StepBar
from tui.widgets.wizard.base import WizardPane
from tui.widgets.wizard.complete_step import CompletePane
from tui.widgets.wizard.erp_file import ConnectErpPane
from tui.widgets.wizard.invite_step import InvitePane
from tui.widgets.wizard.job_import import ImportJobsPane
from tui.widgets.wizard.machines_step import MachinesPane
from tui.widgets.wizard.roles_step import RolesPane
from tui.widgets.wizard.upload import Upload

PANES: tuple[type[WizardPane], ...] = (ConnectErpPane, ImportJobsPane, MachinesPane, RolesPane, InvitePane,
                                       CompletePane)


def pane_id(step: str) -> str:
    return f"step-{step}"


class OnboardingScreen(AppScreen):
    CSS_PATH = "../styles/onboarding.tcss"
    BINDINGS = [
        Binding("escape", "back", "Leave", tooltip="Leave the wizard: it resumes at this step.", id="back"),
        Binding("f2", "previous", "Previous", tooltip="Go back one step.", id="wizard-previous"),
        Binding("f3", "skip", "Skip step", tooltip="Leave this step out for now and go on.", id="wizard-skip"),
        Binding("f4", "next", "Next", tooltip="Mark this step done and go on.", id="wizard-next"),
    ]
    HELP = """\
**Company setup**: six steps to get a new company going. **F4** marks a step done and goes
on, **F3** skips it, **F2** goes back one. Each step is saved on the server at once:
**Escape** leaves, and the wizard resumes at the same step next time (start menu **0**).
"""

    def __init__(self) -> None:
        super().__init__()
        self.state: OnboardingOut | None = None
        self.upload: Upload | None = None
        self.showing: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield StepBar("Loading the company setup…", id="wizard-steps")
        with ContentSwitcher(id="wizard-body"):
            for pane in PANES:
                yield pane(id=pane_id(pane.step))
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        if self.showing is not None:  # back from the Machines or Admin screen
            self.pane(self.showing).activate()

    @work(exclusive=True, group="wizard", exit_on_error=False)
    async def load(self) -> None:
        self.apply(await self.api.onboarding())

    def pane(self, step: str) -> WizardPane:
        return self.query_one(f"#{pane_id(step)}", WizardPane)

    def apply(self, state: OnboardingOut, show: str | None = None) -> None:
        """Take the server's state and show `show` (default: the step it says the company is on)."""
        self.state = state
        step = show or state.current_step
        self.showing = step
        self.query_one(StepBar).show(state, step)
        self.query_one(ContentSwitcher).current = pane_id(step)
        pane = self.pane(step)
        pane.activate()
        self.call_after_refresh(pane.focus_first)

    # -- moving between steps (each saved on the server first) ------------------------------------

    async def save_step(self, step: str, status: str, data: dict, *, stay: bool = False) -> None:
        state = await self.api.record_onboarding_step(step, status, data)
        if stay:
            self.state = state
            self.query_one(StepBar).show(state, step)
        else:
            self.apply(state)

    def action_next(self) -> None:
        if self.state is None or self.showing is None:
            return
        if self.showing == STEPS[-1]:
            self.finish()
            return
        pane = self.pane(self.showing)
        reason = pane.blocker()
        if reason:
            self.notify(reason, title="Not done yet", severity="warning")
            return
        self._advance(self.showing, pane.step_data())

    @work(exclusive=True, group="wizard-save", exit_on_error=False)
    async def _advance(self, step: str, data: dict) -> None:
        assert self.state is not None
        recorded = self.state.step(step)
        after = STEPS.index(self.state.current_step) > STEPS.index(step)
        if recorded.status == "done" and recorded.data == data and after:
            self.apply(self.state, show=STEPS[STEPS.index(step) + 1])  # saved already (the import does)
            return
        await self.save_step(step, "done", data)

    def action_skip(self) -> None:
        if self.state is None or self.showing is None:
            return
        if self.showing == STEPS[-1]:
            self.notify("This is the last step: press Finish (or F4).", title="Complete", severity="information")
            return
        self._skip(self.showing)

    @work(exclusive=True, group="wizard-save", exit_on_error=False)
    async def _skip(self, step: str) -> None:
        await self.save_step(step, "skipped", {})

    def action_previous(self) -> None:
        if self.showing is None or self.showing == STEPS[0]:
            return
        self._move(STEPS[STEPS.index(self.showing) - 1])

    @work(exclusive=True, group="wizard-save", exit_on_error=False)
    async def _move(self, step: str) -> None:
        self.apply(await self.api.move_onboarding(step))

    @work(exclusive=True, group="wizard-save", exit_on_error=False)
    async def finish(self) -> None:
        if self.state is None or not self.state.completed:
            self.state = await self.api.move_onboarding(STEPS[-1])
        self.notify(f"{self.session.me.company.name} is set up.", title="Setup complete")
        self.dismiss()

    def action_back(self) -> None:
        if self.state is not None and not self.state.completed:
            self.notify("The setup resumes at this step: press 0 on the start screen.", title="Setup saved")
        self.dismiss()
