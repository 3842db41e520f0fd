"""GET /api/v1/reports/{topic}: production, machine, shift, operator, rejection and downtime
reports as PDF, XLSX or JSON.

The report is rendered inside the request's transaction (raw entries stream from a
server-side cursor) into an anonymous temporary file, which is then streamed out. The export's
audit row commits with that transaction, so a failed render leaves no trace of an export.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import select
from starlette.responses import StreamingResponse

from factoryos.reports import ReportFormat, render
from factoryos.reports.builders import ReportQuery, ReportTopic, build_report
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


def export_report(ctx: Context, topic: ReportTopic, query: ReportQuery) -> StreamingResponse:
    now = datetime.now(UTC)
    report = build_report(ctx.conn, ctx.tenant_id, topic, query, generated_by=_user_name(ctx), now=now)
    # Already unlinked: closing it (or the process ending) frees the space, even if the client goes away.
    out = tempfile.TemporaryFile(prefix="factoryos-report-")
    try:
        render(report.document, query.format, out)
        size = out.tell()
        out.seek(0)
        header = report.document.header
        ctx.audit("export", "report", topic.value, after={
            "topic": topic.value, "format": query.format.value,
            "site_id": str(report.period.site["id"]),
            "line_id": str(report.period.line["id"]) if report.period.line else None,
            "start": header.start.isoformat(), "end": header.end.isoformat(),
            "raw_rows": report.document.raw.count if report.document.raw else None,
            "bytes": size,
        })
    except BaseException:
        out.close()
        raise
    # The name is built from sanitised parts only (letters, digits, dashes).
    disposition = f'attachment; filename="{report.filename(query.format)}"'
    return StreamingResponse(_chunks(out), media_type=query.format.media_type,
                             headers={"Content-Length": str(size), "Content-Disposition": disposition})


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
