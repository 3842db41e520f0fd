"""Genealogy: a lot's inputs down to the last level (backward), or everything made from it (forward);
and the files of materials: the trace report and a lot's label (under /reports, as every file download)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from starlette.responses import Response, StreamingResponse

from factoryos.materials import items, lots
from factoryos.materials.labels import LabelData, pdf_label, zpl_label
from factoryos.materials.models import LabelQuery
from factoryos.materials.trace import trace
from factoryos.materials.trace_models import TraceOut, TraceQuery, TraceReportQuery
from factoryos.reports.builders.naming import safe_part
from factoryos.reports.builders.trace_report import build_trace_report
from server.api import Context, Router
from server.routes.reports import EXPORT, MEDIA_TYPES, _stream, _user_name

router = Router(prefix="/api/v1/trace", tags=("materials",))
files = Router(prefix="/api/v1/reports", tags=("materials",))

VIEW = "inventory.view"
LABEL_TYPES = {"pdf": "application/pdf", "zpl": "application/vnd.zebra.zpl"}


@router.get("/backward", permission=VIEW, query=TraceQuery, response=TraceOut)
def trace_backward(ctx: Context, query: TraceQuery) -> TraceOut:
    """Every lot that went into the lot, with suppliers, orders, machines, operators, inspections and NCs."""
    return trace(ctx.conn, ctx.tenant_id, query.lot, "backward")


@router.get("/forward", permission=VIEW, query=TraceQuery, response=TraceOut)
def trace_forward(ctx: Context, query: TraceQuery) -> TraceOut:
    """Every lot and order that used the lot, to the last level, with their inspections and NCs (a recall's answer)."""
    return trace(ctx.conn, ctx.tenant_id, query.lot, "forward")


@files.get("/trace", permission=EXPORT, query=TraceReportQuery, response_media_types=MEDIA_TYPES,
           long_running=True)
def trace_report(ctx: Context, query: TraceReportQuery) -> StreamingResponse:
    """The trace as a report (PDF, XLSX or JSON): summary, then the genealogy tree."""
    report = build_trace_report(ctx.conn, ctx.tenant_id, lot=query.lot, direction=query.direction,
                                generated_by=_user_name(ctx), now=datetime.now(UTC))

    def audit(size: int) -> tuple[str, dict[str, Any]]:
        return "trace", {"topic": "trace", "format": query.format.value, "direction": query.direction,
                         "lot_id": str(report.trace.lot_id), "lot": report.trace.lot_number, "bytes": size}

    return _stream(ctx, report.document, query.format, report.filename(query.format), audit)


@files.get("/lots/{lot_id:uuid}/label", permission=VIEW, query=LabelQuery,
           response_media_types=tuple(LABEL_TYPES.values()))
def lot_label(ctx: Context, lot_id: UUID, query: LabelQuery) -> Response:
    """The lot's label with a GS1-128 barcode (Code 128 of the lot number for an item without GTIN)."""
    lot = lots.get_lot(ctx.conn, ctx.tenant_id, lot_id)
    item = items.get_item(ctx.conn, ctx.tenant_id, lot.item_id)
    data = LabelData(item_number=item.number, item_name=item.name, lot=lot.number, gtin=item.gtin,
                     expires_on=lot.expires_on, quantity=str(lot.quantity) if lot.quantity is not None else None,
                     unit=item.unit, supplier_lot=lot.supplier_lot)
    body = pdf_label(data) if query.format == "pdf" else zpl_label(data).encode()
    name = f"lot-{safe_part(lot.number)}.{query.format}"
    return Response(body, media_type=LABEL_TYPES[query.format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
