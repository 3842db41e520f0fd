"""Every `quality` route (plans, due inspections, inspections, SPC) answers as the OpenAPI document says."""

from __future__ import annotations

import uuid

import httpx

from tests.accounts import new_company
from tests.production.spec_check import SpecChecker
from tests.quality import support


def test_every_quality_route_answers_as_documented(live_server, spec: SpecChecker, app_engine) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)

        def call(method: str, path: str, expect: int, **kw) -> dict | None:
            r = api.request(method, "/api/v1" + path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        shop = support.running_shop(api, owner, app_engine)
        m = shop["machine"]["id"]
        p = call("POST", "/quality/plans", 201, json={"name": "Contract", "product_id": shop["product"]["id"],
                                                       "version": support.version()})
        call("POST", "/quality/plans", 422, json={"name": "Contract", "version": support.version()})
        call("GET", "/quality/plans", 200, params={"q": "contr", "limit": 5})
        call("GET", f"/quality/plans/{p['id']}", 200)
        call("GET", f"/quality/plans/{uuid.uuid4()}", 404)
        base = f"/quality/plans/{p['id']}/versions"
        call("PUT", f"{base}/1", 200, json=support.version(every_parts=10))
        call("PUT", f"{base}/9", 404, json=support.version())
        call("POST", f"{base}/1/release", 200, json={"signature": support.signature(owner)})
        call("PUT", f"{base}/1", 409, json=support.version())
        ver = call("GET", f"{base}/1", 200)
        call("POST", base, 201, json={})
        call("POST", base, 409, json={})
        call("GET", "/quality/due", 200, params={"machine_id": m})
        call("GET", "/quality/due", 404, params={"machine_id": str(uuid.uuid4())})
        call("GET", "/quality/overdue", 200)
        assert support.inspect(api, owner, m, p["id"], ver).status_code == 201
        r = support.inspect(api, owner, m, p["id"], ver, values=["10", "-1", "10"])
        assert r.status_code == 422
        items = call("GET", "/inspections", 200, params={"machine_id": m})["items"]
        call("GET", f"/inspections/{items[0]['id']}", 200)
        call("GET", f"/inspections/{uuid.uuid4()}", 404)
        c = ver["characteristics"][0]["id"]
        call("GET", "/quality/spc", 200, params={"characteristic_id": c, "from": "2020-01-01T00:00:00Z"})
        call("GET", "/quality/spc", 404, params={"characteristic_id": str(uuid.uuid4())})
        day = items[0]["recorded_at"][:10]
        r = api.get("/api/v1/reports/quality", headers=owner.headers,
                    params={"product": shop["product"]["number"], "from": day, "to": day, "format": "xlsx"})
        assert r.status_code == 200, r.text
        call("GET", "/reports/quality", 404, params={"product": "NOPE", "from": day, "to": day})

    # The quality tag also holds nonconformances and CAPA (tests/nonconformances): these are the inspection routes.
    documented = {(m_.upper(), path) for path, item in spec.spec["paths"].items() for m_, op_ in item.items()
                  if "quality" in op_["tags"] and path.startswith(("/api/v1/quality/", "/api/v1/inspections", "/api/v1/reports/quality"))}
    assert documented and documented - seen.seen == set()
