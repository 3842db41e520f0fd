"""Every `nonconformances` route (NCs and CAPAs) answers as the OpenAPI document says, refusals included."""

from __future__ import annotations

import uuid

import httpx

from tests.nonconformances.support import quality_plant, signature
from tests.production.spec_check import SpecChecker


def test_every_nonconformances_route_answers_as_documented(live_server, spec: SpecChecker) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        p = quality_plant(api)

        def call(method: str, path: str, expect: int, who=p.owner, **kw) -> dict | list | None:
            r = api.request(method, "/api/v1" + path, headers=who.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        m = p.machine["id"]
        nc = call("POST", "/nonconformances", 201, json={"machine_id": m, "quantity": 2, "description": "Dent"})
        call("POST", "/nonconformances", 422, json={"machine_id": m, "quantity": -2, "description": "Dent"})
        call("GET", "/nonconformances", 200, params={"status": "open", "machine_id": m, "q": "dent"})
        call("GET", "/nonconformances", 422, params={"status": "lost"})
        call("GET", f"/nonconformances/{nc['id']}", 200)
        call("GET", f"/nonconformances/{uuid.uuid4()}", 404)
        call("PATCH", f"/nonconformances/{nc['id']}", 200, json={"description": "Dent, 2 mm"})
        call("POST", f"/nonconformances/{nc['id']}/close", 409, json={"signature": signature(p.owner)})
        call("POST", f"/nonconformances/{nc['id']}/disposition", 200, json={"disposition": "rework"})
        call("POST", f"/nonconformances/{nc['id']}/close", 403, json={"signature": signature(p.owner, password="no")})
        call("POST", f"/nonconformances/{nc['id']}/close", 200, json={"signature": signature(p.owner)})
        call("PATCH", f"/nonconformances/{nc['id']}", 409, json={"quantity": 3})
        scrap = {"from": "2026-11-03T00:00:00Z", "to": "2026-11-04T00:00:00Z"}
        call("GET", "/nonconformances/machine-scrap", 200, params=scrap | {"machine_id": m})
        call("GET", "/nonconformances/machine-scrap", 422, params=scrap | {"to": "2026-11-06T00:00:00Z"})

        capa = call("POST", "/capas", 201, json={"title": "Dents", "problem": "Dents at packing",
                                                 "nonconformance_ids": [nc["id"]], "owner_id": p.supervisor.user_id,
                                                 "containment": "Pad the crates"})
        call("POST", "/capas", 422, json={"title": "x", "problem": "y", "nonconformance_ids": []})
        call("GET", "/capas", 200, params={"status": "open", "nonconformance_id": nc["id"]})
        call("GET", f"/capas/{capa['id']}", 200)
        call("GET", f"/capas/{uuid.uuid4()}", 404)
        call("PATCH", f"/capas/{capa['id']}", 200, json={"whys": ["Crates hard"], "root_cause": "No padding"})
        call("POST", f"/capas/{capa['id']}/approve", 200, json={"step": "containment", "signature": signature(p.owner)})
        call("POST", f"/capas/{capa['id']}/approve", 403,
             json={"step": "root_cause", "signature": signature(p.supervisor)}, who=p.supervisor)
        call("POST", f"/capas/{capa['id']}/approve", 409, json={"step": "effectiveness",
                                                              "signature": signature(p.owner)})
        done = call("POST", f"/capas/{capa['id']}/actions", 201, json={
            "description": "Buy padding", "owner_id": p.operator.user_id, "due_date": "2026-01-05"})
        action = done["actions"][0]
        call("GET", "/capas/actions", 200, params={"owner": "me", "overdue": "true"}, who=p.operator)
        call("GET", "/capas/actions", 422, params={"owner": "nobody"})
        call("POST", f"/capas/{capa['id']}/actions/{action['id']}/done", 200, json={"note": "bought"},
             who=p.operator)
        call("POST", f"/capas/{capa['id']}/actions/{uuid.uuid4()}/done", 404, json={})

    documented = {(m_.upper(), path) for path, item in spec.spec["paths"].items() for m_, op_ in item.items()
                  if "nonconformances" in op_["tags"]}
    assert documented and documented - seen.seen == set()
