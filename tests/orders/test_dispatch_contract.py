"""Every `dispatch` route (machine queues, runs at the machine) answers as the OpenAPI document says."""

from __future__ import annotations

import uuid

import httpx

from tests.accounts import new_company
from tests.orders import runs_plant
from tests.production.spec_check import SpecChecker


def test_every_dispatch_route_answers_as_documented(live_server, spec: SpecChecker, app_engine) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)

        def call(method: str, path: str, expect: int, **kw) -> dict | None:
            r = api.request(method, "/api/v1" + path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        (m,) = runs_plant.shop(api, owner)["machines"]
        mo = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}])
        op = mo["operations"][0]
        run = f"/machines/{m['id']}/run"
        call("GET", f"/machines/{m['id']}/queue", 200, params={"shifts": 2})
        call("GET", f"/machines/{uuid.uuid4()}/queue", 404)
        call("PUT", f"/machines/{m['id']}/queue", 200, json={"operation_ids": [op]})
        call("PUT", f"/machines/{m['id']}/queue", 422, json={"operation_ids": []})
        call("POST", f"/orders/operations/{op}/dispatch", 200, json={"machine_id": m["id"], "position": 1})
        call("POST", f"/orders/operations/{uuid.uuid4()}/dispatch", 404, json={"machine_id": m["id"]})
        assert call("GET", run, 200) is None
        call("POST", run, 201, json={"operation_id": op})
        call("POST", run, 409, json={"order_number": mo["number"]})
        call("GET", run, 200)
        call("POST", run + "/setup-done", 200)
        call("POST", run + "/setup-done", 409)
        call("POST", run + "/pause", 200, json={"reason": "shift end"})
        call("POST", run + "/pause", 409, json={})
        call("POST", run, 201, json={"order_number": mo["number"]})
        call("POST", run + "/complete", 200, json={"final_good": 10})
        call("POST", run + "/complete", 409, json={})

    documented = {(m_.upper(), path) for path, item in spec.spec["paths"].items() for m_, op_ in item.items()
                  if "dispatch" in op_["tags"]}
    assert documented and documented - seen.seen == set()
