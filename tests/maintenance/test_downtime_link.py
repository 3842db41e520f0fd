"""The downtime link shows where losses are counted: a repair's booked time is an unplanned loss
under "Corrective maintenance" in the downtime report's table and Pareto, and preventive work that
needs the machine stopped is planned-stop time in OEE and listed apart from the losses as
"Planned maintenance"."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import pytest

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import flag_overdue_stops
from tests.maintenance import support as s

WO = f"{s.BASE}/work-orders"


def _section(doc: dict, key: str) -> dict:
    (found,) = [x for x in doc["sections"] if x["key"] == key]
    return found


def _event(api, who, event_id: str) -> dict:
    items = s.ok(api.get("/api/v1/downtime", headers=who.headers, params={"limit": 200}))["items"]
    return next(d for d in items if d["id"] == event_id)


def test_booked_maintenance_time_in_the_downtime_pareto_and_oee(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    t0 = s.ago(minutes=40)
    s.states(app_engine, owner, m["id"], ("running", t0), ("unplanned_stop", s.ago(minutes=10)))
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        flag_overdue_stops(conn, tenant, s.now())
    [stop] = s.ok(api.get("/api/v1/downtime", headers=owner.headers, params={"machine_id": m["id"]}))["items"]

    repair = s.ok(api.post(WO, headers=owner.headers, json={"kind": "corrective", "downtime_id": stop["id"],
                                                            "title": "Ram does not return"}), 201)
    repair = s.ok(api.post(f"{WO}/{repair['id']}/start", headers=owner.headers))
    time.sleep(1.0)
    s.states(app_engine, owner, m["id"], ("running", s.now()))  # repaired: the machine runs again
    s.ok(api.post(f"{WO}/{repair['id']}/finish", headers=owner.headers, json={"confirm": True}))
    corrective = _event(api, owner, repair["booked_downtime_id"])

    s.plan(api, owner, asset["id"], name="Filter change", every_days=1, last_done_at=s.ago(days=2).isoformat(),
           needs_stop=True)
    [pm] = s.ok(api.get(WO, headers=owner.headers, params={"asset_id": asset["id"], "kind": "preventive"}))["items"]
    pm = s.ok(api.post(f"{WO}/{pm['id']}/start", headers=owner.headers))  # on the running machine: a planned stop
    time.sleep(1.0)
    s.ok(api.post(f"{WO}/{pm['id']}/finish", headers=owner.headers, json={"confirm": True}))
    planned = _event(api, owner, pm["booked_downtime_id"])
    assert (corrective["planned"], planned["planned"]) == (False, True)
    assert corrective["duration_seconds"] >= 1.0 and planned["duration_seconds"] >= 1.0

    day = s.site_today()
    r = api.get("/api/v1/reports/downtime", headers=owner.headers, params={
        "site_id": m["site_id"], "from": (day - timedelta(days=1)).isoformat(), "to": day.isoformat(),
        "format": "json"})
    assert r.status_code == 200, r.text
    doc = r.json()
    losses = {row["reason"]: row for row in _section(doc, "downtime_by_reason")["rows"]}
    assert losses["Corrective maintenance"]["duration"] == pytest.approx(corrective["duration_seconds"], abs=1e-3)
    pareto = _section(doc, "downtime_pareto")
    assert "Corrective maintenance" in pareto["categories"]
    assert "Planned maintenance" not in pareto["categories"]  # planned work is no loss
    apart = {row["reason"]: row for row in _section(doc, "not_downtime")["rows"]}
    assert apart["Planned maintenance"]["duration"] == pytest.approx(planned["duration_seconds"], abs=1e-3)

    # OEE: the preventive stop is planned-stop time (out of planned busy time), the repair a loss.
    start = datetime.fromisoformat(pm["started_at"]) - timedelta(seconds=1)
    oee = s.ok(api.get("/api/v1/kpis/oee", headers=owner.headers, params={
        "scope": "machine", "id": m["id"], "from": start.isoformat(), "to": s.now().isoformat()}))
    assert oee["totals"]["planned_stop_seconds"] == pytest.approx(planned["duration_seconds"], abs=1e-3)
