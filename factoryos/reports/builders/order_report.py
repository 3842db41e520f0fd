"""The report of one manufacturing order: its operations, their runs on machines, counts and OEE.

    report = build_order_report(conn, tenant_id, number="MO-1001", generated_by="Ann", now=now)
    render(report.document, "pdf", stream)  # named report.filename(ReportFormat.PDF)

Each run's figures come from the KPI loader for its machine and time (`spans.span_totals`),
so they equal `/api/v1/kpis/oee` for that machine and span; an operation's and the order's
figures are sums of those totals, divided last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.kpi import KpiTotals, rollup
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.plant.sites import Sites
from factoryos.reports import sections as s
from factoryos.reports.builders.naming import safe_part
from factoryos.reports.builders.order_data import OrderData, OrderOperation, find_order, load_order
from factoryos.reports.builders.spans import span_totals
from factoryos.reports.model import (
    RATIO_DISPLAY_CAP,
    BarChart,
    Column,
    ReportDocument,
    ReportHeader,
    ReportKind,
    Section,
    TableSection,
    TotalRule,
    ValueType,
)
from factoryos.reports.render import ReportFormat
from factoryos.reports.values import format_instant
from factoryos.schema.tenancy import companies

T = ValueType

ORDER_COLUMNS = (
    Column("order", "Order"), Column("product", "Product"), Column("customer", "Customer"),
    Column("quantity", "Quantity", T.INT), Column("due_date", "Due date"), Column("status", "Status"),
    Column("good", "Finished", T.INT), Column("progress", "Progress", T.PERCENT, formula="{good}/{quantity}"),
)
OPERATION_COLUMNS = (
    Column("seq", "Seq", T.INT, total=TotalRule.NONE),
    Column("operation", "Operation"),
    Column("machines", "Machines"),
    Column("status", "Status"),
    Column("quantity", "Ordered", T.INT, total=TotalRule.NONE),
    Column("good", "Good", T.INT, total=TotalRule.NONE),
    Column("scrap", "Scrap", T.INT, total=TotalRule.SUM),
    Column("setup", "Setup", T.DURATION, total=TotalRule.SUM),
    Column("standard_setup", "Std. setup", T.DURATION, total=TotalRule.SUM),
    Column("start", "Start", T.DATETIME),
    Column("end", "End", T.DATETIME),
    Column("oee", "OEE", T.PERCENT, display_cap=RATIO_DISPLAY_CAP),
)
RUN_KEYS = (
    Column("operation", "Operation"), Column("machine", "Machine"), Column("operator", "Operator"),
    Column("start", "Start", T.DATETIME), Column("end", "End", T.DATETIME),
    Column("setup", "Setup", T.DURATION, total=TotalRule.SUM),
)
OPERATIONS_NOTE = ("Good and scrap are the parts counted to each operation (machine counts while it ran, entries "
                   "booked to it), or the operator's final figures once given. Setup is each run's changeover: until "
                   "setup was declared done, or else until its first counted part.")
RUNS_NOTE = ("Each run's times, counts and OEE are those of its machine over the run's time inside the site's "
             "shifts (breaks excluded), with ideal time at the product's standard; totals are summed first and "
             "divided last.")


@dataclass(frozen=True)
class BuiltOrderReport:
    order: OrderData
    document: ReportDocument

    def filename(self, fmt: ReportFormat) -> str:
        return f"order-{safe_part(self.order.number)}.{fmt.value}"


def _site(conn: Connection, tenant_id: UUID, order: OrderData) -> SiteRecord | None:
    site_id = order.site_id
    if site_id is None and order.runs:
        site_id = order.machines[order.runs[0].machine_id]["site_id"]
    return Sites(conn, tenant_id).get(site_id) if site_id is not None else None


def _period(order: OrderData, now: datetime) -> tuple[datetime, datetime]:
    runs = order.runs
    if not runs:
        start = min(order.created_at, now)
        return start, max(now, start + timedelta(seconds=1))
    start = runs[0].started_at
    end = max(r.end(now) for r in runs)
    return start, max(end, start + timedelta(seconds=1))


def _machine_label(machine: MachineRecord) -> str:
    return f"{machine['code']} {machine['name']}"


class _Figures:
    """The KPI loader's totals per run, and their sums per operation and for the order."""

    def __init__(self, conn: Connection, tenant_id: UUID, order: OrderData, now: datetime) -> None:
        runs = order.runs
        spans = [(order.machines[r.machine_id], r.started_at, r.end(now)) for r in runs]
        self.run: dict[UUID, KpiTotals] = {r.id: t for r, t in zip(runs, span_totals(conn, tenant_id, spans, now))}
        self.operation: dict[UUID, KpiTotals] = {
            o.id: rollup(self.run[r.id] for r in o.runs) for o in order.operations}
        self.order: KpiTotals = rollup(self.run.values())


