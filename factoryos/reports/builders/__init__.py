"""Report documents built from the database: a topic, a site or line, and a period.

    query = ReportQuery.model_validate({"site_id": ..., "date": "2026-11-20", "shift": "Night"})
    report = build_report(conn, tenant_id, ReportTopic.SHIFTS, query, generated_by="Ann", now=now)
    render(report.document, query.format, stream)  # named report.filename(query.format)

KPI figures come from the production KPI loader per machine and shift window, so they
equal `/api/v1/kpis/oee` for the same range, shift or day.
"""

from factoryos.reports.builders.documents import BuiltReport, build_report
from factoryos.reports.builders.naming import report_filename, safe_part
from factoryos.reports.builders.order_report import BuiltOrderReport, build_order_report
from factoryos.reports.builders.period import Period, parse_instant, resolve_period
from factoryos.reports.builders.query import OrderReportQuery, ReportQuery, ReportTopic

__all__ = [
    "BuiltOrderReport",
    "BuiltReport",
    "OrderReportQuery",
    "Period",
    "ReportQuery",
    "ReportTopic",
    "build_order_report",
    "build_report",
    "parse_instant",
    "report_filename",
    "resolve_period",
    "safe_part",
]
