"""Every `edges` route answers as the OpenAPI document says (success and problem responses)."""

from __future__ import annotations

import uuid

import httpx

from tests.accounts import join, new_company
from tests.onboarding.conftest import spec  # noqa: F401  (fixture, used by name)
from tests.production import plant
from tests.production.spec_check import SpecChecker


def test_every_edges_route_answers_as_documented(live_server, spec: SpecChecker) -> None:  # noqa: F811
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)
        operator = join(api, owner, "operator")
        site = plant.site(api, owner)

        def call(method: str, path: str, expect: int, headers: dict[str, str] | None = None, **kw) -> dict | None:
            r = api.request(method, path, headers=owner.headers if headers is None else headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        made = call("POST", "/api/v1/edges", 201, json={"site_id": site["id"], "name": "Hall 1"})
        call("POST", "/api/v1/edges", 409, json={"site_id": site["id"], "name": "Hall 1"})
        call("POST", "/api/v1/edges", 422, json={"site_id": str(uuid.uuid4()), "name": "Hall 2"})
        call("GET", "/api/v1/edges", 200)
        call("GET", "/api/v1/edges", 403, headers=operator.headers)
        call("GET", f"/api/v1/edges/{made['id']}", 200)
        call("GET", f"/api/v1/edges/{uuid.uuid4()}", 404)
        rotated = call("POST", f"/api/v1/edges/{made['id']}/rotate", 200)
        call("GET", "/api/v1/edge/config", 200, headers={"Authorization": f"Bearer {rotated['token']}"})
        call("GET", "/api/v1/edge/config", 401, headers={"Authorization": f"Bearer {made['token']}"})
        call("POST", f"/api/v1/edges/{made['id']}/revoke", 200)
        call("POST", f"/api/v1/edges/{uuid.uuid4()}/revoke", 404)

    documented = {(m.upper(), path) for path, item in spec.spec["paths"].items() for m, op in item.items()
                  if "edges" in op["tags"]}
    assert documented and documented - seen.seen == set()
