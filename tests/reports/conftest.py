"""Seeded report documents, rendered once per session and read back by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from factoryos.reports import ReportDocument, ReportKind, render_pdf, render_xlsx
from factoryos.reports.synthetic import synthetic_report

MACHINES = 30  # by shift: 90 rows, enough for three landscape pages
RAW_ROWS = 300


@pytest.fixture(scope="session")
def documents() -> dict[ReportKind, ReportDocument]:
    return {
        kind: synthetic_report(kind, machines=MACHINES, raw_rows=RAW_ROWS) for kind in ReportKind
    }


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory,
             documents: dict[ReportKind, ReportDocument]) -> dict[tuple[ReportKind, str], Path]:
    out = tmp_path_factory.mktemp("reports")
    files = {}
    for kind, doc in documents.items():
        pdf, xlsx = out / f"{kind}.pdf", out / f"{kind}.xlsx"
        render_pdf(doc, pdf)
        render_xlsx(doc, xlsx)
        files[(kind, "pdf")] = pdf
        files[(kind, "xlsx")] = xlsx
    return files
