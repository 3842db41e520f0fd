"""Seeded report documents rendered once per session, and a seeded plant behind the real API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from factoryos.reports import ReportDocument, ReportKind
from factoryos.reports.pdf import render_pdf
from factoryos.reports.synthetic import synthetic_report
from factoryos.reports.xlsx import render_xlsx
from tests.reports.seed import Plant, seed_plant

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


@pytest.fixture(scope="session")
def api_client(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def seeded(api_client: httpx.Client) -> Plant:
    """One plant with two shifts of production, entered over the API (see `seed.py`)."""
    return seed_plant(api_client)
