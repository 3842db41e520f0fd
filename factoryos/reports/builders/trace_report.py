"""The trace report of one lot: its genealogy backward (what went in) or forward (where it went).

    report = build_trace_report(conn, tenant_id, lot="S-100", direction="forward", generated_by="Ann", now=now)
    render(report.document, "pdf", stream)  # named report.filename(ReportFormat.PDF)

The tree is the trace API's answer in depth-first order, each lot indented by its level under
the lot it was reached from, so the printed page reads like the terminal's tree; then the
inspections and nonconformances touching the tree's lots and orders (times in UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, and_, func, select

from factoryos.materials.trace import trace
from factoryos.materials.trace_models import Direction, TraceLot, TraceNode, TraceOut
from factoryos.reports.builders.naming import safe_part
from factoryos.reports.model import Column, ReportDocument, ReportHeader, ReportKind, TableSection, ValueType
from factoryos.reports.render import ReportFormat
from factoryos.schema.jobs import jobs
from factoryos.schema.materials import items, lots
from factoryos.schema.nonconformances import nonconformances as ncs
from factoryos.schema.orders import products
from factoryos.schema.tenancy import companies

T = ValueType
QTY_DECIMALS = 6  # the quantity columns' scale: a quantity shows every decimal it was recorded with

TREE_COLUMNS = (
    Column("level", "Level", T.INT),
    Column("lot", "Lot"),
    Column("item", "Item"),
    Column("quantity", "Qty used", T.DECIMAL, decimals=QTY_DECIMALS, trim=True),
    Column("unit", "Unit"),
    Column("status", "Status"),
    Column("supplier", "Supplier (lot)"),
    Column("order", "Order"),
    Column("machine", "Machine"),
    Column("operators", "Operators"),
    Column("expires", "Expires"),
    Column("quality", "Inspections / NCs"),
)
INSPECTION_COLUMNS = (
    Column("recorded", "Recorded", T.DATETIME),
    Column("plan", "Plan"),
    Column("result", "Result"),
    Column("out_of_spec", "Out of spec", T.INT),
    Column("order", "Order"),
    Column("machine", "Machine"),
    Column("lots", "Lots made"),
)
NC_COLUMNS = (
    Column("nc", "NC"),
    Column("created", "Opened", T.DATETIME),
    Column("status", "Status"),
    Column("disposition", "Disposition"),
    Column("quantity", "Qty", T.DECIMAL, decimals=QTY_DECIMALS, trim=True),
    Column("unit", "Unit"),
    Column("lot", "Lot"),
    Column("order", "Order"),
    Column("machine", "Machine"),
    Column("description", "Description"),
)
SUMMARY_COLUMNS = (Column("what", "What"), Column("count", "Count", T.INT), Column("names", "Which"))
TREE_NOTE = ("Each lot sits under the lot it was reached from; a lot reached by several paths shows under each. "
             "Qty used: how much of the input went into the output on that link.")


@dataclass(frozen=True)
class BuiltTraceReport:
    trace: TraceOut
    document: ReportDocument

    def filename(self, fmt: ReportFormat) -> str:
        return f"trace-{self.trace.direction}-{safe_part(self.trace.lot_number)}.{fmt.value}"


def depth_first(nodes: list[TraceNode]) -> list[TraceNode]:
    """The nodes as a tree reads: each lot followed by what was reached from it."""
    children: dict[UUID | None, list[TraceNode]] = {}
    for n in nodes:
        children.setdefault(n.via_lot_id if n.level else None, []).append(n)
    out: list[TraceNode] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed([c for c in children.get(node.lot_id, []) if c.level == node.level + 1]))
    return out


def _quality(t: TraceOut) -> dict[UUID, str]:
    """Per lot: its nonconformances' codes and its order's inspections, shortly."""
    ncs: dict[UUID, list[str]] = {}
    checks: dict[UUID, list[str]] = {}
    for nc in t.nonconformances:
        for lot_id in nc.lot_ids:
            ncs.setdefault(lot_id, []).append(f"{nc.code} {nc.status}")
    for i in t.inspections:
        for lot_id in i.lot_ids:
            checks.setdefault(lot_id, []).append(i.result)
    out: dict[UUID, str] = {}
    for lot_id in ncs.keys() | checks.keys():
        results = checks.get(lot_id, [])
        inspected = (f"{len(results)} inspection(s), {results.count('fail')} failed" if results else "")
        out[lot_id] = "; ".join([*ncs.get(lot_id, []), *([inspected] if inspected else [])])
    return out


def _nc_units(conn: Connection, tenant_id: UUID, t: TraceOut) -> dict[UUID, str]:
    """Each nonconformance's unit: its lot's item's, else its product's or its order's product's."""
    if not t.nonconformances:
        return {}
    return dict(conn.execute(
        select(ncs.c.id, func.coalesce(items.c.unit, products.c.unit))
        .outerjoin(lots, and_(lots.c.tenant_id == ncs.c.tenant_id, lots.c.id == ncs.c.lot_id))
        .outerjoin(items, and_(items.c.tenant_id == lots.c.tenant_id, items.c.id == lots.c.item_id))
        .outerjoin(jobs, and_(jobs.c.tenant_id == ncs.c.tenant_id, jobs.c.id == ncs.c.order_id))
        .outerjoin(products, and_(products.c.tenant_id == ncs.c.tenant_id,
                                  products.c.id == func.coalesce(ncs.c.product_id, jobs.c.product_id)))
        .where(ncs.c.tenant_id == tenant_id, ncs.c.id.in_([n.id for n in t.nonconformances]))).all())


def _row(n: TraceNode, d: TraceLot, unit: str | None, quality: str | None) -> tuple:
    supplier = f"{d.supplier} ({d.supplier_lot})" if d.supplier and d.supplier_lot else d.supplier
    return (n.level, "  " * n.level + d.lot_number, f"{d.item_number} {d.item_name}", n.quantity,
            unit if n.quantity is not None else None, d.status, supplier, d.order_number, d.machine_code,
            ", ".join(d.operators) or None, d.expires_on.isoformat() if d.expires_on else None, quality)


def build_trace_report(conn: Connection, tenant_id: UUID, *, lot: str, direction: Direction, generated_by: str,
                       now: datetime) -> BuiltTraceReport:
    result = trace(conn, tenant_id, lot, direction)
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    way = "backward: every lot that went into" if direction == "backward" else "forward: every lot made from"
    header = ReportHeader(company=company, site="", timezone="UTC", start=now - timedelta(seconds=1), end=now,
                          kind=ReportKind.TRACE,
                          generated_by=generated_by, generated_at=now,
                          title=f"Trace of lot {result.lot_number} ({direction})")
    details = result.by_lot()
    numbers = {lot_id: d.lot_number for lot_id, d in details.items()}
    quality = _quality(result)
    lot_units, nc_units = {d.lot_id: d.unit for d in result.details}, _nc_units(conn, tenant_id, result)
    # A link's quantity is of its input: the node's own lot backward, the lot it was reached from forward.
    input_of = (lambda n: n.lot_id) if direction == "backward" else (lambda n: n.via_lot_id)
    summary = tuple((what, len(names), ", ".join(names) or None) for what, names in (
        ("Suppliers", result.suppliers), ("Orders", result.orders), ("Machines", result.machines),
        ("Operators", result.operators)))
    failed = sum(i.result == "fail" for i in result.inspections)
    summary += (("Inspections", len(result.inspections), f"{failed} failed" if result.inspections else None),
                ("Nonconformances", len(result.nonconformances),
                 ", ".join(n.code for n in result.nonconformances[:20]) or None))
    sections = (
        TableSection("summary", "Summary", SUMMARY_COLUMNS, ((("Lots", result.lots, None),) + summary)),
        TableSection("tree", "Genealogy", TREE_COLUMNS,
                     tuple(_row(n, details[n.lot_id], lot_units.get(input_of(n)), quality.get(n.lot_id))
                           for n in depth_first(result.nodes)),
                     note=TREE_NOTE),
        TableSection("inspections", "Inspections", INSPECTION_COLUMNS, tuple(
            (i.recorded_at, i.plan_name, i.result, i.out_of_spec, i.order_number, i.machine_code,
             ", ".join(numbers[x] for x in i.lot_ids)) for i in result.inspections),
            note="Inspections of the orders (or operations) that made a lot of the tree."),
        TableSection("nonconformances", "Nonconformances", NC_COLUMNS, tuple(
            (n.code, n.created_at, n.status, n.disposition, n.quantity, nc_units.get(n.id), n.lot_number,
             n.order_number, n.machine_code, n.description) for n in result.nonconformances),
            note="Nonconformances naming a lot of the tree, or the order that made one."),
    )
    notes = [f"Traced {way} lot {result.lot_number}, {result.levels} level(s) deep."]
    if result.truncated:
        notes.append(f"More lots were found than the report lists: the first {len(result.nodes):,} are shown.")
    return BuiltTraceReport(result, ReportDocument(header=header, sections=sections, notes=tuple(notes)))
