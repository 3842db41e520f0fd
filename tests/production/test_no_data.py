"""No data on a real database: an unreadable machine opens no downtime and asks for no reason,
the site's `no_data_policy` is validated and stored, and OEE and reports follow it."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, flag_overdue_stops, record_counts, record_state_change
from factoryos.production.state_batch import StateRow, record_state_changes
from tests.accounts import new_company
from tests.production import plant
from tests.production.test_signals import events, intervals

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def company_machine(api, **site):
    owner = new_company(api)
    s = plant.site(api, owner, micro_stop_seconds=120, **site)
    m = plant.machine(api, owner, s["id"], cycle=10)
    return owner, s, uuid.UUID(owner.tenant_id), uuid.UUID(m["id"])


def change(engine, tenant, machine_id, state, code, when):
    with tenant_transaction(engine, tenant) as conn:
        return record_state_change(conn, tenant, machine_id, state, code, when)


def test_no_data_opens_no_downtime_and_ends_a_stop_run(api, app_engine) -> None:
    _, _, tenant, m = company_machine(api)
    change(app_engine, tenant, m, "running", 1, at(0))
    change(app_engine, tenant, m, "no_data", None, at(10))          # 30 min unreadable
    for minute in (13, 25, 39):                                     # the poller's sweep meanwhile
        with tenant_transaction(app_engine, tenant) as conn:
            assert flag_overdue_stops(conn, tenant, at(minute)) == 0
    change(app_engine, tenant, m, "running", 1, at(40))
    # 70 s stop, 100 s unreadable, 70 s stop: two micro-stops, not one 240 s stop.
    change(app_engine, tenant, m, "unplanned_stop", 9, at(50))
    change(app_engine, tenant, m, "no_data", None, at(50) + timedelta(seconds=70))
    change(app_engine, tenant, m, "unplanned_stop", 9, at(50) + timedelta(seconds=170))
    change(app_engine, tenant, m, "running", 1, at(50) + timedelta(seconds=240))
    assert events(app_engine, tenant, m) == []
    assert [s for s, *_ in intervals(app_engine, tenant, m)] == [
        "running", "no_data", "running", "unplanned_stop", "no_data", "unplanned_stop", "running"]
    # An old `offline` row still is a stop: the same pattern with it opens downtime.
    change(app_engine, tenant, m, "unplanned_stop", 9, at(60))
    change(app_engine, tenant, m, "offline", None, at(60) + timedelta(seconds=70))
    change(app_engine, tenant, m, "running", 1, at(60) + timedelta(seconds=170))
    assert [(e[0], e[2], e[3]) for e in events(app_engine, tenant, m)] == [
        (at(60), "machine", True), (at(60) + timedelta(seconds=70), "machine", True)]


def test_the_batch_path_opens_no_downtime_for_no_data_either(api, app_engine) -> None:
    _, _, tenant, m = company_machine(api)
    rows = [StateRow(m, "running", 1, at(0)), StateRow(m, "no_data", None, at(1)),
            StateRow(m, "unplanned_stop", 9, at(31)), StateRow(m, "running", 1, at(31.5))]
    with tenant_transaction(app_engine, tenant) as conn:
        record_state_changes(conn, tenant, rows)
    with tenant_transaction(app_engine, tenant) as conn:
        assert flag_overdue_stops(conn, tenant, at(40)) == 0
    assert events(app_engine, tenant, m) == []
    assert intervals(app_engine, tenant, m)[1] == ("no_data", None, at(1), at(31))


def test_site_no_data_policy_defaults_validates_and_changes(api) -> None:
    owner = new_company(api)
    h = owner.headers
    s = plant.site(api, owner)
    assert s["no_data_policy"] == "busy"
    r = api.patch(f"/api/v1/sites/{s['id']}", json={"no_data_policy": "planned"}, headers=h)
    assert r.status_code == 200 and r.json()["no_data_policy"] == "planned"
    assert api.get(f"/api/v1/sites/{s['id']}", headers=h).json()["no_data_policy"] == "planned"
    bad = api.patch(f"/api/v1/sites/{s['id']}", json={"no_data_policy": "sometimes"}, headers=h)
    assert plant.problem(bad, 422, "validation_failed", "no_data_policy")
    nulled = api.patch(f"/api/v1/sites/{s['id']}", json={"no_data_policy": None}, headers=h)
    assert plant.problem(nulled, 422, "null_not_allowed", "no_data_policy")
    created = api.post("/api/v1/sites", json={"name": "Hall 2", "code": plant.code("S"), "timezone": "UTC",
                                              "no_data_policy": "never"}, headers=h)
    assert plant.problem(created, 422, "validation_failed", "no_data_policy")
    s2 = plant.site(api, owner, no_data_policy="unplanned")
    assert s2["no_data_policy"] == "unplanned"
    # A status mapping cannot claim a PLC code means "no data": only the poller says so.
    r = api.post("/api/v1/machines", json={"site_id": s["id"], "code": plant.code("M"), "name": "Press",
                                           "ideal_cycle_seconds": 10,
                                           "status_mapping": {"codes": {"9": "no_data"}}}, headers=h)
    assert r.status_code == 422 and "set by the poller" in r.text


# 08:00-09:00 UTC: running, 10 min no data, running, a 5 min breakdown, running; 250 good, 20 rejects
# at 10 s ideal. Worked out in tests/kpi/test_kpi_no_data.py: per policy (planned busy, run) and OEE.
EXPECTED = {
    "busy": (3600, 3300, 25 / 36),
    "planned": (3000, 2700, 5 / 6),
    "unplanned": (3600, 2700, 25 / 36),
}


@pytest.mark.parametrize("policy", list(EXPECTED))
def test_oee_and_reports_follow_the_site_policy(api, http, app_engine, policy) -> None:
    owner, site, tenant, m = company_machine(api, timezone="UTC", no_data_policy=policy)
    for state, code, minute in (("running", 1, 0), ("no_data", None, 20), ("running", 1, 30),
                                ("unplanned_stop", 9, 40), ("running", 1, 45), ("idle", 2, 60)):
        change(app_engine, tenant, m, state, code, at(minute))
    with tenant_transaction(app_engine, tenant) as conn:
        record_counts(conn, tenant, [CountRow(m, at(5), 125, 10, "a"), CountRow(m, at(50), 125, 10, "b")])
    r = api.get("/api/v1/kpis/oee", params={"scope": "machine", "id": str(m), "from": at(0).isoformat(),
                                           "to": at(60).isoformat()}, headers=owner.headers)
    assert r.status_code == 200, r.text
    totals, kpis = r.json()["totals"], r.json()["kpis"]
    planned_busy, run, oee = EXPECTED[policy]
    assert (totals["planned_busy_seconds"], totals["run_seconds"]) == (planned_busy, run)
    assert (totals["no_data_seconds"], totals["no_data_count"]) == (600, 1)
    assert totals["no_data_planned_seconds"] == (600 if policy == "planned" else 0)
    assert totals["no_data_unplanned_seconds"] == (600 if policy == "unplanned" else 0)
    assert (totals["unplanned_stop_seconds"], totals["failure_count"], kpis["mttr_seconds"]) == (300, 1, 300)
    assert kpis["oee"] == pytest.approx(oee, rel=1e-12)
    # Reports list the gap as its own loss, next to the downtime it is not part of.
    doc = api.get("/api/v1/reports/downtime", params={"site_id": site["id"], "from": at(0).isoformat(),
                                                      "to": at(60).isoformat(), "format": "json"},
                  headers=owner.headers)
    assert doc.status_code == 200, doc.text
    body = doc.json()
    # Listed apart from the downtime losses (which add up to the Downtime figure), not among them.
    (table,) = [s for s in body["sections"] if s["key"] == "not_downtime"]
    assert {(r["reason"], r["stops"], r["duration"]) for r in table["rows"]} >= {("No data", 1, 600)}
    (losses,) = [s for s in body["sections"] if s["key"] == "downtime_by_reason"]
    assert "No data" not in {r["reason"] for r in losses["rows"]}
    assert {t["key"]: t["value"] for t in body["kpis"]}["no_data"] == 600
    if policy == "busy":  # the renderers are policy-blind: one look at each file is enough
        query = {"site_id": site["id"], "from": at(0).isoformat(), "to": at(60).isoformat()}
        pdf = http.get("/api/v1/reports/downtime", params=query | {"format": "pdf"}, headers=owner.headers)
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "No data" in text and "Machine not read" in text
        xlsx = http.get("/api/v1/reports/downtime", params=query | {"format": "xlsx"}, headers=owner.headers)
        book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
        cells = [row for ws in book.worksheets for row in ws.iter_rows(values_only=True)]
        assert any(row[:3] == ("No data", "Machine not read", 1) for row in cells)
        assert any(row[:1] == ("No data",) and row[1] is not None for row in cells)  # the summary tile
