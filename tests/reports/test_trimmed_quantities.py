"""Quantity columns (`Column(trim=True)`): each value shown with the decimals it has, up to the column's,
alike in the PDF, the workbook (a number with its own format) and the JSON."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from factoryos.reports import Column, ReportDocument, ReportHeader, ReportKind, TableSection, ValueType
from factoryos.reports.errors import ReportInvalid
from factoryos.reports.jsonable import report_to_dict
from factoryos.reports.pdf import render_pdf
from factoryos.reports.xlsx import render_xlsx

T = ValueType
QTY = Column("qty", "Qty", T.DECIMAL, decimals=3, trim=True)


@pytest.mark.parametrize(("value", "places"), [
    (Decimal("6.000000"), 0), (Decimal("8.400"), 1), (Decimal("0.125"), 3), (Decimal("2.00049"), 0),
    (Decimal("2.0005"), 3), (Decimal("600"), 0), (7, 0), (1.25, 2), (None, 3),
])
def test_a_trimmed_column_shows_the_decimals_a_value_has(value: object, places: int) -> None:
    assert QTY.decimals_for(value) == places  # type: ignore[arg-type]
    assert Column("q", "Q", T.DECIMAL, decimals=3).decimals_for(value) == 3  # type: ignore[arg-type]


def test_only_decimal_columns_trim() -> None:
    with pytest.raises(ReportInvalid, match="only DECIMAL"):
        Column("n", "N", T.INT, trim=True)


def _document() -> ReportDocument:
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    header = ReportHeader(company="Acme", site="Plant 1", timezone="Europe/Warsaw", start=now - timedelta(hours=8),
                          end=now, kind=ReportKind.MAINTENANCE, generated_by="Ann", generated_at=now)
    rows = (("Seal kit", Decimal("6.000000"), "pcs"), ("Oil", Decimal("8.400000"), "l"),
            ("Wire", Decimal("1234.125000"), "m"), ("Grease", None, "kg"))
    return ReportDocument(header=header, sections=(TableSection(
        "parts", "Parts", (Column("part", "Part"), QTY, Column("unit", "Unit")), rows),))


def test_pdf_and_workbook_show_the_same_figures() -> None:
    doc = _document()
    pdf = io.BytesIO()
    render_pdf(doc, pdf)
    text = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    for shown in ("Seal kit 6 pcs", "Oil 8.4 l", "Wire 1,234.125 m", "Grease n/a kg"):
        assert shown in text, text
    assert "6.000" not in text and "8.400" not in text
    book = io.BytesIO()
    render_xlsx(doc, book)
    ws = load_workbook(book)["Parts"]
    cells = [(row[1].value, row[1].number_format) for row in ws.iter_rows(min_row=2)]
    assert cells == [(6, "#,##0"), (8.4, "#,##0.0"), (1234.125, "#,##0.000"), ("n/a", "General")]
    table = report_to_dict(doc)["sections"][0]
    assert table["columns"][1] == {"key": "qty", "label": "Qty", "type": "decimal", "decimals": 3, "trim": True}
    assert [r["qty"] for r in table["rows"]] == [6, 8.4, 1234.125, None]
