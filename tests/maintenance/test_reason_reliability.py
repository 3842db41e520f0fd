"""MTBF and MTTR per asset and failure reason (`reasons` of /maintenance/reliability): from the
machine's stops and their reasons, and a corrective work order's repair time under the reason of
the downtime it was raised from. Real app over HTTP, real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import flag_overdue_stops
from tests.maintenance import support as s

WO = f"{s.BASE}/work-orders"


def _reason_ids(api, who) -> dict[str, str]:
    items = s.ok(api.get("/api/v1/downtime/reasons", headers=who.headers, params={"limit": 200}))["items"]
    return {r["code"]: r["id"] for r in items}


def _stops(api, who, machine_id: str) -> list[dict]:
    items = s.ok(api.get("/api/v1/downtime", headers=who.headers, params={"machine_id": machine_id}))["items"]
    return sorted(items, key=lambda d: d["started_at"])


def _give_reason(api, who, stop: dict, reason_id: str) -> None:
    s.ok(api.post(f"/api/v1/downtime/{stop['id']}/reason", headers=who.headers, json={"reason_id": reason_id}))


def test_mtbf_and_mttr_per_failure_reason_by_hand(api, owner, app_engine) -> None:
    m = s.machine(api, owner)  # its site has no shifts: the whole period is planned time
    t0 = s.ago(hours=6).replace(second=0, microsecond=0)

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    s.states(app_engine, owner, m["id"], ("running", at(0)), ("unplanned_stop", at(60)), ("running", at(70)),
             ("unplanned_stop", at(130)), ("running", at(135)), ("unplanned_stop", at(150)), ("running", at(151)),
             ("unplanned_stop", at(200)), ("running", at(220)), ("unplanned_stop", at(225)), ("running", at(228)))
    codes = _reason_ids(api, owner)
    stops = _stops(api, owner, m["id"])
    # The 1-minute stop at 150 is a micro-stop: no downtime event, no failure.
    assert [datetime.fromisoformat(d["started_at"]) for d in stops] == [at(x) for x in (60, 130, 200, 225)]
    hydraulic, electrical = codes["BREAKDOWN.MECHANICAL.HYDRAULIC"], codes["BREAKDOWN.ELECTRICAL"]
    _give_reason(api, owner, stops[0], hydraulic)   # 60–70
    _give_reason(api, owner, stops[2], electrical)  # 200–220
    _give_reason(api, owner, stops[3], hydraulic)   # 225–228; the stop at 130 keeps waiting for a reason
    [rel] = s.ok(api.get(f"{s.BASE}/reliability", headers=owner.headers,
                         params={"from": at(0).isoformat(), "to": at(240).isoformat(), "machine_id": m["id"]}))
    # By hand: running 0–60, 70–130, 135–150, 151–200, 220–225, 228–240 = 60 + 60 + 15 + 49 + 5 + 12
    # = 201 min, plus the 1-minute micro-stop at 150 that stays in run time: 202 min = 12120 s.
    # Failures: 60 (10 min), 130 (5 min), 200 (20 min), 225 (3 min) = 4, 38 min = 2280 s.
    assert (rel["run_seconds"], rel["failures"], rel["unplanned_stop_seconds"]) == (12120, 4, 2280)
    # Per reason, most stop time first:
    #   Electrical  1 failure,  20 min = 1200 s: MTTR 1200 s, MTBF 12120 / 1 = 12120 s
    #   Hydraulics  2 failures, 10 + 3 = 13 min = 780 s: MTTR 780 / 2 = 390 s, MTBF 12120 / 2 = 6060 s
    #   no reason   1 failure,  5 min = 300 s: MTTR 300 s, MTBF 12120 s
    got = [(r["code"], r["failures"], r["stop_seconds"], r["mttr_seconds"], r["mtbf_seconds"]) for r in rel["reasons"]]
    assert got == [("BREAKDOWN.ELECTRICAL", 1, 1200, 1200, 12120),
                   ("BREAKDOWN.MECHANICAL.HYDRAULIC", 2, 780, 390, 6060),
                   (None, 1, 300, 300, 12120)]
    assert rel["reasons"][2]["name"] == "No reason given yet" and rel["reasons"][2]["reason_id"] is None
    # The reasons share out the asset's failures and stop time exactly.
    assert sum(r["failures"] for r in rel["reasons"]) == rel["failures"]
    assert sum(r["stop_seconds"] for r in rel["reasons"]) == rel["unplanned_stop_seconds"]

    # A period that begins inside the 200–220 stop: it began before, so it is no failure of this
    # period (as OEE counts it); 225–228 is: 1 Hydraulics failure of 180 s.
    [later] = s.ok(api.get(f"{s.BASE}/reliability", headers=owner.headers,
                           params={"from": at(210).isoformat(), "to": at(240).isoformat(), "machine_id": m["id"]}))
    assert [(r["code"], r["failures"], r["stop_seconds"]) for r in later["reasons"]] == \
        [("BREAKDOWN.MECHANICAL.HYDRAULIC", 1, 180)]
    assert later["failures"] == 1


def test_a_corrective_orders_repair_time_counts_under_the_failures_reason(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    t0 = s.ago(hours=2).replace(second=0, microsecond=0)
    s.states(app_engine, owner, m["id"], ("running", t0), ("unplanned_stop", s.ago(minutes=15)))
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        flag_overdue_stops(conn, tenant, s.now())
    [stop] = _stops(api, owner, m["id"])
    _give_reason(api, owner, stop, _reason_ids(api, owner)["BREAKDOWN.ELECTRICAL"])
    wo = s.ok(api.post(WO, headers=owner.headers, json={"kind": "corrective", "downtime_id": stop["id"],
                                                        "title": "Drive trips"}), 201)
    s.ok(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers))
    s.ok(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json={"confirm": True, "labour_minutes": 15}))
    s.states(app_engine, owner, m["id"], ("running", s.now()))
    # The stop is now three downtime events: the failure (Electrical), the repair the order booked
    # (Corrective maintenance) and the rest after the work; one stop, one failure, under Electrical.
    assert len(_stops(api, owner, m["id"])) >= 2
    [rel] = s.ok(api.get(f"{s.BASE}/reliability", headers=owner.headers,
                         params={"from": t0.isoformat(), "to": s.now().isoformat(), "machine_id": m["id"]}))
    [reason] = rel["reasons"]
    assert (reason["code"], reason["failures"]) == ("BREAKDOWN.ELECTRICAL", 1) and rel["failures"] == 1
    # The whole stop (≥ 15 min), repair included, is the failure's repair time: the asset's MTTR.
    assert reason["stop_seconds"] >= 900
    assert abs(reason["stop_seconds"] - rel["unplanned_stop_seconds"]) < 1e-3
    assert abs(reason["mtbf_seconds"] - rel["mtbf_seconds"]) < 1e-3
