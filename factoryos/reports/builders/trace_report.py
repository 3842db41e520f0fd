"""The trace report of one lot: its genealogy backward (what went in) or forward (where it went).

    report = build_trace_report(conn, tenant_id, lot="S-100", direction="forward", generated_by="Ann", now=now)
    render(report.document, "pdf", stream)  # named report.filename(ReportFormat.PDF)

The tree is the trace API's answer in depth-first order, each lot indented by its level under
the lot it was reached from, so the printed page reads like the terminal's tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, select

from factoryos.materials.trace import trace
from factoryos.materials.trace_models import Direction, TraceNode, TraceOut
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


def _row(n: TraceNode) -> tuple:
    supplier = f"{n.supplier} ({n.supplier_lot})" if n.supplier and n.supplier_lot else n.supplier
    return (n.level, "  " * n.level + n.lot_number, f"{n.item_number} {n.item_name}", n.quantity,
            n.status, supplier, n.order_number, n.machine_code, ", ".join(n.operators) or None,
            n.expires_on.isoformat() if n.expires_on else None)


def build_trace_report(conn: Connection, tenant_id: UUID, *, lot: str, direction: Direction, generated_by: str,
                       now: datetime) -> BuiltTraceReport:
    result = trace(conn, tenant_id, lot, direction)
    company = conn.execute(select(companies.c.name).where(companies.c.tenant_id == tenant_id)).scalar_one()
    way = "backward: every lot that went into" if direction == "backward" else "forward: every lot made from"
    header = ReportHeader(company=company, site="", timezone="UTC", start=now - timedelta(seconds=1), end=now,
                          kind=ReportKind.ORDER,
                          generated_by=generated_by, generated_at=now,
                          title=f"Trace of lot {result.lot_number} ({direction})")
    summary = tuple((what, len(names), ", ".join(names) or None) for what, names in (
        ("Suppliers", result.suppliers), ("Orders", result.orders), ("Machines", result.machines),
        ("Operators", result.operators)))
    sections = (
        TableSection("summary", "Summary", SUMMARY_COLUMNS, ((("Lots", result.lots, None),) + summary)),
        TableSection("tree", "Genealogy", TREE_COLUMNS, tuple(_row(n) for n in depth_first(result.nodes)),
                     note=TREE_NOTE),
    )
    notes = [f"Traced {way} lot {result.lot_number}, {result.levels} level(s) deep."]
    if result.truncated:
        notes.append(f"More lots were found than the report lists: the first {len(result.nodes):,} are shown.")
    return BuiltTraceReport(result, ReportDocument(header=header, sections=sections, notes=tuple(notes)))
