"""Every `orders` route (orders, their status, ERP confirmations) answers as the OpenAPI document says."""

from __future__ import annotations

import uuid

import httpx

from tests.accounts import new_company
from tests.orders import runs_plant
from tests.production.spec_check import SpecChecker


def test_every_orders_route_answers_as_documented(live_server, spec: SpecChecker) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)

        def call(method: str, path: str, expect: int, **kw) -> dict | None:
            r = api.request(method, "/api/v1" + path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        (m,) = runs_plant.shop(api, owner)["machines"]
        body = {"job_number": "C-1", "product": "Bracket", "quantity": 10, "due_date": "2026-09-01",
                "machine_id": m["id"]}
        order = call("POST", "/orders", 201, json=body)
        call("POST", "/orders", 409, json=body)
        call("POST", "/orders", 422, json=body | {"quantity": -1})
        call("GET", "/orders", 200, params={"q": "C-", "status": "planned", "machine_id": m["id"]})
        call("GET", "/orders", 422, params={"status": "busy"})
        call("GET", f"/orders/{order['id']}", 200)
        call("GET", f"/orders/{uuid.uuid4()}", 404)
        call("PATCH", f"/orders/{order['id']}", 200, json={"notes": "rush", "reason": "phone call"})
        call("PATCH", f"/orders/{order['id']}", 422, json={"quantity": 0})
        call("POST", f"/orders/{order['id']}/status", 200, json={"status": "released"})
        call("POST", f"/orders/{order['id']}/status", 409, json={"status": "completed"})
        op = order["operations"][0]["id"]
        call("POST", f"/machines/{m['id']}/run", 201, json={"operation_id": op})
        call("POST", f"/machines/{m['id']}/run/pause", 200, json={})
        call("DELETE", f"/orders/{order['id']}", 409)
        page = call("GET", "/orders/confirmations", 200, params={"limit": 10})
        call("GET", "/orders/confirmations", 200, params={"since": page["next_cursor"]})
        call("GET", "/orders/confirmations", 422, params={"since": "later"})
        other = call("POST", "/orders", 201, json=body | {"job_number": "C-2"})
        call("DELETE", f"/orders/{other['id']}", 204, params={"reason": "typo"})

    documented = {(m_.upper(), path) for path, item in spec.spec["paths"].items() for m_, op_ in item.items()
                  if "orders" in op_["tags"]}
    assert documented and documented - seen.seen == set()
