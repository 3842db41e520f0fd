"""Every plant, production, downtime, KPI and catalog route answers with JSON that matches
the published OpenAPI 3.1 document (success and problem responses alike)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from openapi_spec_validator import validate

from tests.production import plant
from tests.production.accounts import add_member, new_company
from tests.production.spec_check import SpecChecker

TAGS = {"plant", "machines", "shifts", "production", "downtime", "kpis", "catalog"}
DAY = "2026-09-01"


@pytest.fixture()
def checked(live_server, spec: SpecChecker) -> Iterator[tuple[httpx.Client, SpecChecker]]:
    """A client with its own record of which operations it saw validated."""
    own = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [own.check]}) as client:
        yield client, own


def test_document_is_valid_openapi_and_the_docs_page_is_offline(api: httpx.Client, spec: SpecChecker) -> None:
    validate(spec.spec)
    ops = {(m.upper(), p) for p, item in spec.spec["paths"].items() for m, op in item.items() if set(op["tags"]) & TAGS}
    assert ("GET", "/api/v1/kpis/oee") in ops and ("POST", "/api/v1/production/entry") in ops
    for path, item in spec.spec["paths"].items():
        for op in item.values():
            if set(op["tags"]) & TAGS:
                assert op["x-permission"] and op["security"], path
    html = api.get("/api/v1/docs").text
    # Offline: its one script and style come from this server, nothing from the internet.
    assert '<script src="docs.js">' in html and "https://" not in html and "http://" not in html
    assert "https://" not in api.get("/api/v1/docs.js").text


def test_every_route_answers_as_documented(checked) -> None:
    api, seen = checked
    owner = new_company(api)
    staff = add_member(api, owner, "operator")
    h = owner.headers

    def call(method: str, path: str, expect: int, **kw) -> dict | list | None:
        r = api.request(method, path, headers=h, **kw)
        assert r.status_code == expect, f"{method} {path}: {r.text}"
        return r.json() if r.content else None

    # plant
    s = plant.site(api, owner)
    doomed = plant.site(api, owner)
    call("GET", "/api/v1/sites", 200, params={"q": "plant"})
    call("GET", f"/api/v1/sites/{s['id']}", 200)
    call("PATCH", f"/api/v1/sites/{s['id']}", 200, json={"name": "Main plant"})
    call("DELETE", f"/api/v1/sites/{doomed['id']}", 204)
    call("GET", f"/api/v1/sites/{uuid.uuid4()}", 404)
    for who in (owner, staff):
        plant.operator(api, owner, s["id"], who.user_id)
    call("GET", f"/api/v1/sites/{s['id']}/operators", 200)
    call("DELETE", f"/api/v1/sites/{s['id']}/operators/{staff.user_id}", 204)
    area = call("POST", "/api/v1/areas", 201, json={"site_id": s["id"], "name": "Hall", "code": "H1"})
    call("GET", "/api/v1/areas", 200)
    call("GET", f"/api/v1/areas/{area['id']}", 200)
    call("PATCH", f"/api/v1/areas/{area['id']}", 200, json={"name": "Hall 1"})
    ln = plant.line(api, owner, s["id"], area_id=area["id"])
    spare = plant.line(api, owner, s["id"])
    call("GET", "/api/v1/lines", 200, params={"site_id": s["id"]})
    call("GET", f"/api/v1/lines/{ln['id']}", 200)
    call("PATCH", f"/api/v1/lines/{ln['id']}", 200, json={"name": "Assembly"})
    call("DELETE", f"/api/v1/lines/{spare['id']}", 204)
    m = plant.machine(api, owner, s["id"], line_id=ln["id"])
    gone = plant.machine(api, owner, s["id"])
    call("GET", "/api/v1/machines", 200, params={"line_id": ln["id"]})
    call("GET", f"/api/v1/machines/{m['id']}", 200)
    call("PATCH", f"/api/v1/machines/{m['id']}", 200, json={"status_mapping": {"codes": {"1": "running"}}})
    call("DELETE", f"/api/v1/machines/{gone['id']}", 204)
    yard = call("POST", "/api/v1/areas", 201, json={"site_id": s["id"], "name": "Yard", "code": "Y"})
    call("DELETE", f"/api/v1/areas/{yard['id']}", 204)

    # shifts
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00", [("10:00", "10:30")])
    temp = plant.shift(api, owner, s["id"], "Temp", "14:00", "22:00")
    call("GET", "/api/v1/shifts", 200, params={"site_id": s["id"]})
    call("GET", f"/api/v1/shifts/{early['id']}", 200)
    call("PATCH", f"/api/v1/shifts/{temp['id']}", 200, json={"active": False})
    call("DELETE", f"/api/v1/shifts/{temp['id']}", 204)
    call("GET", "/api/v1/shifts/instances", 200, params={"site_id": s["id"], "from": DAY, "to": DAY})

    # production
    ref = {"machine_id": m["id"], "shift_id": early["id"], "shift_date": DAY}
    plan = call("POST", "/api/v1/production/plan", 201, json=ref | {"target_quantity": 100})
    call("GET", "/api/v1/production/plan", 200, params={"machine_id": m["id"]})
    call("GET", f"/api/v1/production/plan/{plan['id']}", 200)
    call("PATCH", f"/api/v1/production/plan/{plan['id']}", 200, json={"job_ref": "J-9"})
    entry = call("POST", "/api/v1/production/entry", 201, json=ref | {"good_quantity": 50})
    call("GET", "/api/v1/production/entry", 200, params={"shift_instance_id": entry["shift_instance_id"]})
    call("GET", f"/api/v1/production/entry/{entry['id']}", 200)
    call("POST", "/api/v1/production/entry", 409, json=ref | {"good_quantity": 5, "started_at": f"{DAY}T05:00:00Z",
                                                             "ended_at": f"{DAY}T05:10:00Z"})
    call("GET", "/api/v1/production/live", 200, params={"site_id": s["id"]})
    reasons = call("GET", "/api/v1/downtime/reasons", 200)["items"]
    scrap = next(r["id"] for r in reasons if r["code"] == "DEFECT.SURFACE")
    jam = next(r["id"] for r in reasons if r["code"] == "MINOR_STOP.JAM")
    rej = call("POST", "/api/v1/rejections", 201, json=ref | {"quantity": 3, "reason_id": scrap})
    call("GET", "/api/v1/rejections", 200)
    call("GET", f"/api/v1/rejections/{rej['id']}", 200)
    call("DELETE", f"/api/v1/rejections/{rej['id']}", 204)
    call("DELETE", f"/api/v1/production/entry/{entry['id']}", 204)
    call("DELETE", f"/api/v1/production/plan/{plan['id']}", 204)

    # downtime
    reason = call("POST", "/api/v1/downtime/reasons", 201, json={"name": "Power cut", "loss_bucket": "availability",
                                                                 "planned": False})
    call("PATCH", f"/api/v1/downtime/reasons/{reason['id']}", 200, json={"name": "Power outage"})
    ev = call("POST", "/api/v1/downtime", 201, json={"machine_id": m["id"], "started_at": f"{DAY}T06:00:00Z",
                                                     "planned": False})
    call("GET", "/api/v1/downtime", 200, params={"needs_reason": True})
    call("GET", f"/api/v1/downtime/{ev['id']}", 200)
    call("PATCH", f"/api/v1/downtime/{ev['id']}", 200, json={"ended_at": f"{DAY}T06:30:00Z"})
    call("POST", f"/api/v1/downtime/{ev['id']}/reason", 200, json={"reason_id": jam})

    # counter anomalies (the poller records them; test_anomalies_api decides real ones)
    call("GET", f"/api/v1/machines/{m['id']}/anomalies", 200, params={"status": "pending"})
    for decision in ("accept", "discard"):
        call("POST", f"/api/v1/machines/{m['id']}/anomalies/{uuid.uuid4()}/{decision}", 404)

    # KPIs
    call("GET", "/api/v1/kpis/oee", 200, params={"scope": "site", "id": s["id"], "date": DAY})
    call("GET", "/api/v1/kpis/oee", 422, params={"scope": "site", "id": s["id"]})

    # catalog
    for kind in ("machine-models", "materials"):
        e = call("POST", f"/api/v1/catalog/{kind}", 201, json={"category": "cnc", "manufacturer": uuid.uuid4().hex,
                                                               "name": "Model"})
        call("GET", f"/api/v1/catalog/{kind}", 200, params={"mine": True})
        call("GET", f"/api/v1/catalog/{kind}/{e['id']}", 200)
        call("PATCH", f"/api/v1/catalog/{kind}/{e['id']}", 200, json={"specs": {"axes": 5}})
        call("DELETE", f"/api/v1/catalog/{kind}/{e['id']}", 204)

    documented = {(m.upper(), p) for p, item in seen.spec["paths"].items() for m, op in item.items()
                  if set(op["tags"]) & TAGS}
    assert documented - seen.seen == set()
