"""Two lines over the wizard: which step this is, and every step with its status."""

from __future__ import annotations

from textual.widgets import Static

from factoryos.onboarding.models import OnboardingOut

SHORT = {"connect_erp": "Connect ERP", "import_jobs": "Import Jobs", "configure_machines": "Machines",
         "setup_roles": "Roles", "invite_team": "Team", "complete": "Complete"}
MARKS = {"done": "✓", "skipped": "–", "pending": "○"}


def progress_line(state: OnboardingOut, showing: str) -> str:
    parts = []
    for s in state.steps:
        label = f"{MARKS[s.status]} {SHORT[s.step]}"
        if s.step == showing:
            parts.append(f"[reverse b] ▶ {SHORT[s.step]} [/]")
        elif s.status == "done":
            parts.append(f"[$success]{label}[/]")
        elif s.status == "skipped":
            parts.append(f"[$text-muted]{label}[/]")
        else:
            parts.append(label)
    return "  ".join(parts)


def open_steps(state: OnboardingOut) -> int:
    """Steps before Complete that were neither done nor skipped."""
    return sum(1 for s in state.steps if s.step != "complete" and s.status == "pending")


def finished_words(state: OnboardingOut) -> str:
    # "Complete" only when it is: a setup finished early still shows its open steps.
    left = open_steps(state)
    if not left:
        return "[$success]setup complete[/]"
    return f"[$warning]setup finished, {left} step{'s' if left != 1 else ''} still open[/]"


class StepBar(Static):
    DEFAULT_CSS = """
    StepBar { height: 2; padding: 0 1; }
    """

    def show(self, state: OnboardingOut, showing: str) -> None:
        names = [s.step for s in state.steps]
        index = names.index(showing) + 1
        title = state.step(showing).title
        done = f"  ·  {finished_words(state)}" if state.completed else ""
        self.update(f"[b]Company setup · step {index} of {len(names)}: {title}[/]{done}\n"
                    f"{progress_line(state, showing)}")
