"""GET /api/v1/reports/{topic}: production, machine, shift, operator, rejection and downtime
reports as PDF, XLSX or JSON; GET /api/v1/reports/orders: one manufacturing order.

The report is rendered inside the request's transaction (raw entries stream from a
server-side cursor) into an anonymous temporary file, which is then streamed out. The export's
audit row commits with that transaction, so a failed render leaves no trace of an export.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import select
from starlette.responses import StreamingResponse

from factoryos.reports import ReportDocument, ReportFormat, render
from factoryos.reports.builders import (
    OrderReportQuery,
    ReportQuery,
    ReportTopic,
    build_order_report,
    build_report,
)
from factoryos.schema.identity import users
from server.api import Context, Router

router = Router(prefix="/api/v1/reports", tags=("reports",))

EXPORT = "reports.export"
MEDIA_TYPES = (ReportFormat.PDF.media_type, ReportFormat.XLSX.media_type)
CHUNK = 256 * 1024

_SUMMARIES = {
    ReportTopic.PRODUCTION: "OEE summary of a site or line: OEE by machine and line, downtime and rejections.",
    ReportTopic.MACHINES: "Production and OEE by machine, with the downtime Pareto.",
    ReportTopic.SHIFTS: "Production by shift and by machine in each shift (one shift with `date` and `shift`).",
    ReportTopic.OPERATORS: "Production by operator.",
    ReportTopic.REJECTIONS: "Rejections by reason.",
    ReportTopic.DOWNTIME: "Downtime by reason as a Pareto.",
}


def _user_name(ctx: Context) -> str:
    row = ctx.conn.execute(select(users.c.display_name, users.c.email).where(users.c.id == ctx.user_id)).first()
    return (row.display_name or row.email) if row else "unknown user"


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := stream.read(CHUNK):
            yield chunk
    finally:
        stream.close()


def _stream(ctx: Context, document: ReportDocument, fmt: ReportFormat, filename: str,
            audit: Callable[[int], tuple[str, dict[str, Any]]]) -> StreamingResponse:
    # Already unlinked: closing it (or the process ending) frees the space, even if the client goes away.
    out = tempfile.TemporaryFile(prefix="factoryos-report-")
    try:
        render(document, fmt, out)
        size = out.tell()
        out.seek(0)
        entity_id, after = audit(size)
        ctx.audit("export", "report", entity_id, after=after)
    except BaseException:
        out.close()
        raise
    # The name is built from sanitised parts only (letters, digits, dashes).
    disposition = f'attachment; filename="{filename}"'
    return StreamingResponse(_chunks(out), media_type=fmt.media_type,
                             headers={"Content-Length": str(size), "Content-Disposition": disposition})


def export_report(ctx: Context, topic: ReportTopic, query: ReportQuery) -> StreamingResponse:
    now = datetime.now(UTC)
    report = build_report(ctx.conn, ctx.tenant_id, topic, query, generated_by=_user_name(ctx), now=now)
    header = report.document.header

    def audit(size: int) -> tuple[str, dict[str, Any]]:
        return topic.value, {
            "topic": topic.value, "format": query.format.value,
            "site_id": str(report.period.site["id"]),
            "line_id": str(report.period.line["id"]) if report.period.line else None,
            "start": header.start.isoformat(), "end": header.end.isoformat(),
            "raw_rows": report.document.raw.count if report.document.raw else None,
            "bytes": size,
        }

    return _stream(ctx, report.document, query.format, report.filename(query.format), audit)


def _endpoint(topic: ReportTopic) -> Callable[[Context, ReportQuery], StreamingResponse]:
    def handler(ctx: Context, query: ReportQuery) -> StreamingResponse:
        return export_report(ctx, topic, query)

    handler.__name__ = f"report_{topic.value}"
    handler.__doc__ = _SUMMARIES[topic]
    return handler


for _topic in ReportTopic:
    router.get(f"/{_topic.value}", permission=EXPORT, query=ReportQuery, response_media_types=MEDIA_TYPES,
               long_running=True)(
        _endpoint(_topic))


@router.get("/orders", permission=EXPORT, query=OrderReportQuery, response_media_types=MEDIA_TYPES, long_running=True)
def report_order(ctx: Context, query: OrderReportQuery) -> StreamingResponse:
    """One manufacturing order: its operations, runs, setup, good and scrap, and OEE at the product's standard."""
    now = datetime.now(UTC)
    report = build_order_report(ctx.conn, ctx.tenant_id, order_id=query.order_id, number=query.number,
                                generated_by=_user_name(ctx), now=now)

    def audit(size: int) -> tuple[str, dict[str, Any]]:
        return "orders", {"topic": "orders", "format": query.format.value, "order_id": str(report.order.id),
                          "number": report.order.number, "bytes": size}

    return _stream(ctx, report.document, query.format, report.filename(query.format), audit)
