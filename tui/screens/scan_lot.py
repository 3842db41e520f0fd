"""Material at the machine: the operator scans each lot as it is loaded.

The lot field takes what a barcode scanner sends (a burst of keys and Enter): a GS1-128 /
DataMatrix label or a plain lot number. The server checks the lot against the running order's
bill of materials, its status and expiry; a refusal is shown under the field in operator words,
and the field is selected so that the next scan replaces it. A quantity typed before the scan
is consumed at once; without one the lot is loaded and consumed by the BOM when the order's
finished lot is made: by itself when the order's last operation completes. F6 puts the good
parts counted so far (not yet in a lot) in a lot at once, for a partial lot or a correction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label, Static

from factoryos.client import ClientError, SessionEnded
from factoryos.client.models import MachineOut
from factoryos.materials.scan_models import ScanOut
from tui.errors import describe
from tui.screens.base import AppScreen
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header
from tui.widgets.scan_input import ScanInput

GS_SHOWN = "␝"  # the group separator, as the field shows it (the server reads it as FNC1)


class LotScanInput(ScanInput):
    """A scan field that keeps GS1's group separator (Ctrl+]) instead of dropping it."""

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "\x1d" or event.key in ("ctrl+right_square_bracket", "ctrl+]"):
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(GS_SHOWN)
            return
        await super()._on_key(event)


def scan_refusal(exc: ClientError) -> str:
    """The server's refusal of a scanned lot, in an operator's words."""
    extra, code = exc.extra or {}, exc.code
    if code == "lot_not_on_bom":
        return f"Wrong material: {exc.detail}"
    if code in ("lot_blocked", "lot_quarantine", "lot_expired"):
        return f"Do not load it: {exc.detail}."
    if code == "lot_wrong_item":
        return f"The label does not match the lot: {exc.detail}."
    if code == "lot_not_found":
        return "No such lot in stock: check the label, or have it received first."
    if code == "scan_unknown_ai":
        return f"Unknown code on the label at “{extra.get('unknown', '')}”: read {extra.get('read', '')}."
    if code == "scan_unreadable":
        return f"The label could not be read: {extra.get('read', exc.detail)}."
    if code == "no_operation_running":
        return "Nothing runs on this machine: start the order first."
    if code == "bom_missing":
        return "This order has no bill of materials: ask the planner."
    if code == "insufficient_stock":
        return f"Not that much in stock: {extra.get('available', '?')} left in this lot."
    if code == "output_nothing_made":
        return "No good parts yet that are not already in a lot."
    if exc.transient:
        return "The server cannot be reached: try again in a moment."
    return describe(exc).message


def scan_done(out: ScanOut) -> str:
    """What a scan did, in the list's last column: lot and item have their own columns (the whole
    sentence is in the line under the list)."""
    if not out.movements:
        return f"loaded for {out.order_number}"
    used = sum((m.entered_quantity for m in out.movements), Decimal(0))
    return f"used {used.normalize():f} {out.movements[0].entered_unit}"


