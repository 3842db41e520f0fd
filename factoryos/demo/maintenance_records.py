"""Demo maintenance: assets with their data, plans that fall due while one watches, one request.

Run-hour plans on two moulders count from the moment the demo is seeded: the simulated
machines run, so the first falls due after 3 run minutes and the second after 6 (each warns a
minute before); the due list then makes their preventive work orders. A cycle plan on a CNC
mill falls due after 600 counted parts; the cover mould, bought used with 180 000 shots, is
mounted on the first moulder and due at 182 000. A calendar check is a few days from due.
The operator has reported a problem at a press (a request waiting for approval).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from factoryos.demo.quality_records import Seeder, _missing, _ok

API = "/api/v1/maintenance"


def seed_maintenance(seeder: Seeder) -> dict[str, Any]:
    """Make the demo's maintenance data; returns the plans by name."""
    http = seeder.http
    if seeder.login("manager") is None:
        raise _missing("manager")
    h = seeder.headers()
    machines = _ok(http.get("/api/v1/machines", params={"limit": 100}, headers=h), "machines")["items"]
    by_prefix: dict[str, list[dict[str, Any]]] = {}
    for m in sorted(machines, key=lambda m: m["code"]):
        by_prefix.setdefault(m["code"].split("-")[0], []).append(m)
    moulders, mills, presses = by_prefix.get("IMM", []), by_prefix.get("CNC", []), by_prefix.get("PRS", [])
    if len(moulders) < 2 or not mills:
        return {}

    def asset_of(machine: dict[str, Any]) -> dict[str, Any]:
        return _ok(http.get(f"{API}/machines/{machine['id']}/asset", headers=h), f"asset of {machine['code']}")

    def plan(body: dict[str, Any]) -> dict[str, Any]:
        return _ok(http.post(f"{API}/plans", json=body, headers=h), f"plan {body['name']}")

    first, second = asset_of(moulders[0]), asset_of(moulders[1])
    _ok(http.patch(f"{API}/assets/{first['id']}", json={
        "serial": "IMM-2019-04417", "installed_on": "2019-03-18",
        "documents": [{"name": "Operating manual", "link": "docs/imm-01-manual.pdf"},
                      {"name": "Hydraulic diagram", "link": "docs/imm-01-hydraulics.pdf"}]}, headers=h), "IMM-01")
    checklist = [{"task": "Grease the toggle and tie-bar bushings"}, {"task": "Check the hydraulic oil level"},
                 {"task": "Clean the nozzle and check for leaks"}]
    made = {
        "lube-1": plan({"asset_id": first["id"], "name": "Toggle lubrication", "every_run_hours": 0.05,
                        "lead_run_hours": 0.0167, "checklist": checklist, "estimated_minutes": 20,
                        "needs_stop": True}),
        "lube-2": plan({"asset_id": second["id"], "name": "Toggle lubrication", "every_run_hours": 0.1,
                        "lead_run_hours": 0.0167, "checklist": checklist, "estimated_minutes": 20,
                        "needs_stop": True}),
        "spindle": plan({"asset_id": asset_of(mills[0])["id"], "name": "Spindle taper cleaning",
                         "every_cycles": 600, "lead_cycles": 100, "estimated_minutes": 15, "needs_stop": True,
                         "checklist": [{"task": "Clean and inspect the spindle taper"},
                                       {"task": "Check the drawbar clamping force"}]}),
        "safety": plan({"asset_id": second["id"], "name": "Monthly safety check", "every_weeks": 4, "weekday": 1,
                        "lead_days": 7, "estimated_minutes": 45, "needs_stop": True,
                        "last_done_at": (datetime.now(UTC) - timedelta(days=24)).isoformat(),
                        "checklist": [{"task": "Test the safety gate interlock"},
                                      {"task": "Test the emergency stops"}]}),
    }
    spindle = _ok(http.post(f"{API}/assets", json={
        "kind": "spindle", "name": "Main spindle", "code": "CNC-01-SP", "parent_id": asset_of(mills[0])["id"],
        "manufacturer": "Kessler", "model": "DMS 090", "serial": "KS-77120", "installed_on": "2021-06-01"},
        headers=h), "spindle")
    mould = _ok(http.post(f"{API}/assets", json={
        "kind": "mould", "name": "Cover mould, 2 cavities", "code": "MO-COVER-2", "movable": True,
        "manufacturer": "Hasco", "serial": "M-4471", "cycles_offset": 180_000,
        "documents": [{"name": "Mould drawing", "link": "docs/mo-cover-2.pdf"}]}, headers=h), "mould")
    _ok(http.post(f"{API}/assets/{mould['id']}/mount", json={"machine_id": moulders[0]["id"]}, headers=h),
        "mounting the mould")
    made["mould"] = plan({"asset_id": mould["id"], "name": "Mould service (vents, ejectors)",
                          "every_cycles": 50_000, "next_due_cycles": 182_000, "lead_cycles": 500,
                          "estimated_minutes": 90, "needs_stop": True})
    made["spindle_asset"] = spindle
    if presses and seeder.login("operator") is not None:
        made["request"] = _ok(http.post(f"{API}/work-orders", json={
            "machine_id": presses[0]["id"], "title": "Squeaking noise at the feed rollers",
            "description": "Since the start of the shift, louder at full speed."}, headers=seeder.headers("operator")),
            "the operator's request")
    return made
