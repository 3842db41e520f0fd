"""JSON rendering: plain data with ISO datetimes and seconds; raw entries streamed."""

from __future__ import annotations

import io
import json
import os

import pytest
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from factoryos.reports import (
    ReportDocument,
    ReportFormat,
    ReportFormatUnsupported,
    ReportInvalid,
    ReportKind,
    iter_json,
    render,
    report_to_dict,
)
from factoryos.reports.synthetic import synthetic_report


def test_dict_mirrors_the_model(documents: dict[ReportKind, ReportDocument]) -> None:
    doc = documents[ReportKind.DOWNTIME_BY_REASON]
    data = json.loads(json.dumps(report_to_dict(doc)))  # survives a real round trip
    assert data["header"]["start"] == "2025-03-03T06:00:00+01:00"
    assert data["header"]["kind"] == "downtime_by_reason"
    assert data["header"]["generated_by"] == "Łukasz Żółć"
    kpis = {k["key"]: k for k in data["kpis"]}
    assert doc.kpis is not None and doc.kpis.downtime is not None
    assert kpis["downtime"]["value"] == doc.kpis.downtime.total_seconds()
    assert kpis["oee"]["type"] == "percent" and kpis["oee"]["value"] == doc.kpis.oee
    table, pareto = data["sections"]
    assert table["type"] == "table"
    assert [c["key"] for c in table["columns"]] == [
        "reason", "category", "stops", "duration", "share", "cumulative"]
    assert table["totals"]["duration"] == pytest.approx(
        sum(r["duration"] for r in table["rows"]))
    assert pareto["type"] == "pareto_chart"
    assert pareto["cumulative"][-1] == pytest.approx(1.0)
    assert data["raw"] == {"title": "Raw entries", "count": 300, "columns": data["raw"]["columns"]}


def test_iter_json_streams_raw_entries(documents: dict[ReportKind, ReportDocument]) -> None:
    doc = documents[ReportKind.PRODUCTION_BY_OPERATOR]
    chunks = list(iter_json(doc))
    data = json.loads("".join(chunks))
    assert len(data["raw"]["rows"]) == 300
    first = data["raw"]["rows"][0]
    assert first["start"] == "2025-03-03T06:00:00+01:00"
    assert first["operator"] == "Łukasz Żółć"
    assert isinstance(first["duration"], float)
    assert data == json.loads(json.dumps({**report_to_dict(doc, include_raw=True)}))


def test_document_without_raw_entries() -> None:
    doc = synthetic_report(ReportKind.OEE_SUMMARY, machines=2)
    assert json.loads("".join(iter_json(doc)))["raw"] is None


@pytest.mark.parametrize("fmt", ["pdf", "XLSX", " json "])
def test_render_dispatches_by_format(fmt: str, documents: dict[ReportKind, ReportDocument]
                                     ) -> None:
    out = io.BytesIO()
    render(documents[ReportKind.REJECTIONS_BY_REASON], fmt, out)
    magic = {"pdf": b"%PDF-", "xlsx": b"PK\x03\x04", "json": b'{"format_version": 1'}
    assert out.getvalue().startswith(magic[ReportFormat.parse(fmt).value])


def test_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(ReportFormatUnsupported) as caught:
        ReportFormat.parse("docx")
    assert caught.value.code == "report_format_unsupported"
    assert "pdf, xlsx, json" in str(caught.value)
    assert ReportFormat.XLSX.media_type.endswith("spreadsheetml.sheet")


def test_bad_raw_row_stops_the_export(documents: dict[ReportKind, ReportDocument]) -> None:
    doc = documents[ReportKind.OEE_SUMMARY]
    assert doc.raw is not None
    columns = doc.raw.columns
    broken = type(doc.raw)(columns, rows=lambda: iter([(None,) * (len(columns) - 1)]))
    with pytest.raises(ReportInvalid, match="raw entries row 1"):
        "".join(iter_json(type(doc)(doc.header, raw=broken)))
    before = set(ALL_TEMP_FILES)
    with pytest.raises(ReportInvalid, match="raw entries row 1"):
        render(type(doc)(doc.header, raw=broken), "xlsx", io.BytesIO())
    left = [path for path in set(ALL_TEMP_FILES) - before if os.path.exists(path)]
    assert left == []  # the aborted export's sheet files are gone at once
