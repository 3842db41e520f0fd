"""Report rendering: one typed document model, rendered to PDF, XLSX or JSON.

The service layer builds a `ReportDocument` and hands it to `render`, e.g.::

    from factoryos.reports import sections as s

    rows = [((m.name,), s.production_figures(totals[m.id])) for m in machines]
    doc = ReportDocument(
        header=ReportHeader(company, site, "Europe/Warsaw", start, end,
                            ReportKind.PRODUCTION_BY_MACHINE, user_name, now),
        kpis=s.kpi_summary(site_totals),
        sections=(
            s.production_table("by_machine", "Production by machine",
                               [Column("machine", "Machine")], rows,
                               totals=s.production_figures(site_totals)),
            s.oee_chart((name, figures.oee) for (name,), figures in rows),
            s.downtime_pareto(reasons),
        ),
        raw=RawEntries(columns, rows=lambda: stream_entries(...), count=n),
    )
    render(doc, "pdf", response_stream)
"""

from factoryos.reports.errors import ReportFontMissing, ReportFormatUnsupported, ReportInvalid
from factoryos.reports.jsonable import iter_json, report_to_dict
from factoryos.reports.model import (
    BarChart,
    Column,
    KpiSummary,
    KpiTile,
    ParetoChart,
    RawEntries,
    ReportDocument,
    ReportHeader,
    ReportKind,
    TableSection,
    TotalRule,
    ValueType,
)
from factoryos.reports.render import ReportFormat, render

# The renderers themselves (factoryos.reports.pdf / .xlsx: reportlab, openpyxl) load with the first report.

__all__ = [
    "BarChart",
    "Column",
    "KpiSummary",
    "KpiTile",
    "ParetoChart",
    "RawEntries",
    "ReportDocument",
    "ReportFontMissing",
    "ReportFormat",
    "ReportFormatUnsupported",
    "ReportHeader",
    "ReportInvalid",
    "ReportKind",
    "TableSection",
    "TotalRule",
    "ValueType",
    "iter_json",
    "render",
    "report_to_dict",
]
