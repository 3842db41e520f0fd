"""Every `products` route answers as the OpenAPI document says (success and problem responses)."""

from __future__ import annotations

import base64
import uuid

import httpx

from tests.accounts import new_company
from tests.production import plant
from tests.production.spec_check import SpecChecker


def test_every_products_route_answers_as_documented(live_server, spec: SpecChecker) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)

        def call(method: str, path: str, expect: int, **kw) -> dict | None:
            r = api.request(method, "/api/v1/products" + path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        machine = plant.machine(api, owner, plant.site(api, owner)["id"], code="PRESS-1")
        p = call("POST", "", 201, json={"number": "P-1", "name": "Bracket"})
        doomed = call("POST", "", 201, json={"number": "P-2", "name": "Hinge"})
        call("GET", "", 200, params={"q": "P", "status": "active", "limit": 1})
        call("GET", f"/{p['id']}", 200)
        call("GET", f"/{uuid.uuid4()}", 404)
        call("PATCH", f"/{p['id']}", 200, json={"unit": "kg"})
        call("PATCH", f"/{p['id']}", 409, json={"number": "P-2"})
        call("DELETE", f"/{doomed['id']}", 204)
        call("PUT", f"/{p['id']}/routing", 200, json={"operations": [
            {"seq": 10, "name": "Press", "resources": [{"machine_id": machine["id"], "cycle_seconds": 9}]}]})
        call("PUT", f"/{p['id']}/routing", 422, json={"operations": [
            {"seq": 10, "name": "Press", "resources": [{"machine_id": machine["id"], "cycle_seconds": 0}]}]})
        call("GET", f"/{p['id']}/routing", 200)
        for path, text in (("/import", "Number,Name\nP-3,Axle\n"),
                           ("/routings/import", "Product,Op,Operation,Machine,Cycle\nP-1,10,Press,PRESS-1,8\n")):
            call("GET", f"{path}/limits", 200)
            content = base64.b64encode(text.encode()).decode()
            call("POST", path, 200, json={"file_name": "f.csv", "content": content})
            call("POST", path, 200, json={"file_name": "f.csv", "content": content, "dry_run": False})
            call("POST", path, 422, json={"file_name": "f.csv", "content": "not base64!"})

    documented = {(m.upper(), path) for path, item in spec.spec["paths"].items() for m, op in item.items()
                  if "products" in op["tags"]}
    assert documented and documented - seen.seen == set()
