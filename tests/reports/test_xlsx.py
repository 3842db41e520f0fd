"""XLSX reports reopened with openpyxl: sheets, real values, formats, formulas, tables, charts."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
from openpyxl.worksheet.worksheet import Worksheet

from factoryos.reports import (
    Column,
    KpiSummary,
    RawEntries,
    ReportDocument,
    ReportKind,
    TableSection,
    ValueType,
)
from factoryos.reports.synthetic import RAW_COLUMNS
from factoryos.reports.xlsx import render_xlsx

Rendered = dict[tuple[ReportKind, str], Path]
T = ValueType


def headers(ws: Worksheet) -> dict[str, str]:
    """Header label → column letter."""
    return {cell.value: cell.column_letter for cell in ws[1]}


def test_one_sheet_per_section_plus_summary_and_raw(rendered: Rendered) -> None:
    wb = load_workbook(rendered[(ReportKind.PRODUCTION_BY_MACHINE, "xlsx")])
    assert wb.sheetnames == [
        "Summary", "Production by machine", "OEE by machine", "Downtime by reason (Pareto)",
        "Raw entries",
    ]
    for ws in wb.worksheets:
        (table,) = ws.tables.values()  # every sheet's data is an Excel table…
        assert table.autoFilter.ref == table.ref  # …with filter buttons


def test_production_table_has_live_formulas_and_totals(
    rendered: Rendered, documents: dict[ReportKind, ReportDocument]
) -> None:
    doc = documents[ReportKind.PRODUCTION_BY_MACHINE]
    table = doc.sections[0]
    assert isinstance(table, TableSection)
    wb = load_workbook(rendered[(ReportKind.PRODUCTION_BY_MACHINE, "xlsx")])
    ws = wb["Production by machine"]
    col = headers(ws)
    n = len(table.rows)
    last, total = n + 1, n + 2

    assert ws.freeze_panes == "B2"
    (tbl,) = ws.tables.values()
    assert tbl.ref == f"A1:L{last}"
    assert [c.name for c in tbl.tableColumns] == [c.value for c in ws[1]]
    assert tbl.tableStyleInfo.showRowStripes

    first = table.rows[0]
    assert ws["A2"].value == first[0] == "Presse 001"
    assert ws[f"{col['Good']}2"].value == first[6]
    assert ws[f"{col['Good']}2"].number_format == "#,##0"
    run = ws[f"{col['Run time']}2"]
    assert run.number_format == "[h]:mm:ss"
    assert abs(run.value - first[2]) < timedelta(milliseconds=1)

    p, r, i, g, t = (col[k] for k in ("Planned time", "Run time", "Ideal time", "Good", "Total"))
    a, perf, q, oee = (col[k] for k in ("Avail.", "Perf.", "Quality", "OEE"))
    for row in (2, last):
        assert ws[f"{a}{row}"].value == f'=IFERROR({r}{row}/{p}{row},"n/a")'
        assert ws[f"{perf}{row}"].value == f'=IFERROR({i}{row}/{r}{row},"n/a")'
        assert ws[f"{q}{row}"].value == f'=IFERROR({g}{row}/{t}{row},"n/a")'
        apq = f"{a}{row}*{perf}{row}*{q}{row}"
        zero = f"OR({a}{row}=0,{perf}{row}=0,{q}{row}=0)"
        assert ws[f"{oee}{row}"].value == f'=IFERROR(IF({zero},0,{apq}),"n/a")'
        assert ws[f"{oee}{row}"].number_format == "0.0%"

    assert ws[f"A{total}"].value == "Total"
    assert ws[f"A{total}"].font.b
    for key in ("Planned time", "Good", "Rejects"):
        letter = col[key]
        assert ws[f"{letter}{total}"].value == f"=SUM({letter}2:{letter}{last})"
    assert f"{a}{total}*{perf}{total}*{q}{total}" in ws[f"{oee}{total}"].value
    assert ws.max_row == total


def test_downtime_shares_reference_the_totals_row(
    rendered: Rendered, documents: dict[ReportKind, ReportDocument]
) -> None:
    table = documents[ReportKind.DOWNTIME_BY_REASON].sections[0]
    assert isinstance(table, TableSection)
    ws = load_workbook(rendered[(ReportKind.DOWNTIME_BY_REASON, "xlsx")])["Downtime by reason"]
    col = headers(ws)
    d, total = col["Downtime"], ws.max_row
    assert ws[f"{col['Share']}3"].value == f'=IFERROR({d}3/${d}${total},"n/a")'
    assert ws[f"{col['Cumulative']}3"].value == f'=IFERROR(SUM(${d}$2:{d}3)/${d}${total},"n/a")'
    assert ws[f"{col['Cumulative']}{total}"].value is None
    assert [ws[f"A{r}"].value for r in range(2, total)] == [row[0] for row in table.rows]


def test_datetimes_are_local_wall_clock_labelled_with_zone(rendered: Rendered) -> None:
    ws = load_workbook(rendered[(ReportKind.PRODUCTION_BY_SHIFT, "xlsx")])["Production by shift"]
    assert ws["A1"].value == "Shift start (Europe/Warsaw)"
    assert ws["A2"].value == datetime(2025, 3, 3, 6, 0)  # 05:00 UTC, shown as Warsaw time
    assert ws["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert ws.freeze_panes == "A2"
    names = {ws.cell(row, 4).value for row in range(2, ws.max_row)}
    assert {"Łukasz Żółć", "Γιώργος Παπαδόπουλος", "Дмитрий Иванов", "Nguyễn Văn An"} <= names


def test_charts_are_native_and_read_their_cells(rendered: Rendered) -> None:
    wb = load_workbook(rendered[(ReportKind.PRODUCTION_BY_MACHINE, "xlsx")])
    oee = wb["OEE by machine"]
    (chart,) = oee._charts
    assert isinstance(chart, BarChart)
    bar, target = chart._charts
    assert bar.series[0].val.numRef.f == "'OEE by machine'!$B$2:$B$31"
    assert isinstance(target, LineChart)
    assert oee["C2"].value == pytest.approx(0.85)
    assert chart.x_axis.delete is False and chart.y_axis.delete is False

    pareto = wb["Downtime by reason (Pareto)"]
    (chart,) = pareto._charts
    bars, line = chart._charts
    assert isinstance(line, LineChart)
    assert line.y_axis.axId == 200 and line.y_axis.crosses == "max"  # secondary axis
    last = pareto.max_row
    assert pareto["C2"].value == f"=IFERROR(SUM($B$2:B2)/SUM($B$2:$B${last}),0)"
    assert pareto["B2"].number_format == "[h]:mm:ss"


def test_summary_sheet(rendered: Rendered, documents: dict[ReportKind, ReportDocument]) -> None:
    doc = documents[ReportKind.OEE_SUMMARY]
    ws = load_workbook(rendered[(ReportKind.OEE_SUMMARY, "xlsx")])["Summary"]
    info = {row[0].value: row[1] for row in ws.iter_rows(min_row=3) if row[0].value}
    assert info["Company"].value == "Zakłady Mechaniczne Łódź S.A."
    assert info["From (Europe/Warsaw)"].value == datetime(2025, 3, 3, 6, 0)
    assert info["Generated by"].value == "Łukasz Żółć"
    assert doc.kpis is not None
    assert info["OEE"].value == pytest.approx(doc.kpis.oee)
    assert info["OEE"].number_format == "0.0%"
    assert info["Good"].value == doc.kpis.good and info["Good"].number_format == "#,##0"
    assert info["Downtime"].number_format == "[h]:mm:ss"
    (tbl,) = ws.tables.values()
    assert tbl.ref == "A13:B20"


def test_raw_entries_split_past_the_sheet_limit_and_report_progress(
    documents: dict[ReportKind, ReportDocument],
) -> None:
    doc = documents[ReportKind.REJECTIONS_BY_REASON]
    assert doc.raw is not None
    expected = list(doc.raw.rows())
    seen: list[int] = []
    out = io.BytesIO()
    render_xlsx(doc, out, raw_rows_per_sheet=120, progress=seen.append)
    wb = load_workbook(io.BytesIO(out.getvalue()))
    parts = ["Raw entries", "Raw entries (2)", "Raw entries (3)"]
    assert wb.sheetnames[-3:] == parts
    assert seen == [120, 240, 300]
    rows = []
    for name in parts:
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        (tbl,) = ws.tables.values()
        assert tbl.ref == f"A1:J{ws.max_row}"
        rows += list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(expected) == 300
    first = wb["Raw entries"]
    assert first["A1"].value == "Start (Europe/Warsaw)"
    assert first["H2"].number_format == "[h]:mm:ss"
    assert rows[1][2] == expected[1][2] and rows[1][4] == expected[1][4]
    assert rows[1][0] == expected[1][0].astimezone(doc.header.tz).replace(tzinfo=None)
    assert all(r[6] is None for r, e in zip(rows, expected) if e[6] is None)


def test_text_stays_text_and_missing_values_read_n_a(
    documents: dict[ReportKind, ReportDocument],
) -> None:
    base = documents[ReportKind.OEE_SUMMARY]
    table = TableSection(
        "odd", "Odd: values [1/2]",
        (Column("name", "Name"), Column("name2", "Name"), Column("oee", "OEE", T.PERCENT)),
        (('=HYPERLINK("http://x","y")', "#N/A", None), ("bell\x07 ok", None, 0.5)),
    )
    empty = TableSection("empty", "Nothing", (Column("a", "A"),), ())
    raw = RawEntries(RAW_COLUMNS, rows=lambda: iter(()), count=0)
    doc = dataclasses.replace(base, kpis=KpiSummary(), sections=(table, empty), raw=raw)
    out = io.BytesIO()
    render_xlsx(doc, out)
    wb = load_workbook(io.BytesIO(out.getvalue()))
    ws = wb.worksheets[1]
    assert ws.title == "Odd  values  1 2"  # characters Excel forbids in sheet names dropped
    assert [c.value for c in ws[1]] == ["Name", "Name (2)", "OEE"]  # table columns unique
    assert ws["A2"].value == '=HYPERLINK("http://x","y")' and ws["A2"].data_type == "s"
    assert ws["B2"].value == "#N/A" and ws["B2"].data_type == "s"
    assert ws["C2"].value == "n/a"
    assert ws["A3"].value == "bell ok"
    assert wb["Nothing"]["A2"].value == "No data in this range."
    assert wb["Raw entries"]["A2"].value == "No entries in this range."
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=13, values_only=True)}
    assert summary["OEE"] == "n/a" and summary["Downtime"] == "n/a"