class ScanLotScreen(AppScreen):
    ACTION_PERMISSIONS = {"finish_lot": ("inventory.move",)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f2", "focus_quantity", "Quantity", tooltip="Type a quantity to consume with the next scan.",
                id="scan-quantity"),
        Binding("f6", "finish_lot", "Finished lot", tooltip="Put the good parts not yet in a lot in a lot now, "
                "linked to every lot loaded (completing the order does it by itself).", id="scan-finish"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Load the running order again.", show=False),
    ]
    HELP = """\
**Material at the machine**

Scan the label of each lot as you load it on the machine. The lot must be on the running
order's bill of materials, available and not expired. Type a **quantity** first (F2) to book
that much at once; otherwise the lot is used by the bill of materials per good part.
Completing the order's last operation makes its finished lot, linked to every lot loaded.
**F6** makes a lot at once of the good parts not yet in one (a partial lot).
"""
    AUTO_FOCUS = "#lot-code"
    DEFAULT_CSS = """
    ScanLotScreen #scan-order { height: 2; padding: 0 1; border-left: thick $primary; }
    ScanLotScreen #scan-order.-idle { border-left: thick $panel; color: $text-muted; }
    ScanLotScreen #scan-table { height: 1fr; }
    ScanLotScreen #scan-result { height: 2; padding: 0 1; }
    ScanLotScreen #scan-qty { width: 14; }
    """

    def __init__(self, machine: MachineOut, zone: ZoneInfo | None = None) -> None:
        super().__init__()
        self.machine = machine
        self.zone = zone or ZoneInfo("UTC")
        self.operation_id: Any = None  # the running (or last) operation: where the finished lot comes from
        self.order_number: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.machine.code} · {self.machine.name}: loading…", id="scan-order", markup=False)
        with Horizontal(classes="form-row"):
            yield Label("Lot", classes="form-label")
            yield LotScanInput(placeholder="scan the lot's label", max_length=200, id="lot-code")
        yield FieldError(id="lot-error")
        with Horizontal(classes="form-row"):
            yield Label("Quantity", classes="form-label")
            yield Input(placeholder="by BOM", max_length=20, id="scan-qty", restrict=r"[0-9.,]*")
        yield FieldError(id="qty-error")
        table = DataTable(id="scan-table", cursor_type="row", zebra_stripes=True)
        table.can_focus = False
        for label, width in (("Time", 8), ("Lot", 16), ("Item", 12), ("Result", 34)):
            table.add_column(label, width=width)
        yield table
        yield Static("", id="scan-result", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"FactoryOS — material at {self.machine.code}"
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_focus_quantity(self) -> None:
        self.query_one("#scan-qty", Input).focus()

    @work(exclusive=True, group="scan-load", exit_on_error=False)
    async def load(self) -> None:
        try:
            run = await self.api.machine_run(self.machine.id)
        except ClientError as exc:
            if not exc.transient:
                raise
            self.factory.online = False
            return
        self.factory.online = True
        line = self.query_one("#scan-order", Static)
        line.set_class(run is None, "-idle")
        if run is None:
            line.update(f"Nothing runs on {self.machine.code}: start the order, then scan its material."
                        + (f"\nLast: {self.order_number}: its finished lot is made when it completes."
                           if self.order_number else ""))
            return
        self.operation_id, self.order_number = run.operation_id, run.job_number
        line.update(f"Running {run.job_number} · {run.product_name} · {run.operation_seq} {run.operation_name}\n"
                    f"Good {run.good} / {run.quantity}")

    @on(Input.Submitted, "#scan-qty")
    def _quantity_done(self) -> None:
        self.query_one("#lot-code", LotScanInput).focus()

    @on(ScanInput.Submitted, "#lot-code")
    def _scanned(self, event: ScanInput.Submitted) -> None:
        field = self.query_one("#lot-code", LotScanInput)
        field.take_overflow()
        code = event.value.strip()
        self._clear()
        if not code:
            self._refuse_at("lot-error", "Scan the lot's label.")
            return
        raw = self.query_one("#scan-qty", Input).value.strip().replace(",", ".")
        quantity = None
        if raw:
            try:
                quantity = Decimal(raw)
            except InvalidOperation:
                quantity = None
            if quantity is None or quantity <= 0:
                self._refuse_at("qty-error", "The quantity is a number above zero, or empty to use the BOM.")
                return
        self.send_scan(code.replace(GS_SHOWN, "\x1d"), quantity)

    @work(group="scan-send", exclusive=False, exit_on_error=False)
    async def send_scan(self, code: str, quantity: Decimal | None) -> None:
        self.factory.sending += 1
        try:
            out = await self.api.scan_lot(self.machine.id, code, quantity)
        except SessionEnded:
            raise
        except ClientError as exc:
            self._refuse_at("lot-error", scan_refusal(exc))
            self._row(code.replace("\x1d", GS_SHOWN), "", "refused: " + scan_refusal(exc).split(":")[0].lower())
            return
        finally:
            self.factory.sending -= 1
        self._row(out.lot.number, out.lot.item_number, scan_done(out))
        self._result(out.message + (f" · also read: {', '.join(f'({e.ai}) {e.value}' for e in out.read.other)}"
                                    if out.read.other else ""))
        self.query_one("#lot-code", LotScanInput).value = ""
        self.query_one("#scan-qty", Input).value = ""

    def action_finish_lot(self) -> None:
        if self.operation_id is None:
            self._refuse_at("lot-error", "No operation ran here yet: nothing to put in a lot.")
            return
        self.finish_lot()

    @work(group="scan-send", exclusive=True, exit_on_error=False)
    async def finish_lot(self) -> None:
        self._clear()
        try:
            out = await self.api.produce_output(self.operation_id)
        except SessionEnded:
            raise
        except ClientError as exc:
            self._refuse_at("lot-error", scan_refusal(exc))
            return
        inputs = ", ".join(c.lot_number for c in out.consumed) or "no lot scanned"
        self._row(out.lot.number, out.lot.item_number, f"made {out.lot.quantity} from {inputs}")
        self._result(f"Finished lot {out.lot.number}: {out.lot.quantity} {out.lot.item_number} from {inputs}."
                     + (f" Not traced: {', '.join(out.missing)}." if out.missing else ""))

    # -- showing -----------------------------------------------------------------------------------

    def _row(self, lot: str, item: str, result: str) -> None:
        table = self.query_one("#scan-table", DataTable)
        table.add_row(datetime.now(self.zone).strftime("%H:%M:%S"), lot, item, result)
        table.move_cursor(row=table.row_count - 1)

    def _refuse_at(self, where: str, text: str) -> None:
        self.query_one(f"#{where}", FieldError).show(text)
        field = self.query_one("#lot-code" if where == "lot-error" else "#scan-qty", Input)
        field.add_class("-invalid")
        field.select_all()  # the next scan replaces what was refused
        self._result("Not done: see the message above.")

    def _clear(self) -> None:
        for line in self.query(FieldError):
            line.clear()
        for field in self.query(Input):
            field.remove_class("-invalid")
        self._result("")

    def _result(self, text: str) -> None:
        stamp = datetime.now(self.zone).strftime("%H:%M:%S")
        self.query_one("#scan-result", Static).update(f"{stamp}  {text}" if text else "")


def open_from_operator(screen: Any) -> None:
    """F9 on the operator screen: the chosen machine's material scanning."""
    machine, ref = screen.machine, screen.reference
    if machine is None:
        screen.query_one("#machine-error", FieldError).show("Type the machine code first: its material opens with F9.")
        return
    site = ref.site(machine.site_id) if ref else None
    screen.app.push_screen(ScanLotScreen(machine, ZoneInfo(site.timezone) if site else None))
