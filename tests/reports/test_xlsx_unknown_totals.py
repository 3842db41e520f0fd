"""A column of the XLSX whose every value is "n/a" totals "n/a", as the PDF does.

A shift without a plan has no hourly target: each hour reads "n/a". The totals row summed the
column with `=SUM(…)`, which Excel computes as 0 over text, so the spreadsheet said the target
was 0 and the shift was hundreds of parts above it while the PDF said "n/a". Real server over
HTTP; the workbook reopened with openpyxl.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import httpx
from openpyxl import load_workbook

from tests.accounts import join, new_company
from tests.production import plant


def test_hourly_target_of_a_shift_without_a_plan_totals_n_a(api_client: httpx.Client) -> None:
    owner = new_company(api_client, timezone="UTC")
    site = plant.site(api_client, owner, timezone="UTC")
    shift = plant.shift(api_client, owner, site["id"], "Early", "06:00", "14:00")
    machine = plant.machine(api_client, owner, site["id"], cycle=10, name="Press")
    worker = join(api_client, owner, "operator")
    plant.operator(api_client, owner, site["id"], worker.user_id)
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    start = datetime(day.year, day.month, day.day, 6, tzinfo=UTC)
    entry = api_client.post("/api/v1/production/entry", headers=owner.headers, json={
        "machine_id": machine["id"], "shift_id": shift["id"], "shift_date": day.isoformat(), "good_quantity": 300,
        "operator_id": worker.user_id, "started_at": start.isoformat(), "ended_at": (start + timedelta(hours=1)).isoformat()})
    assert entry.status_code == 201, entry.text

    r = api_client.get("/api/v1/reports/shifts", headers=owner.headers, params={
        "format": "xlsx", "site_id": site["id"], "date": day.isoformat(), "shift": "Early"})
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content))["Production per hour"]
    header = {cell.value: cell.column_letter for cell in ws[1]}
    total = next(row[0].row for row in ws.iter_rows() if row[0].value == "Total" or row[1].value == "Shift")

    assert ws[f"{header['Good']}{total}"].value.startswith("=SUM(")  # known values still add up live
    assert ws[f"{header['Target']}{total}"].value == "n/a"  # not =SUM over "n/a" cells, which Excel reads as 0
    assert "n/a" in ws[f"{header['vs target']}{total}"].value  # good − "n/a": the formula's own "n/a"
