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

from sqlalchemy import Connection, select

from factoryos.materials.trace import trace
from factoryos.materials.trace_models import Direction, TraceLot, TraceNode, TraceOut
from factoryos.reports.builders.naming import safe_part
from factoryos.reports.model import Column, ReportDocument, ReportHeader, ReportKind, TableSection, ValueType
from factoryos.reports.render import ReportFormat
from factoryos.schema.tenancy import companies

T = ValueType

TREE_COLUMNS = (
    Column("level", "Level", T.INT),
    Column("lot", "Lot"),
    Column("item", "Item"),
    Column("quantity", "Qty used", T.DECIMAL, decimals=3),
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
    Column("quantity", "Qty", T.DECIMAL, decimals=3),
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


def _row(n: TraceNode, d: TraceLot, quality: str | None) -> tuple:
    supplier = f"{d.supplier} ({d.supplier_lot})" if d.supplier and d.supplier_lot else d.supplier
    return (n.level, "  " * n.level + d.lot_number, f"{d.item_number} {d.item_name}", n.quantity,
            d.status, supplier, d.order_number, d.machine_code, ", ".join(d.operators) or None,
            d.expires_on.isoformat() if d.expires_on else None, quality)


def build_trace_report(conn: Connection, tenant_id: UUID, *, lot: str, direction: Direction, generated_by: str,
                       now: datetime) -> BuiltTraceReport:
    result = trace(conn, tenant_id, lot, direction)
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    way = "backward: every lot that went into" if direction == "backward" else "forward: every lot made from"
    header = ReportHeader(company=company, site="", timezone="UTC", start=now - timedelta(seconds=1), end=now,
                          kind=ReportKind.ORDER,
                          generated_by=generated_by, generated_at=now,
                          title=f"Trace of lot {result.lot_number} ({direction})")
    details = result.by_lot()
    numbers = {lot_id: d.lot_number for lot_id, d in details.items()}
    quality = _quality(result)
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
                     tuple(_row(n, details[n.lot_id], quality.get(n.lot_id)) for n in depth_first(result.nodes)),
                     note=TREE_NOTE),
        TableSection("inspections", "Inspections", INSPECTION_COLUMNS, tuple(
            (i.recorded_at, i.plan_name, i.result, i.out_of_spec, i.order_number, i.machine_code,
             ", ".join(numbers[x] for x in i.lot_ids)) for i in result.inspections),
            note="Inspections of the orders (or operations) that made a lot of the tree."),
        TableSection("nonconformances", "Nonconformances", NC_COLUMNS, tuple(
            (n.code, n.created_at, n.status, n.disposition, n.quantity, n.lot_number, n.order_number,
             n.machine_code, n.description) for n in result.nonconformances),
            note="Nonconformances naming a lot of the tree, or the order that made one."),
    )
    notes = [f"Traced {way} lot {result.lot_number}, {result.levels} level(s) deep."]
    if result.truncated:
        notes.append(f"More lots were found than the report lists: the first {len(result.nodes):,} are shown.")
    return BuiltTraceReport(result, ReportDocument(header=header, sections=sections, notes=tuple(notes)))
