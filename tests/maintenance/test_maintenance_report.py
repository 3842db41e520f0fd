"""The maintenance report (PDF, XLSX, JSON): the work orders of the period, preventive work on
time, MTBF/MTTR per asset and per asset and failure reason equal to /maintenance/reliability,
top failure reasons (those summed), parts used."""

from __future__ import annotations

import io
import json
import os
import uuid
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import flag_overdue_stops
from tests.maintenance import support as s
from tests.production import plant

WO = f"{s.BASE}/work-orders"
PDF_OUT = os.environ.get("MAINTENANCE_REPORT_PDF")  # a path: keep the PDF to look at


def _section(doc: dict, key: str) -> dict:
    return next(x for x in doc["sections"] if x["key"] == key)


def test_the_report_of_a_period(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    t0 = s.ago(hours=4).replace(second=0, microsecond=0)
    s.states(app_engine, owner, m["id"], ("running", t0), ("unplanned_stop", t0 + timedelta(minutes=60)),
             ("running", t0 + timedelta(minutes=70)), ("unplanned_stop", s.ago(minutes=15)))
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        flag_overdue_stops(conn, tenant, s.now())
    stops = s.ok(api.get("/api/v1/downtime", headers=owner.headers, params={"machine_id": m["id"]}))["items"]
    reasons = s.ok(api.get("/api/v1/downtime/reasons", headers=owner.headers, params={"limit": 200}))["items"]
    hydraulic = next(r["id"] for r in reasons if r["code"] == "BREAKDOWN.MECHANICAL.HYDRAULIC")
    first = min(stops, key=lambda d: d["started_at"])
    s.ok(api.post(f"/api/v1/downtime/{first['id']}/reason", headers=owner.headers, json={"reason_id": hydraulic}))
    # A corrective order on the open stop, and a preventive one done (late).
    open_stop = next(d for d in stops if d["ended_at"] is None)
    wo = s.ok(api.post(WO, headers=owner.headers, json={"kind": "corrective", "downtime_id": open_stop["id"],
                                                        "title": "Ram does not return"}), 201)
    s.ok(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers))
    s.ok(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json={
        "confirm": True, "labour_minutes": 40, "parts": [{"name": "Seal kit", "quantity": 2}]}))
    s.plan(api, owner, asset["id"], name="Monthly check", every_days=30, last_done_at=s.ago(days=40).isoformat())
    [pm] = s.ok(api.get(WO, headers=owner.headers, params={"kind": "preventive"}))["items"]
    s.ok(api.post(f"{WO}/{pm['id']}/start", headers=owner.headers))
    s.ok(api.post(f"{WO}/{pm['id']}/finish", headers=owner.headers, json={
        "confirm": True, "labour_minutes": 90, "parts": [{"name": "Seal kit", "quantity": 1}]}))

    day = s.site_today()
    period = {"from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat()}
    r = api.get("/api/v1/reports/maintenance", headers=owner.headers, params=period | {"format": "json"})
    assert r.status_code == 200, r.text
    doc = json.loads(r.content)
    orders = _section(doc, "work_orders")["rows"]
    assert [(o["number"], o["kind"], o["labour"], o["on_time"]) for o in orders] == [
        ("WO-00001", "corrective", 2400, ""), ("WO-00002", "preventive", 5400, "late")]
    assert all(o["downtime"] > 0 for o in orders)  # both booked maintenance downtime on the stopped machine
    machine = f"{m['code']} Press"
    assert _section(doc, "pm_compliance")["rows"] == [
        {"plan": "Monthly check", "asset": machine, "done": 1, "on_time": 0, "rate": 0.0, "open": 0}]
    rel = s.ok(api.get(f"{s.BASE}/reliability", headers=owner.headers, params={
        "from": doc["header"]["start"], "to": doc["header"]["end"], "machine_id": m["id"]}))[0]
    [row] = [x for x in _section(doc, "reliability")["rows"] if x["asset"] == machine]
    # The same figures (the report's durations are whole microseconds).
    assert (row["failures"], row["mtbf"], row["mttr"]) == \
        (rel["failures"], pytest.approx(rel["mtbf_seconds"], abs=1e-5), pytest.approx(rel["mttr_seconds"], abs=1e-5))
    assert row["failures"] >= 1
    # Per asset and failure reason: the API's `reasons`, one row each (the repair the corrective
    # order booked counts under the failure's Hydraulics or its stop's own reason, not apart).
    pairs = [x for x in _section(doc, "reliability_reasons")["rows"] if x["asset"] == machine]
    assert [(x["failures"], x["stop"], x["mttr"]) for x in pairs] == [
        (r["failures"], pytest.approx(r["stop_seconds"], abs=1e-5), pytest.approx(r["mttr_seconds"], abs=1e-5))
        for r in rel["reasons"]]
    assert sum(x["failures"] for x in pairs) == row["failures"]
    assert not any("BREAKDOWN.REPAIR" in x["reason"] for x in pairs)
    reasons_rows = [x["reason"] for x in _section(doc, "failure_reasons")["rows"]]
    assert any("BREAKDOWN.MECHANICAL.HYDRAULIC" in x for x in reasons_rows), reasons_rows
    # The repair time the corrective order booked is its failure's, not a reason of its own.
    assert not any("BREAKDOWN.REPAIR" in x for x in reasons_rows), reasons_rows
    assert sum(x["stops"] for x in _section(doc, "failure_reasons")["rows"]) == row["failures"]
    [part] = _section(doc, "parts")["rows"]
    assert (part["part"], float(part["quantity"]), part["orders"]) == ("Seal kit", 3.0, 2)

    pdf = api.get("/api/v1/reports/maintenance", headers=owner.headers, params=period | {"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "maintenance-" in pdf.headers["content-disposition"]
    if PDF_OUT:
        with open(PDF_OUT, "wb") as f:
            f.write(pdf.content)
    xlsx = api.get("/api/v1/reports/maintenance", headers=owner.headers, params=period | {"format": "xlsx"})
    book = load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) >= 6, book.sheetnames
    sheet = book["MTBF and MTTR by failure reason"]  # one row per asset and reason, as in the JSON
    cells = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert any(row[:2] == ["Asset", "Failure reason"] for row in cells), cells
    assert sum(1 for row in cells if row and row[0] == machine) == len(pairs), cells
    plant.problem(api.get("/api/v1/reports/maintenance", headers=owner.headers,
                          params={"from": day.isoformat(), "to": (day - timedelta(days=2)).isoformat()}),
                  422, "invalid_range", "to")


def test_days_outside_any_plant_history_are_refused_at_the_field(api, owner) -> None:
    """Year 1 or 9999 would overflow a day before or after: a 422 naming the field, never a 500."""
    for params, field in (({"from": "0001-01-01", "to": "0001-01-01"}, "from"),
                          ({"from": "2026-01-01", "to": "9999-12-31"}, "to")):
        r = api.get("/api/v1/reports/maintenance", headers=owner.headers, params=params | {"format": "json"})
        assert (r.status_code, r.json()["field"]) == (422, field), r.text
