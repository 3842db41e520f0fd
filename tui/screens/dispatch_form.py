"""Put an order's operation into a machine's queue: the machines its routing allows (any
machine when the routing names none), chosen with the arrow keys and Enter."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.screens.plan_forms import Save, SavingForm
from tui.widgets.field_error import FieldError


class DispatchForm(SavingForm):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel")]
    HELP = "Choose the machine with **↑/↓** and press **Enter**: the operation goes to the end of its queue."
    FIELDS = {"machine_id": "d-machines", "operation_id": "d-machines", "position": "d-machines"}
    DEFAULT_CSS = "DispatchForm #d-machines { height: auto; max-height: 12; }"

    def __init__(self, title: str, machines: list[tuple[str, str]], current: str | None, save: Save | None = None) -> None:
        super().__init__(save)
        self.title_text, self.machines, self.current = title, machines, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield OptionList(*(Option(Content(label), id=machine_id) for label, machine_id in self.machines), id="d-machines")
            yield FieldError(id="d-machines-error")
            yield FieldError(id="form-error")
        yield Footer()

    def on_mount(self) -> None:
        listing = self.query_one("#d-machines", OptionList)
        ids = [machine_id for _, machine_id in self.machines]
        if self.current in ids:
            listing.highlighted = ids.index(self.current)

    @on(OptionList.OptionSelected, "#d-machines")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.submit({"machine_id": event.option.id})

    def action_cancel(self) -> None:
        self.dismiss(None)
