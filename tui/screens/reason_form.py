"""Ask why before a change that the audit log should explain: releasing, taking back or
cancelling an order, pausing a run. Enter sends; Esc leaves things as they are. Where a reason
is required, an empty one is refused at the field."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Input, Static

from tui.screens.plan_forms import Save, SavingForm
from tui.widgets.field_error import FieldError


class ReasonForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Back", id="cancel")]
    HELP = "Type why (kept in the audit log) and press **Enter**; **Esc** leaves things as they are."
    FIELDS = {"reason": "o-reason"}

    def __init__(self, title: str, *, placeholder: str = "Why (optional)", required: str | None = None,
                 save: Save | None = None) -> None:
        """`required`: the message shown when Enter is pressed with no reason (None: optional)."""
        super().__init__(save)
        self.title_text, self.placeholder, self.required = title, placeholder, required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Input(placeholder=self.placeholder, max_length=500, id="o-reason")
            yield FieldError(id="o-reason-error")
            yield FieldError(id="form-error")
        yield Footer()

    @on(Input.Submitted, "#o-reason")
    def _entered(self) -> None:
        reason = self.query_one("#o-reason", Input).value.strip()
        if self.required and not reason:
            self.query_one("#o-reason-error", FieldError).show(self.required)
            return
        self.submit({"reason": reason or None})

    def action_cancel(self) -> None:
        self.dismiss(None)