def _order_table(order: OrderData) -> TableSection:
    progress = order.good / order.quantity if order.quantity else None
    row = (order.number, order.product, order.customer, order.quantity, order.due_date.isoformat(),
           order.status, order.good, progress)
    return TableSection("order", "Order", ORDER_COLUMNS, (row,))


def _operation_row(order: OrderData, op: OrderOperation, figures: _Figures, now: datetime) -> tuple:
    names = dict.fromkeys(_machine_label(order.machines[r.machine_id]) for r in op.runs)
    if not names and op.machine_id is not None:  # not run yet: where it is dispatched
        names[_machine_label(order.machines[op.machine_id])] = None
    setup = sum((r.setup for r in op.runs), timedelta())
    start = op.runs[0].started_at if op.runs else None
    end = None if not op.runs or any(r.ended_at is None for r in op.runs) else max(r.end(now) for r in op.runs)
    oee = s.production_figures(figures.operation[op.id]).oee if op.runs else None
    return (op.seq, op.name, ", ".join(names) or None, op.status, op.quantity, op.good, op.scrap,
            setup if op.runs else None, op.standard_setup, start, end, oee)


def _operations_table(order: OrderData, figures: _Figures, now: datetime) -> TableSection:
    rows = tuple(_operation_row(order, op, figures, now) for op in order.operations)
    setup = sum((r.setup for r in order.runs), timedelta())
    totals = (None, None, None, None, None, None, sum(o.scrap for o in order.operations), setup,
              sum((o.standard_setup for o in order.operations), timedelta()), None, None,
              s.production_figures(figures.order).oee if order.runs else None)
    return TableSection("operations", "Operations", OPERATION_COLUMNS, rows, totals, OPERATIONS_NOTE)


def _runs_table(order: OrderData, figures: _Figures) -> TableSection:
    label = {r.id: op.label for op in order.operations for r in op.runs}
    rows = []
    for run in order.runs:
        keys = (label[run.id], _machine_label(order.machines[run.machine_id]), run.operator, run.started_at,
                run.ended_at, run.setup)
        rows.append((keys, s.production_figures(figures.run[run.id])))
    table = s.production_table("runs", "Runs", RUN_KEYS, rows, totals=s.production_figures(figures.order),
                               note=RUNS_NOTE)
    if table.totals is not None:  # the setup column's total: the production table leaves key columns blank
        setup = sum((r.setup for r in order.runs), timedelta())
        totals = (*table.totals[:5], setup, *table.totals[6:])
        table = TableSection(table.key, table.title, table.columns, table.rows, totals, table.note)
    return table


def _oee_chart(order: OrderData, figures: _Figures) -> BarChart:
    ran = [op for op in order.operations if op.runs]
    return s.oee_chart(((op.label, s.production_figures(figures.operation[op.id]).oee) for op in ran),
                       key="oee_by_operation", title="OEE by operation")


def build_order_report(conn: Connection, tenant_id: UUID, *, order_id: UUID | None = None, number: str | None = None,
                       generated_by: str, now: datetime) -> BuiltOrderReport:
    """The report of the order with this id (or number), in its site's timezone."""
    order = load_order(conn, tenant_id, find_order(conn, tenant_id, order_id=order_id, number=number), now)
    figures = _Figures(conn, tenant_id, order, now)
    site = _site(conn, tenant_id, order)
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    start, end = _period(order, now)
    header = ReportHeader(
        company=company, site=str(site["name"]) if site else "", timezone=site["timezone"] if site else "UTC",
        start=start, end=end, kind=ReportKind.ORDER, generated_by=generated_by, generated_at=now,
        title=f"Order {order.number}: {order.product}",
    )
    notes = []
    if any(r.ended_at is None for r in order.runs):
        notes.append(f"The order is running: figures up to {format_instant(now, header.tz)}.")
    if not order.runs:
        notes.append("Nothing of this order has run yet.")
    sections: list[Section] = [_order_table(order), _operations_table(order, figures, now)]
    if order.runs:
        sections += [_runs_table(order, figures), _oee_chart(order, figures)]
    document = ReportDocument(
        header=header,
        kpis=s.kpi_summary(figures.order) if order.runs else None,
        sections=tuple(sections),
        notes=tuple(notes),
    )
    return BuiltOrderReport(order, document)
