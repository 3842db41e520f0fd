"""Step 6, Complete: what was done and skipped, and Finish."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from factoryos.onboarding.models import OnboardingOut, StepOut
from tui.widgets.step_bar import open_steps
from tui.widgets.wizard.base import WizardPane


def _count(n: Any, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _detail(s: StepOut) -> str:
    d: dict[str, Any] = s.data
    if s.step == "connect_erp" and "file_name" in d:
        return f"{d['file_name']}: {d.get('rows', '?')} rows previewed"
    if s.step == "import_jobs" and "imported" in d:
        skipped = f", {d['skipped']} skipped" if d.get("skipped") else ""
        return f"{_count(d['imported'], 'job')} imported{skipped}"
    if s.step == "configure_machines" and "machines" in d:
        return _count(d["machines"], "machine")
    if s.step == "invite_team" and "invites" in d:
        return f"{_count(d['invites'], 'invite')} created"
    return ""


def summary_lines(state: OnboardingOut) -> str:
    lines = []
    for s in state.steps[:-1]:
        mark = {"done": "[$success]✓ done[/]   ", "skipped": "[$text-muted]– skipped[/]", "pending": "○ open   "}
        detail = _detail(s)
        lines.append(f"{mark[s.status]}  [b]{s.title}[/]" + (f" — {detail}" if detail else ""))
    return "\n".join(lines)


class CompletePane(WizardPane):
    step = "complete"
    FIRST_FOCUS = "#wc-finish"
    HELP = """\
**Complete**: what this setup did. Skipped steps can be done any time: the wizard stays
in the start menu (**0**), and each area has its own screen (Machines, Admin).
"""

    def compose(self) -> ComposeResult:
        yield Static("", id="wc-title")
        yield Static("", id="wc-summary")
        yield Button("Finish", variant="success", id="wc-finish")

    def activate(self) -> None:
        state = self.wizard.state
        if state is None:
            return
        company = self.session.me.company.name
        left = open_steps(state)
        if left:
            title = (f"[b]{company}: {left} step{'s' if left != 1 else ''} still open.[/] Finish now and do "
                     f"{'them' if left != 1 else 'it'} any time from the start menu.")
        else:
            title = f"[b]{company} is set up.[/] Everything below can be changed later from the start menu."
        self.query_one("#wc-title", Static).update(title)
        self.query_one("#wc-summary", Static).update(summary_lines(state))

    @on(Button.Pressed, "#wc-finish")
    def _finish(self) -> None:
        self.wizard.finish()
