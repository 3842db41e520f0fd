"""Manufacturing orders: the list with search and a status filter, and the highlighted order's
operations with their progress (good / ordered, scrap, where each runs). F4 opens a machine's
queue, which planners reorder with the keyboard."""

from __future__ import annotations

from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Label, Select, Static

from factoryos.client import ClientError
from factoryos.orders.order_models import OperationOut, OrderOut, OrderSummary
from tui.markup import escape
from tui.screens.base import AppScreen
from tui.widgets.field_error import FieldError
from tui.widgets.header import Header

STATUSES = ("planned", "released", "running", "paused", "completed", "cancelled")
PAGE = 200  # one screenful is far less; searching narrows a long list


class OrdersScreen(AppScreen):
    ACTION_PERMISSIONS = {"dispatch": ("production.plan",), "release": ("orders.act",), "cancel_order": ("orders.act",)}
    BINDINGS = [
        *AppScreen.BINDINGS,
        Binding("f2", "focus_search", "Search", tooltip="Search orders by number, product or customer.", id="search"),
        Binding("f3", "focus_status", "Status", tooltip="Show only orders in one status.", id="status"),
        Binding("f4", "queue", "Queue", tooltip="The queue of the machine the chosen operation is on.", id="queue"),
        Binding("f5", "dispatch", "Dispatch", tooltip="Put the chosen operation into a machine's queue.",
                id="dispatch"),
        Binding("f6", "release", "Release", tooltip="Release the chosen order to the floor, or take it back to planned.",
                id="release"),
        Binding("f7", "cancel_order", "Cancel", tooltip="Cancel the chosen order (with a reason).",
                id="cancel-order"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Load the orders again.", show=False),
    ]
    HELP = """\
**Orders**

**F2** search (number, product, customer; **Enter** applies), **F3** status filter.
**↑/↓** in the list shows each order's operations below. **Tab** moves to the operations;
**F4** opens the queue of the highlighted operation's machine; planners put an operation into
a machine's queue with **F5**. **F6** releases a planned order to the floor (or takes a
released one back to planned); **F7** cancels an order, with a reason for the audit log.
"""
    AUTO_FOCUS = "#orders-table"
    DEFAULT_CSS = """
    OrdersScreen #orders-filters { height: 3; }
    OrdersScreen #orders-search { width: 1fr; }
    OrdersScreen #orders-status { width: 22; }
    OrdersScreen #orders-table { height: 3fr; }
    OrdersScreen #order-detail { height: 1; padding: 0 1; text-style: bold; }
    OrdersScreen #ops-table { height: 2fr; min-height: 4; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[OrderSummary] = []
        self.order: OrderOut | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="orders-filters"):
            yield Label("Search", classes="form-label")
            yield Input(placeholder="order, product or customer", max_length=60, id="orders-search")
            yield Select[str]([(s.capitalize(), s) for s in STATUSES], prompt="every status", id="orders-status")
        table = DataTable(id="orders-table", cursor_type="row", zebra_stripes=True)
        for label, width in (("Order", 12), ("Product", 20), ("Qty", 7), ("Due", 10), ("Status", 10), ("Machine", 9)):
            table.add_column(label, width=width)
        yield table
        yield Static("", id="order-detail", markup=False)
        ops = DataTable(id="ops-table", cursor_type="row")
        for label, width in (("Op", 4), ("Operation", 16), ("Machine", 9), ("Status", 10), ("Good/Qty", 13),
                             ("Scrap", 6)):
            ops.add_column(label, width=width)
        yield ops
        yield FieldError(id="ops-error")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_focus_search(self) -> None:
        self.query_one("#orders-search", Input).focus()

    def action_focus_status(self) -> None:
        self.query_one("#orders-status", Select).focus()

    @on(Input.Submitted, "#orders-search")
    def _search(self) -> None:
        self.load()
        self.query_one("#orders-table", DataTable).focus()

    @on(Select.Changed, "#orders-status")
    def _status(self) -> None:
        self.load()

    # -- list -------------------------------------------------------------------------------------

    @work(exclusive=True, group="orders", exit_on_error=False)
    async def load(self) -> None:
        q = self.query_one("#orders-search", Input).value.strip() or None
        status = self.query_one("#orders-status", Select).value
        page = await self.api.orders(q=q, status=None if status is Select.NULL else str(status), limit=PAGE)
        self.orders = list(page.items)
        table = self.query_one("#orders-table", DataTable)
        keep = self.order.id if self.order else None
        table.clear()
        for o in self.orders:
            # Escaped: ERP numbers and names may hold "[…]", which a table cell would read as markup.
            table.add_row(escape(o.job_number), escape(o.product_name or o.product), str(o.quantity),
                          f"{o.due_date:%Y-%m-%d}", o.status, escape(where_runs(o)), key=str(o.id))
        if keep is not None and str(keep) in table.rows:
            table.move_cursor(row=table.get_row_index(str(keep)))
        if not self.orders:
            self.order = None
            self.query_one("#ops-table", DataTable).clear()
            filtered = q is not None or status is not Select.NULL
            self.query_one("#order-detail", Static).update(
                "No order matches: change the search or the status." if filtered else "No orders yet.")
        else:
            self.load_order(self._highlighted_id() or self.orders[0].id)

    def _highlighted_id(self) -> UUID | None:
        table = self.query_one("#orders-table", DataTable)
        if not table.row_count:
            return None
        return UUID(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    @on(DataTable.RowHighlighted, "#orders-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and (self.order is None or str(self.order.id) != event.row_key.value):
            self.load_order(UUID(str(event.row_key.value)))

    # -- detail -----------------------------------------------------------------------------------

    @work(exclusive=True, group="order", exit_on_error=False)
    async def load_order(self, order_id: UUID) -> None:
        try:
            order = await self.api.order(order_id)
        except ClientError as exc:
            if exc.code in ("order_not_found", "job_not_found"):
                self.load()  # deleted meanwhile
                return
            raise
        self.show_order(order)

    def show_order(self, order: OrderOut) -> None:
        self.order = order
        product = order.product_name or order.product
        customer = f" · {order.customer}" if order.customer else ""
        self.query_one("#order-detail", Static).update(
            f"{order.job_number} · {product} · {order.good}/{order.quantity} good · due {order.due_date:%d %b}"
            f"{customer}")
        ops = self.query_one("#ops-table", DataTable)
        ops.clear()
        for op in order.operations:
            where = op.machine_code or ("any" if not op.allowed else "–")
            ops.add_row(str(op.seq), escape(op.name), escape(where), op.status, f"{op.good}/{op.quantity}{progress(op.good, op.quantity)}",
                        str(op.scrap), key=str(op.id))

    @property
    def operation(self) -> OperationOut | None:
        """The operation highlighted in the lower table."""
        ops = self.query_one("#ops-table", DataTable)
        if self.order is None or not ops.row_count:
            return None
        key = ops.coordinate_to_cell_key(ops.cursor_coordinate).row_key.value
        return next((o for o in self.order.operations if str(o.id) == key), None)

    def action_queue(self) -> None:
        from tui.screens.machine_queue import QueueScreen

        machine_id = None
        if self.order is not None and self.order.operations:
            op = self.operation
            if op is None or op.machine_id is None:
                op = next((o for o in self.order.operations if o.machine_id is not None), None)
            machine_id = op.machine_id if op is not None else None
        if machine_id is None and self.order is not None:
            machine_id = self.order.machine_id
        self.app.push_screen(QueueScreen(machine_id))

    def action_release(self) -> None:
        order = self.order
        if order is None:
            return
        if order.status not in ("planned", "released"):
            self.query_one("#ops-error", FieldError).show(
                f"{order.job_number} is {order.status}: only a planned order is released, and only a released one "
                "taken back.")
            return
        status = "released" if order.status == "planned" else "planned"
        title = (f"Release {order.job_number} to the floor?" if status == "released"
                 else f"Take {order.job_number} back to planned?")
        self._change_status(order, title, status)

    def action_cancel_order(self) -> None:
        order = self.order
        if order is None:
            return
        if order.status in ("completed", "cancelled"):
            self.query_one("#ops-error", FieldError).show(f"{order.job_number} is already {order.status}.")
            return
        self._change_status(order, f"Cancel {order.job_number}? Made parts stay counted.", "cancelled",
                            required="Say why the order is cancelled.")

    def _change_status(self, order: OrderOut, title: str, status: str, *, required: str | None = None) -> None:
        from tui.screens.reason_form import ReasonForm

        self.query_one("#ops-error", FieldError).clear()

        async def save(body: dict[str, str | None]) -> None:
            await self.api.set_order_status(order.id, status, reason=body.get("reason"))

        def done(body: dict[str, str | None] | None) -> None:
            if body is not None:
                self.notify(f"{order.job_number} is now {status}.", title="Order")
                self.load()

        placeholder = "Why (needed)" if required else "Why (optional)"
        self.app.push_screen(ReasonForm(title, placeholder=placeholder, required=required, save=save), done)

    def action_dispatch(self) -> None:
        self.query_one("#ops-error", FieldError).clear()
        order, op = self.order, self.operation
        if order is None or op is None:
            return
        if op.status not in ("released", "paused"):
            hint = " Release the order first." if op.status == "planned" else ""
            self.query_one("#ops-error", FieldError).show(
                f"Operation {op.seq} is {op.status}: only released or paused operations wait in a queue.{hint}")
            return
        self.pick_machine(order, op)

    @work(exclusive=True, group="dispatch", exit_on_error=False)
    async def pick_machine(self, order: OrderOut, op: OperationOut) -> None:
        from tui.screens.dispatch_form import DispatchForm

        if op.allowed:
            machines = [(f"{a.machine_code or a.machine_id} · {a.cycle_seconds} s per cycle, {a.parts_per_cycle} "
                         f"part{'' if a.parts_per_cycle == 1 else 's'}", str(a.machine_id)) for a in op.allowed]
        else:  # any machine, at its own ideal cycle
            machines = [(f"{m.code} · {m.name}", str(m.id))
                        for m in sorted(await self.api.machines(site_id=order.site_id), key=lambda m: m.code)]
        title = f"Queue {order.job_number} · {op.seq} {op.name} on"
        current = str(op.machine_id) if op.machine_id else None

        async def save(body: dict[str, str]) -> None:
            await self.api.dispatch_operation(op.id, UUID(body["machine_id"]))

        def done(body: dict[str, str] | None) -> None:
            if body is not None:
                code = next((label.split(" · ")[0] for label, key in machines if key == body["machine_id"]), "")
                self.notify(f"{order.job_number} · {op.seq} {op.name} queued on {code}.", title="Dispatched")
                self.load_order(order.id)

        self.app.push_screen(DispatchForm(title, machines, current, save=save), done)


def progress(good: int, quantity: int) -> str:
    """A short percentage after "good/qty" (a bar would not fit at 80 columns)."""
    if quantity <= 0:
        return ""
    return f" {min(good * 100 // quantity, 999)}%"


def where_runs(order: OrderSummary) -> str:
    """The list's Machine column: where the order runs now, else the machine it was planned for."""
    return ", ".join(order.running_on) or order.machine_code or ""
