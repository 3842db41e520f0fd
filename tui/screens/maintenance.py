"""Maintenance: the plans due (or soon) and the open work orders, read again every poll interval.
**Enter** on a work order opens it (checklist, start, finish); **F5** shows closed ones too;
**F8** MTBF and MTTR per asset and failure reason."""

from __future__ import annotations

from uuid import UUID

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from factoryos.client import ClientError
from factoryos.maintenance.models import PlanOut, TriggerState, WorkOrderOut
from tui.screens.maintenance_reliability import ReliabilityScreen
from tui.screens.polling import PollingScreen
from tui.widgets.header import Header

STATUS = {"requested": "requested", "approved": "approved", "scheduled": "scheduled", "in_progress": "in progress",
          "done": "done", "cancelled": "cancelled"}
UNITS = {"calendar": "d", "run_hours": "h", "cycles": "cyc"}


def left(t: TriggerState) -> str:
    """How far a trigger is from due, in its own unit ("-3.5 h" past due)."""
    value = t.remaining
    text = f"{value:,.0f}" if t.trigger == "cycles" else f"{value:,.1f}"
    return f"{text} {UNITS[t.trigger]}"


def most_urgent(plan: PlanOut) -> TriggerState | None:
    return min(plan.triggers, key=lambda t: t.remaining / t.interval if t.interval else 0, default=None)


class MaintenanceScreen(PollingScreen):
    BINDINGS = [
        *PollingScreen.BINDINGS,
        Binding("enter", "open", "Open", tooltip="Open the highlighted work order.", id="open", show=False),
        Binding("f5", "toggle_closed", "All/open", tooltip="Show closed work orders too, or only open ones.",
                id="closed"),
        Binding("f8", "reliability", "MTBF/MTTR", tooltip="MTBF and MTTR per asset and failure reason.",
                id="reliability"),
        Binding("ctrl+r", "refresh", "Reload", tooltip="Read the due list and work orders again.", show=False),
    ]
    HELP = """\
**Maintenance**

Top: plans due or within their lead, most urgent first (what is left: days, run hours or
cycles; negative is past due). A plan that fell due has its work order (the server makes it).
Bottom: work orders. **Tab** moves between the lists, **Enter** opens a work order,
**F5** shows closed ones too, **F8** shows MTBF and MTTR per asset and failure reason.
"""
    AUTO_FOCUS = "#mt-orders"
    DEFAULT_CSS = """
    MaintenanceScreen .mt-title { height: 1; padding: 0 1; text-style: bold; }
    MaintenanceScreen #mt-due { height: 1fr; min-height: 4; }
    MaintenanceScreen #mt-orders { height: 2fr; min-height: 5; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.show_closed = False
        self.orders: list[WorkOrderOut] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Due", classes="mt-title", id="mt-due-title")
        due = DataTable(id="mt-due", cursor_type="row", zebra_stripes=True)
        for label, width in (("Asset", 20), ("Plan", 24), ("State", 6), ("Left", 12), ("Order", 8)):
            due.add_column(label, width=width)
        yield due
        yield Static("Open work orders", classes="mt-title", id="mt-orders-title")
        orders = DataTable(id="mt-orders", cursor_type="row", zebra_stripes=True)
        for label, width in (("Order", 8), ("Asset", 18), ("Kind", 10), ("Status", 11), ("Title", 23)):
            orders.add_column(label, width=width)
        yield orders
        yield Footer()

    def on_mount(self) -> None:
        self.poll()

    @work(exclusive=True, group="poll", exit_on_error=False)
    async def poll(self) -> None:
        try:
            due = await self.api.maintenance_due()
            page = await self.api.work_orders(open_=None if self.show_closed else True)
        except ClientError as exc:
            if not exc.transient:
                raise
            # Said once when the server goes away, not at every poll; the lists keep the last figures.
            if self.factory.online:
                self.factory.show_error(exc)
            self.factory.online = False
        else:
            self.factory.online = True
            self._show(due, page.items)
        finally:
            self.poll_again()

    def _show(self, due: list[PlanOut], orders: list[WorkOrderOut]) -> None:
        numbers = {o.id: o.number for o in orders}
        table = self.query_one("#mt-due", DataTable)
        table.clear()
        for p in due:
            t = most_urgent(p)
            table.add_row(p.asset_name, p.name, p.state, left(t) if t else "",
                          numbers.get(p.open_work_order_id, "") if p.open_work_order_id else "", key=str(p.id))
        self.query_one("#mt-due-title", Static).update(f"Due ({len(due)})" if due else "Due: nothing")
        self.orders = sorted(orders, key=lambda o: o.number, reverse=True)
        rows = self.query_one("#mt-orders", DataTable)
        keep = rows.cursor_row
        rows.clear()
        for o in self.orders:
            rows.add_row(o.number, o.asset_name, o.kind, STATUS[o.status], o.title, key=str(o.id))
        if self.orders:
            rows.move_cursor(row=min(keep, len(self.orders) - 1))
        what = "Work orders" if self.show_closed else "Open work orders"
        self.query_one("#mt-orders-title", Static).update(f"{what} ({len(self.orders)})")

    def action_toggle_closed(self) -> None:
        self.show_closed = not self.show_closed
        self.action_refresh()

    @on(DataTable.RowSelected, "#mt-orders")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(UUID(str(event.row_key.value)))

    @on(DataTable.RowSelected, "#mt-due")
    def _due_selected(self, event: DataTable.RowSelected) -> None:
        plan_id = str(event.row_key.value)
        wo = next((o for o in self.orders if o.plan_id is not None and str(o.plan_id) == plan_id), None)
        if wo is not None:
            self._open(wo.id)

    def action_open(self) -> None:
        table = self.query_one("#mt-orders", DataTable)
        if self.orders and table.cursor_row < len(self.orders):
            self._open(self.orders[table.cursor_row].id)

    def action_reliability(self) -> None:
        self.app.push_screen(ReliabilityScreen())

    def _open(self, wo_id: UUID) -> None:
        from tui.screens.maintenance_order import WorkOrderScreen

        self.app.push_screen(WorkOrderScreen(wo_id))
