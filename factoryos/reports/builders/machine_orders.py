"""The orders that ran on each machine in a report's period (shift and machine reports).

One row per machine and order operation: its runs clipped to the period, with the KPI
loader's counts and OEE for that time on that machine (see `spans.span_totals`), so a
machine's rows add up to no more than its row in the machine table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, and_, or_, select

from factoryos.kpi import KpiTotals, rollup
from factoryos.reports import sections as s
from factoryos.reports.builders.period import Period
from factoryos.reports.builders.spans import span_totals
from factoryos.reports.model import RATIO_DISPLAY_CAP, Column, TableSection, TotalRule, ValueType
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import operation_runs as runs
from factoryos.schema.orders import order_operations as ops
from factoryos.schema.orders import products

T = ValueType
COLUMNS = (
    Column("machine", "Machine"),
    Column("order", "Order"),
    Column("product", "Product"),
    Column("operation", "Operation"),
    Column("start", "Start", T.DATETIME),
    Column("end", "End", T.DATETIME),
    Column("time", "Time", T.DURATION, total=TotalRule.SUM),
    Column("good", "Good", T.INT, total=TotalRule.SUM),
    Column("scrap", "Scrap", T.INT, total=TotalRule.SUM),
    Column("oee", "OEE", T.PERCENT, display_cap=RATIO_DISPLAY_CAP),
)
NOTE = ("Each order operation's time on the machine inside the period; good, scrap and OEE over that time, "
        "as the machine's own figures count them.")


@dataclass
class _Group:
    machine_id: UUID
    order: str
    product: str
    operation: str
    start: datetime
    end: datetime  # cut to the period (and to now)
    time: timedelta = timedelta()
    totals: KpiTotals = field(default_factory=KpiTotals)


def orders_table(conn: Connection, tenant_id: UUID, period: Period, now: datetime,
                 labels: Mapping[UUID, str]) -> TableSection | None:
    """None when no order ran on the period's machines."""
    machine_rows = {m["id"]: m for m in period.machines}
    if not machine_rows:
        return None
    stmt = (
        select(runs.c.machine_id, runs.c.operation_id, runs.c.started_at, runs.c.ended_at, jobs.c.job_number,
               ops.c.seq, ops.c.name, products.c.number.label("product_number"), products.c.name.label("product_name"),
               jobs.c.product)
        .select_from(
            runs.join(ops, and_(ops.c.tenant_id == runs.c.tenant_id, ops.c.id == runs.c.operation_id))
            .join(jobs, and_(jobs.c.tenant_id == ops.c.tenant_id, jobs.c.id == ops.c.job_id))
            .outerjoin(products, and_(products.c.tenant_id == jobs.c.tenant_id, products.c.id == jobs.c.product_id)))
        .where(runs.c.tenant_id == tenant_id, runs.c.machine_id.in_(list(machine_rows)),
               runs.c.started_at < period.end, or_(runs.c.ended_at.is_(None), runs.c.ended_at > period.start))
        .order_by(runs.c.started_at)
    )
    found = conn.execute(stmt).mappings().all()
    if not found:
        return None
    spans = []
    for r in found:
        start, end = max(r["started_at"], period.start), min(r["ended_at"] or now, period.end)
        spans.append((machine_rows[r["machine_id"]], start, max(start, end)))
    groups: dict[tuple[UUID, UUID], _Group] = {}
    for r, span, totals in zip(found, spans, span_totals(conn, tenant_id, spans, now, period.windows)):
        key = (r["machine_id"], r["operation_id"])
        g = groups.get(key)
        if g is None:
            product = f"{r['product_number']} {r['product_name']}" if r["product_name"] else r["product"]
            g = groups[key] = _Group(r["machine_id"], r["job_number"], product, f"{r['seq']} {r['name']}",
                                     span[1], span[2])
        g.end = max(g.end, span[2])
        g.time += span[2] - span[1]
        g.totals = g.totals + totals
    order = {m["id"]: i for i, m in enumerate(period.machines)}
    rows = []
    for g in sorted(groups.values(), key=lambda g: (order[g.machine_id], g.start)):
        figures = s.production_figures(g.totals)
        rows.append((labels[g.machine_id], g.order, g.product, g.operation, g.start, g.end, g.time,
                     figures.good, figures.rejects, figures.oee))
    # OEE over all the order time on the machines: their totals summed, divided last.
    everything = s.production_figures(rollup(g.totals for g in groups.values()))
    total_row = (None, None, None, None, None, None, sum((g.time for g in groups.values()), timedelta()),
                 everything.good, everything.rejects, everything.oee)
    return TableSection("orders", "Orders on the machines", COLUMNS, tuple(rows), total_row, NOTE)
