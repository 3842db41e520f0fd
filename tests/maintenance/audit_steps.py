"""The route audit walk's steps for the maintenance routes (see tests/audit/walk.py)."""

from __future__ import annotations

from tests.accounts import join
from tests.audit.walk import Expect, Walk, step
from tests.production import plant

B = "/api/v1/maintenance"
WO = "maintenance_work_order"


@step("POST /api/v1/maintenance/assets")
def _asset(w: Walk) -> Expect:
    m = plant.machine(w.http, w.owner, w.state["site"]["id"])
    w.state["mt_machine"] = m
    w.state["mt_machine_asset"] = w.call("GET", f"{B}/machines/{m['id']}/asset").json()
    r = w.call("POST", f"{B}/assets", json={"kind": "mould", "name": "Cover mould", "code": plant.code("MO"),
                                              "movable": True, "cycles_offset": 1000})
    w.state["mt_mould"] = r.json()
    return Expect("create", "maintenance_asset", r.json()["id"], "create")


@step("PATCH /api/v1/maintenance/assets/{asset_id:uuid}")
def _asset_patch(w: Walk) -> Expect:
    a = w.state["mt_machine_asset"]
    w.call("PATCH", f"{B}/assets/{a['id']}", json={"serial": "SN-4711", "installed_on": "2019-05-01",
                                                   "documents": [{"name": "Manual", "link": "manual.pdf"}]})
    return Expect("update", "maintenance_asset", a["id"], "update")


@step("POST /api/v1/maintenance/assets/{asset_id:uuid}/mount")
def _mount(w: Walk) -> Expect:
    a = w.state["mt_mould"]
    w.call("POST", f"{B}/assets/{a['id']}/mount", json={"machine_id": w.state["mt_machine"]["id"]})
    return Expect("update", "maintenance_asset", a["id"], "update")


@step("POST /api/v1/maintenance/plans")
def _plan(w: Walk) -> Expect:
    r = w.call("POST", f"{B}/plans", json={"asset_id": w.state["mt_machine_asset"]["id"], "name": "Lubrication",
                                           "every_run_hours": 100, "checklist": [{"task": "Grease"}]})
    w.state["mt_plan"] = r.json()
    return Expect("create", "maintenance_plan", r.json()["id"], "create")


@step("PATCH /api/v1/maintenance/plans/{plan_id:uuid}")
def _plan_patch(w: Walk) -> Expect:
    p = w.state["mt_plan"]
    w.call("PATCH", f"{B}/plans/{p['id']}", json={"every_run_hours": 120})
    return Expect("update", "maintenance_plan", p["id"], "update")


@step("POST /api/v1/maintenance/work-orders")
def _wo(w: Walk) -> Expect:
    op = join(w.http, w.owner, "operator")  # a request: it waits for the approval step
    r = w.call("POST", f"{B}/work-orders", who=op, json={"machine_id": w.state["mt_machine"]["id"],
                                                          "title": "Oil on the floor"})
    w.state["mt_wo"] = r.json()
    return Expect("create", WO, r.json()["id"], "create")


@step("PATCH /api/v1/maintenance/work-orders/{wo_id:uuid}")
def _wo_patch(w: Walk) -> Expect:
    wo = w.state["mt_wo"]
    w.call("PATCH", f"{B}/work-orders/{wo['id']}", json={"notes": "Seen at the press"})
    return Expect("update", WO, wo["id"], "update")


@step("POST /api/v1/maintenance/work-orders/{wo_id:uuid}/approve")
def _approve(w: Walk) -> Expect:
    wo = w.state["mt_wo"]
    w.call("POST", f"{B}/work-orders/{wo['id']}/approve", json={})
    return Expect("update", WO, wo["id"], "update")


@step("POST /api/v1/maintenance/work-orders/{wo_id:uuid}/schedule")
def _schedule(w: Walk) -> Expect:
    wo = w.state["mt_wo"]
    w.call("POST", f"{B}/work-orders/{wo['id']}/schedule", json={"scheduled_for": "2030-01-07T06:00:00Z"})
    return Expect("update", WO, wo["id"], "update")


@step("POST /api/v1/maintenance/work-orders/{wo_id:uuid}/start")
def _start(w: Walk) -> Expect:
    wo = w.state["mt_wo"]
    w.call("POST", f"{B}/work-orders/{wo['id']}/start")
    return Expect("update", WO, wo["id"], "update")


@step("POST /api/v1/maintenance/work-orders/{wo_id:uuid}/finish")
def _finish(w: Walk) -> Expect:
    wo = w.state["mt_wo"]
    w.call("POST", f"{B}/work-orders/{wo['id']}/finish", json={"confirm": True, "labour_minutes": 15})
    return Expect("update", WO, wo["id"], "update")


@step("POST /api/v1/maintenance/work-orders/{wo_id:uuid}/cancel")
def _cancel(w: Walk) -> Expect:
    r = w.call("POST", f"{B}/work-orders", json={"machine_id": w.state["mt_machine"]["id"], "title": "Check belt"})
    w.call("POST", f"{B}/work-orders/{r.json()['id']}/cancel", json={"note": "duplicate"})
    return Expect("update", WO, r.json()["id"], "update")
