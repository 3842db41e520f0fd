"""Change an order's status from the Orders screen: release it to the floor, take it back to
planned, or cancel it. The reason goes into the audit log; a cancellation needs one."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Input, Static

from tui.screens.plan_forms import Save, SavingForm
from tui.widgets.field_error import FieldError


class OrderStatusForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Back", id="cancel")]
    HELP = "Type why (kept in the audit log) and press **Enter**; **Esc** leaves the order as it is."
    FIELDS = {"reason": "o-reason"}

    def __init__(self, title: str, status: str, *, reason_required: bool, save: Save | None = None) -> None:
        super().__init__(save)
        self.title_text, self.status, self.reason_required = title, status, reason_required

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            hint = "Why (needed)" if self.reason_required else "Why (optional)"
            yield Input(placeholder=hint, max_length=500, id="o-reason")
            yield FieldError(id="o-reason-error")
            yield FieldError(id="form-error")
        yield Footer()

    @on(Input.Submitted, "#o-reason")
    def _entered(self) -> None:
        reason = self.query_one("#o-reason", Input).value.strip()
        if self.reason_required and not reason:
            self.query_one("#o-reason-error", FieldError).show("Say why the order is cancelled.")
            return
        self.submit({"status": self.status, "reason": reason or None})

    def action_cancel(self) -> None:
        self.dismiss(None)
