"""Work orders: a corrective order from a downtime links it and books the time it is in
progress as maintenance downtime; preventive work that needs the machine stopped is a planned
stop; requests wait for a planner; closed orders stay closed; MTBF/MTTR per asset."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import flag_overdue_stops
from tests.accounts import join
from tests.maintenance import support as s
from tests.production import plant

WO = f"{s.BASE}/work-orders"


def _downtime(api, who, machine_id: str) -> list[dict]:
    items = s.ok(api.get("/api/v1/downtime", headers=who.headers, params={"machine_id": machine_id}))["items"]
    return sorted(items, key=lambda d: d["started_at"])


def _reason_code(api, who, reason_id: str | None) -> str | None:
    reasons = s.ok(api.get("/api/v1/downtime/reasons", headers=who.headers, params={"limit": 200}))["items"]
    return next((r["code"] for r in reasons if r["id"] == reason_id), None)


def test_a_corrective_order_from_a_downtime_links_it_and_books_the_time(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    operator = join(api, owner, "operator")
    s.states(app_engine, owner, m["id"], ("running", s.ago(hours=2)), ("unplanned_stop", s.ago(minutes=30)))
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        assert flag_overdue_stops(conn, tenant, s.now()) == 1  # what the poller does every few seconds
    [stop] = _downtime(api, owner, m["id"])
    assert stop["needs_reason"] and stop["ended_at"] is None

    # The operator raises it from the stopped machine: a request until a planner approves.
    wo = s.ok(api.post(WO, headers=operator.headers, json={"kind": "corrective", "downtime_id": stop["id"],
                                                          "title": "Hydraulic leak at the ram"}), 201)
    assert (wo["kind"], wo["status"], wo["downtime_id"], wo["machine_id"]) == \
        ("corrective", "requested", stop["id"], m["id"])
    plant.problem(api.post(WO, headers=owner.headers, json={"kind": "corrective", "downtime_id": stop["id"],
                                                            "title": "Again"}), 409, "downtime_already_linked",
                  "downtime_id")
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 409, "work_order_not_approved", "status")
    plant.problem(api.post(f"{WO}/{wo['id']}/approve", headers=operator.headers, json={}), 403, "permission_denied")
    s.ok(api.post(f"{WO}/{wo['id']}/approve", headers=owner.headers, json={"assignee_id": owner.user_id}))

    started = s.ok(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers))
    assert started["status"] == "in_progress" and started["booked_downtime_id"] is not None
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 409, "work_order_already_started",
                  "status")
    start = datetime.fromisoformat(started["started_at"])
    before, booked = _downtime(api, owner, m["id"])
    # The stop until the work started keeps its own (failure) reason to give; from then on it is
    # corrective maintenance, unplanned, still linked to the machine's stop.
    assert (datetime.fromisoformat(before["ended_at"]), before["needs_reason"]) == (start, True)
    assert booked["id"] == started["booked_downtime_id"]
    assert (datetime.fromisoformat(booked["started_at"]), booked["ended_at"], booked["planned"]) == (start, None, False)
    assert _reason_code(api, owner, booked["reason_id"]) == "BREAKDOWN.REPAIR"

    # The machine runs again: the poller's state change ends the booked stop there.
    runs_again = s.now()
    s.states(app_engine, owner, m["id"], ("running", runs_again))
    plant.problem(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json={}), 422, "confirmation_required",
                  "confirm")
    done = s.ok(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json={
        "confirm": True, "labour_minutes": 25, "notes": "Seal replaced",
        "parts": [{"name": "Seal kit 40 mm", "quantity": 1}, {"name": "Hydraulic oil HLP46 (l)", "quantity": 2.5}]}))
    assert (done["status"], done["labour_minutes"], len(done["parts"]), done["on_time"]) == ("done", 25, 2, None)
    booked = next(d for d in _downtime(api, owner, m["id"]) if d["id"] == booked["id"])
    assert datetime.fromisoformat(booked["ended_at"]) == runs_again.replace(microsecond=runs_again.microsecond)
    assert booked["duration_seconds"] == (runs_again - start).total_seconds()

    # Closed: no edit, no start, named at the field.
    plant.problem(api.patch(f"{WO}/{wo['id']}", headers=owner.headers, json={"notes": "more"}), 409,
                  "work_order_closed", "notes")
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 409, "work_order_closed", "status")


def test_preventive_work_that_needs_the_machine_stopped_is_a_planned_stop(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    s.states(app_engine, owner, m["id"], ("running", s.ago(hours=1)))
    p = s.plan(api, owner, asset["id"], every_days=1, last_done_at=s.ago(days=2).isoformat(), needs_stop=True,
               checklist=[{"task": "Change the filter"}])
    [wo] = s.ok(api.get(WO, headers=owner.headers, params={"asset_id": asset["id"]}))["items"]
    assert (wo["kind"], wo["trigger"], wo["needs_stop"]) == ("preventive", "calendar", True)
    started = s.ok(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers))
    [event] = _downtime(api, owner, m["id"])
    assert (event["id"], event["planned"], event["ended_at"]) == (started["booked_downtime_id"], True, None)
    assert _reason_code(api, owner, event["reason_id"]) == "PLANNED.MAINTENANCE"
    s.ok(api.patch(f"{WO}/{wo['id']}", headers=owner.headers,
                   json={"checklist": [{"task": "Change the filter", "done": True, "note": "clogged"}]}))
    done = s.ok(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json={"confirm": True}))
    # Due a day ago with a 1-day interval: 10 % grace is 2.4 h, so it was late.
    assert (done["status"], done["on_time"], done["checklist"][0]["done"]) == ("done", False, True)
    [event] = _downtime(api, owner, m["id"])
    assert event["ended_at"] == done["finished_at"]
    # The plan counts again from the completion.
    assert s.get_plan(api, owner, p["id"])["anchor_at"] == done["finished_at"]


def test_requests_and_refusals(api, owner) -> None:
    m = s.machine(api, owner)
    reader = join(api, owner, "read_only")
    plant.problem(api.post(WO, headers=reader.headers, json={"machine_id": m["id"], "title": "Noise"}), 403,
                  "permission_denied")
    plant.problem(api.post(WO, headers=owner.headers, json={"kind": "corrective", "machine_id": m["id"],
                                                            "title": "Noise"}), 422, "downtime_required", "downtime_id")
    plant.problem(api.post(WO, headers=owner.headers, json={"title": "Noise"}), 422, "asset_required", "asset_id")
    wo = s.ok(api.post(WO, headers=owner.headers, json={"machine_id": m["id"], "title": "Squeaking belt"}), 201)
    assert wo["status"] == "approved"  # the owner may trigger work orders: no approval round
    r = api.patch(f"/api/v1/machines/{m['id']}", headers=owner.headers, json={"status": "retired"})
    assert r.status_code == 200, r.text
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 422, "machine_retired", "machine_id")
    s.ok(api.post(f"{WO}/{wo['id']}/cancel", headers=owner.headers, json={"note": "machine retired"}))
    plant.problem(api.post(f"{WO}/{wo['id']}/cancel", headers=owner.headers, json={}), 409, "work_order_closed",
                  "status")


def test_mtbf_and_mttr_per_asset_from_the_state_intervals(api, owner, app_engine) -> None:
    m = s.machine(api, owner)  # its site has no shifts: the whole period is planned time
    t0 = (s.ago(hours=6)).replace(second=0, microsecond=0)

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    s.states(app_engine, owner, m["id"], ("running", at(0)), ("unplanned_stop", at(60)), ("running", at(70)),
             ("unplanned_stop", at(130)), ("running", at(135)), ("unplanned_stop", at(150)), ("running", at(151)),
             ("idle", at(180)))
    [rel] = s.ok(api.get(f"{s.BASE}/reliability", headers=owner.headers,
                         params={"from": at(0).isoformat(), "to": at(180).isoformat(), "machine_id": m["id"]}))
    # By hand: running 0–60, 70–130, 135–150, 151–180 = 60 + 60 + 15 + 29 = 164 min, plus the
    # 1-minute stop at 150, a micro-stop (< 120 s) that stays in run time: 165 min = 9900 s.
    # Failures: the stops at 60 (10 min) and 130 (5 min) = 2; unplanned stop time 15 min = 900 s.
    # MTBF = 9900 / 2 = 4950 s; MTTR = 900 / 2 = 450 s.
    assert (rel["run_seconds"], rel["failures"], rel["unplanned_stop_seconds"]) == (9900, 2, 900)
    assert (rel["mtbf_seconds"], rel["mttr_seconds"]) == (4950, 450)
    plant.problem(api.get(f"{s.BASE}/reliability", headers=owner.headers,
                          params={"from": at(10).isoformat(), "to": at(0).isoformat()}), 422, "invalid_range", "to")


def test_closing_asks_the_signature_the_plan_requires(api, owner) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    s.plan(api, owner, asset["id"], name="Press safety inspection", every_days=1, requires_signature=True,
           last_done_at=s.ago(days=1, minutes=1).isoformat(), checklist=[{"task": "Light curtain test"}])
    [wo] = s.ok(api.get(WO, headers=owner.headers, params={"asset_id": asset["id"]}))["items"]
    assert wo["requires_signature"]
    s.ok(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers))
    done = {"labour_minutes": 30, "checklist": [{"task": "Light curtain test", "done": True}]}
    plant.problem(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json=done | {"confirm": True}),
                  422, "work_order_signature_required", "signature")
    plant.problem(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json=done | {
        "signature": {"password": "not the password", "meaning": "verified"}}), 403, "signature_invalid",
        "signature.password")
    closed = s.ok(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json=done | {
        "signature": {"password": owner.password, "meaning": "verified", "reason": "inspection passed"}}))
    assert closed["status"] == "done" and closed["signature_id"] is not None
    [sig] = closed["signatures"]
    assert (sig["id"], sig["signer_id"], sig["meaning"], sig["valid"]) == \
        (closed["signature_id"], owner.user_id, "verified", True)
    # Shown with the order wherever it is read.
    assert s.ok(api.get(f"{WO}/{wo['id']}", headers=owner.headers))["signatures"][0]["valid"] is True
