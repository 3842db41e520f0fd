"""Small forms of the Quality screen: open a nonconformance at the terminal, decide its disposition."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from factoryos.client import ClientError, FactoryClient
from factoryos.client.models import MachineOut
from factoryos.nonconformances.nc_models import MAX_QUANTITY
from tui.widgets.field_error import FieldError

DISPOSITIONS = (("Scrap", "scrap"), ("Rework", "rework"), ("Use as is", "use_as_is"),
                ("Return to supplier", "return_to_supplier"))
FORM_CSS = """
{name} .q-row {{ height: 3; }}
{name} .q-row Label {{ width: 12; padding: 1 1 0 0; }}
{name} .q-row Input, {name} .q-row Select {{ width: 1fr; }}
"""


class _Form(ModalScreen[Any]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", tooltip="Leave without saving.", id="cancel"),
        Binding("ctrl+s", "save", "Save", tooltip="Save and close.", id="save"),
    ]

    def __init__(self, api: FactoryClient) -> None:
        super().__init__()
        self.api = api

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, ".q-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, ".q-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:  # pragma: no cover - each form has its own
        raise NotImplementedError

    def buttons(self) -> ComposeResult:
        yield FieldError(id="q-error")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Save (Ctrl+S)", variant="primary", classes="q-save")
            yield Button("Cancel (Esc)", classes="q-cancel")

    def refused(self, exc: ClientError, fields: dict[str, str]) -> None:
        """The server's refusal at the field it names, else under the form."""
        target = fields.get(exc.field or "")
        self.query_one(f"#{target}-error" if target else "#q-error", FieldError).show(exc.detail)


def nc_quantity(text: str) -> Decimal | str:
    """The typed quantity, or why it cannot be one (said here: the server's refusal is in its words)."""
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        quantity = Decimal(0)
    if not quantity.is_finite() or quantity <= 0:
        return "Enter how many parts (more than 0)."
    if quantity > MAX_QUANTITY:
        return f"At most {MAX_QUANTITY} parts: check the number."
    if quantity != quantity.quantize(Decimal("0.001")):
        return "At most 3 decimals."
    return quantity


class NcForm(_Form):
    """Machine, how many, what is wrong: an NC opened at the terminal (dismisses with the new NC)."""

    DEFAULT_CSS = FORM_CSS.format(name="NcForm")

    def __init__(self, api: FactoryClient, machines: list[MachineOut], machine_id: Any = None) -> None:
        super().__init__(api)
        self.machines = machines
        self.machine_id = machine_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("New nonconformance", classes="dialog-title")
            with Horizontal(classes="q-row"):
                yield Label("Machine")
                yield Select[str]([(f"{m.code} {m.name}", str(m.id)) for m in self.machines],
                                  value=str(self.machine_id) if self.machine_id else Select.NULL,
                                  prompt="choose the machine", id="nc-machine")
            yield FieldError(id="nc-machine-error")
            with Horizontal(classes="q-row"):
                yield Label("Quantity")
                yield Input(placeholder="parts", max_length=15, id="nc-quantity")
            yield FieldError(id="nc-quantity-error")
            with Horizontal(classes="q-row"):
                yield Label("What")
                yield Input(placeholder="what is wrong", max_length=4000, id="nc-description")
            yield FieldError(id="nc-description-error")
            yield from self.buttons()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#nc-quantity" if self.machine_id else "#nc-machine").focus()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        for error in self.query(FieldError):
            error.clear()
        machine = self.query_one("#nc-machine", Select).value
        text = self.query_one("#nc-quantity", Input).value.strip().replace(",", ".")
        description = self.query_one("#nc-description", Input).value.strip()
        if machine is Select.NULL:
            self.query_one("#nc-machine-error", FieldError).show("Choose the machine.")
            return
        quantity = nc_quantity(text)
        if isinstance(quantity, str):
            self.query_one("#nc-quantity-error", FieldError).show(quantity)
            self.query_one("#nc-quantity", Input).focus()
            return
        if not description:
            self.query_one("#nc-description-error", FieldError).show("Say what is wrong.")
            self.query_one("#nc-description", Input).focus()
            return
        self.send({"machine_id": str(machine), "quantity": str(quantity), "description": description})

    @work(exclusive=True, group="nc-form", exit_on_error=False)
    async def send(self, body: dict[str, Any]) -> None:
        try:
            nc = await self.api.open_nonconformance(body)
        except ClientError as exc:
            if exc.transient:
                raise
            self.refused(exc, {"machine_id": "nc-machine", "quantity": "nc-quantity", "description": "nc-description"})
            return
        self.dismiss(nc)


class DispositionForm(_Form):
    """Decide what happens to the parts (dismisses with the updated NC)."""

    DEFAULT_CSS = FORM_CSS.format(name="DispositionForm")

    def __init__(self, api: FactoryClient, nc_id: Any, code: str, current: str | None = None) -> None:
        super().__init__(api)
        self.nc_id = nc_id
        self.code = code
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Disposition of {self.code}", classes="dialog-title")
            with Horizontal(classes="q-row"):
                yield Label("Decision")
                yield Select[str](DISPOSITIONS, value=self.current or "scrap", allow_blank=False, id="nc-disposition")
            with Horizontal(classes="q-row"):
                yield Label("Note")
                yield Input(placeholder="why, instructions (optional)", max_length=4000, id="nc-note")
            yield from self.buttons()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#nc-disposition", Select).focus()

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        self.query_one("#q-error", FieldError).clear()
        self.send(str(self.query_one("#nc-disposition", Select).value),
                  self.query_one("#nc-note", Input).value.strip() or None)

    @work(exclusive=True, group="nc-form", exit_on_error=False)
    async def send(self, disposition: str, note: str | None) -> None:
        try:
            nc = await self.api.disposition_nonconformance(self.nc_id, disposition, note)
        except ClientError as exc:
            if exc.transient:
                raise
            self.refused(exc, {})
            return
        self.dismiss(nc)
