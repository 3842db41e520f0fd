"""Small forms of the planning screen: a shift pattern, and a machine's target for a shift."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, SelectionList, Static

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _row(label: str, field: Any) -> Horizontal:
    return Horizontal(Label(label, classes="form-label"), field, classes="form-row")


class ShiftForm(ModalScreen[dict[str, Any] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel"), Binding("ctrl+s", "save", "Save", id="save")]
    HELP = "Local wall times `HH:MM`; an end at or before the start crosses midnight. **Space** ticks weekdays."

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("New shift pattern", classes="dialog-title")
            yield _row("Name", Input(placeholder="e.g. Early", id="s-name"))
            yield _row("Start", Input(placeholder="06:00", max_length=5, id="s-start"))
            yield _row("End", Input(placeholder="14:00", max_length=5, id="s-end"))
            yield SelectionList[int](*((d, i, i < 5) for i, d in enumerate(WEEKDAYS)), id="s-days")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
        yield Footer()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        days = sorted(self.query_one("#s-days", SelectionList).selected)
        self.dismiss({"name": self.query_one("#s-name", Input).value.strip(),
                      "start": self.query_one("#s-start", Input).value.strip(),
                      "end": self.query_one("#s-end", Input).value.strip(), "weekdays": days})

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TargetForm(ModalScreen[dict[str, Any] | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]
    HELP = "Type the target quantity for this machine and shift and press **Enter**."

    def __init__(self, title: str, target: int | None, job: str | None) -> None:
        super().__init__()
        self.title_text, self.target, self.job = title, target, job

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield _row("Target", Input(str(self.target or ""), restrict=r"[0-9]*", max_length=9, id="t-target"))
            yield _row("Job", Input(self.job or "", placeholder="optional", max_length=120, id="t-job"))
        yield Footer()

    @on(Input.Submitted)
    def _save(self) -> None:
        target = self.query_one("#t-target", Input).value.strip()
        if not target:
            self.notify("Enter a target quantity.", severity="warning")
            return
        job = self.query_one("#t-job", Input).value.strip()
        self.dismiss({"target_quantity": int(target), "job_ref": job or None})

    def action_cancel(self) -> None:
        self.dismiss(None)
