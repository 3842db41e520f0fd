"""The issue's "Bad input" list, the cases test_plans_due / test_work_orders do not already walk:
negative intervals of every kind, run hours at or below the asset's current reading, a count
equal to it, work started on a retired asset or machine (whose plans then make no orders), started
or finished again once closed, and a cancelled order edited. Each refused over HTTP with its code
and the field named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from factoryos.maintenance.due_duty import generate_for
from tests.maintenance import support as s
from tests.production import plant

PLANS = f"{s.BASE}/plans"
WO = f"{s.BASE}/work-orders"


def test_negative_intervals_and_first_due_points_at_or_below_the_current_reading(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    base = {"asset_id": asset["id"], "name": "Service"}
    for body, field in (({"every_days": -3}, "every_days"), ({"every_weeks": 0}, "every_weeks"),
                        ({"every_weeks": -1}, "every_weeks"), ({"every_run_hours": -2.5}, "every_run_hours"),
                        ({"every_cycles": 0}, "every_cycles")):
        plant.problem(api.post(PLANS, headers=owner.headers, json=base | body), 422, "interval_not_positive", field)
    for body, field in (({"every_days": 7, "lead_days": -1}, "lead_days"),
                        ({"every_cycles": 10, "lead_cycles": -1}, "lead_cycles")):
        r = api.post(PLANS, headers=owner.headers, json=base | body)
        assert (r.status_code, r.json().get("field")) == (422, field), r.text
    # The machine ran 90 minutes and counted 400 parts.
    t0 = s.ago(hours=2).replace(second=0, microsecond=0)
    s.states(app_engine, owner, m["id"], ("running", t0), ("planned_stop", t0 + timedelta(minutes=90)))
    s.counts(app_engine, owner, m["id"], (t0 + timedelta(minutes=5), 400, 0))
    body = plant.problem(api.post(PLANS, headers=owner.headers, json=base | {"every_run_hours": 100,
                                                                            "next_due_run_hours": 1.2}),
                         422, "count_below_current", "next_due_run_hours")
    assert body["current"] == 1.5  # 90 min
    plant.problem(api.post(PLANS, headers=owner.headers, json=base | {"every_cycles": 1000, "next_due_cycles": 400}),
                  422, "count_below_current", "next_due_cycles")  # equal is not above
    p = s.plan(api, owner, asset["id"], every_run_hours=100, next_due_run_hours=2)
    assert s.trigger(p, "run_hours")["remaining"] == 0.5
    plant.problem(api.patch(f"{PLANS}/{p['id']}", headers=owner.headers, json={"every_run_hours": -1}),
                  422, "interval_not_positive", "every_run_hours")


def test_work_on_a_retired_asset_and_closed_orders(api, owner) -> None:
    m = s.machine(api, owner)
    mould = s.ok(api.post(f"{s.BASE}/assets", headers=owner.headers,
                          json={"kind": "mould", "name": "Lid mould", "code": "M-17", "movable": True}), 201)
    wo = s.ok(api.post(WO, headers=owner.headers, json={"asset_id": mould["id"], "title": "Cracked insert"}), 201)
    s.ok(api.patch(f"{s.BASE}/assets/{mould['id']}", headers=owner.headers, json={"status": "retired"}))
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 422, "asset_retired", "asset_id")
    s.ok(api.post(f"{WO}/{wo['id']}/cancel", headers=owner.headers, json={"note": "mould scrapped"}))
    # A cancelled order is closed: not edited, started or finished.
    plant.problem(api.patch(f"{WO}/{wo['id']}", headers=owner.headers, json={"checklist": [{"task": "x"}]}),
                  409, "work_order_closed", "checklist")
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 409, "work_order_closed", "status")
    plant.problem(api.post(f"{WO}/{wo['id']}/finish", headers=owner.headers, json={"confirm": True}),
                  409, "work_order_closed", "status")
    # A done order: finished twice, or its parts changed afterwards.
    done = s.ok(api.post(WO, headers=owner.headers, json={"machine_id": m["id"], "title": "Loose guard"}), 201)
    s.ok(api.post(f"{WO}/{done['id']}/start", headers=owner.headers))
    s.ok(api.post(f"{WO}/{done['id']}/finish", headers=owner.headers, json={"confirm": True}))
    plant.problem(api.post(f"{WO}/{done['id']}/finish", headers=owner.headers, json={"confirm": True}),
                  409, "work_order_closed", "status")
    plant.problem(api.patch(f"{WO}/{done['id']}", headers=owner.headers,
                            json={"parts": [{"name": "Bolt", "quantity": 2}]}), 409, "work_order_closed", "parts")


def test_a_retired_machine_gets_no_work_started_and_no_preventive_orders(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    wo = s.ok(api.post(WO, headers=owner.headers, json={"machine_id": m["id"], "title": "Loose guard"}), 201)
    weekly = s.plan(api, owner, asset["id"], name="Weekly check", every_days=7, last_done_at=s.ago(days=6).isoformat())
    s.ok(api.patch(f"/api/v1/machines/{m['id']}", headers=owner.headers, json={"status": "retired"}))
    plant.problem(api.post(f"{WO}/{wo['id']}/start", headers=owner.headers), 422, "machine_retired", "machine_id")
    # Its plan falls due after the retirement: no order (not by the duty, not by a reader), not on the due list.
    s.ok(api.patch(f"{PLANS}/{weekly['id']}", headers=owner.headers, json={"every_days": 5}))
    assert s.get_plan(api, owner, weekly["id"])["state"] == "due"
    assert generate_for(app_engine, uuid.UUID(owner.tenant_id), datetime.now(UTC)) == []
    assert weekly["id"] not in {p["id"] for p in s.ok(api.get(f"{s.BASE}/due", headers=owner.headers))}
    orders = s.ok(api.get(WO, headers=owner.headers, params={"machine_id": m["id"]}))["items"]
    assert [o["id"] for o in orders] == [wo["id"]]
