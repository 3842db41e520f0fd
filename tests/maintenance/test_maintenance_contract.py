"""Every `maintenance` route answers as the OpenAPI document says (success and refusals)."""

from __future__ import annotations

import uuid

import httpx

from tests.accounts import new_company
from tests.maintenance import support as s
from tests.production.spec_check import SpecChecker


def test_every_maintenance_route_answers_as_documented(live_server, spec: SpecChecker) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)

        def call(method: str, path: str, expect: int, **kw) -> dict | list | None:
            r = api.request(method, s.BASE + path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        m = s.machine(api, owner)
        asset = call("GET", f"/machines/{m['id']}/asset", 200)
        call("GET", f"/machines/{uuid.uuid4()}/asset", 422)
        call("GET", "/assets", 200, params={"machine_id": m["id"]})
        mould = call("POST", "/assets", 201, json={"kind": "mould", "name": "Lid mould", "movable": True})
        call("POST", "/assets", 422, json={"kind": "spindle", "name": "Spindle", "parent_id": str(uuid.uuid4())})
        call("GET", f"/assets/{mould['id']}", 200)
        call("GET", f"/assets/{uuid.uuid4()}", 404)
        call("PATCH", f"/assets/{asset['id']}", 200, json={"serial": "SN-1"})
        call("PATCH", f"/assets/{asset['id']}", 422, json={"name": "Renamed"})
        call("POST", f"/assets/{mould['id']}/mount", 200, json={"machine_id": m["id"]})
        call("POST", f"/assets/{mould['id']}/mount", 409, json={"machine_id": m["id"]})
        plan = call("POST", "/plans", 201, json={"asset_id": asset["id"], "name": "Service", "every_days": 1,
                                                 "last_done_at": s.ago(days=2).isoformat()})
        call("POST", "/plans", 422, json={"asset_id": asset["id"], "name": "Bad", "every_days": 0})
        call("GET", "/plans", 200, params={"state": "due"})
        call("GET", f"/plans/{plan['id']}", 200)
        call("GET", f"/plans/{uuid.uuid4()}", 404)
        call("PATCH", f"/plans/{plan['id']}", 200, json={"lead_days": 1})
        call("PATCH", f"/plans/{plan['id']}", 422, json={"every_days": -1})
        due = call("GET", "/due", 200)
        wo_id = next(p["open_work_order_id"] for p in due if p["id"] == plan["id"])
        call("GET", "/work-orders", 200, params={"open": "true"})
        req = call("POST", "/work-orders", 201, json={"machine_id": m["id"], "title": "Noise"})
        call("POST", "/work-orders", 422, json={"title": "Noise"})
        call("GET", f"/work-orders/{req['id']}", 200)
        call("GET", f"/work-orders/{uuid.uuid4()}", 404)
        call("PATCH", f"/work-orders/{wo_id}", 200, json={"assignee_id": owner.user_id})
        call("POST", f"/work-orders/{wo_id}/approve", 409, json={})
        call("POST", f"/work-orders/{wo_id}/schedule", 200, json={"scheduled_for": s.now().isoformat()})
        call("POST", f"/work-orders/{wo_id}/start", 200)
        call("POST", f"/work-orders/{wo_id}/start", 409)
        call("POST", f"/work-orders/{wo_id}/finish", 422, json={})
        call("POST", f"/work-orders/{wo_id}/finish", 200, json={"confirm": True})
        call("POST", f"/work-orders/{req['id']}/cancel", 200, json={})
        call("POST", f"/work-orders/{req['id']}/cancel", 409, json={})
        call("GET", "/reliability", 200, params={"from": s.ago(days=1).isoformat(), "to": s.now().isoformat()})
        call("GET", "/reliability", 422, params={"from": s.now().isoformat(), "to": s.ago(days=1).isoformat()})
        call("GET", "/planned-stops", 200, params={"from": s.ago(days=1).isoformat(), "to": s.now().isoformat(),
                                                   "site_id": m["site_id"]})
        call("GET", "/planned-stops", 422, params={"from": s.now().isoformat(), "to": s.ago(days=1).isoformat()})
        day = s.now().date().isoformat()
        r = api.get("/api/v1/reports/maintenance", headers=owner.headers, params={"from": day, "to": day, "format": "pdf"})
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        r = api.get("/api/v1/reports/maintenance", headers=owner.headers, params={"from": day, "to": "2000-01-01"})
        assert r.status_code == 422, r.text
        other = new_company(api)
        r = api.post(s.BASE + f"/work-orders/{req['id']}/approve", headers=other.headers, json={})
        assert r.status_code == 404, r.text  # another company's order does not exist for it
        call("POST", f"/work-orders/{uuid.uuid4()}/approve", 404, json={})

    documented = {(m_.upper(), path) for path, item in spec.spec["paths"].items() for m_, op_ in item.items()
                  if "maintenance" in op_["tags"]}
    assert documented and documented - seen.seen == set()
