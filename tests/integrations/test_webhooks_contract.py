"""Every `webhooks` route answers as the OpenAPI document says (success and problem responses)."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.accounts import join, new_company
from tests.integrations.audit_steps import DEAD_URL
from tests.onboarding.conftest import spec  # noqa: F401  (fixture, used by name)
from tests.production.spec_check import SpecChecker


def test_every_webhooks_route_answers_as_documented(live_server, spec: SpecChecker) -> None:  # noqa: F811
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)
        operator = join(api, owner, "operator")

        def call(method: str, path: str, expect: int, who=owner, **kw) -> dict | None:
            r = api.request(method, "/api/v1/webhooks" + path, headers=who.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        hook = call("POST", "", 201, json={"url": DEAD_URL, "events": ["anomaly.recorded"]})
        call("POST", "", 422, json={"url": "ftp://x", "events": ["anomaly.recorded"]})
        call("GET", "", 200)
        call("GET", "", 403, who=operator)
        call("GET", f"/{hook['id']}", 200)
        call("GET", f"/{uuid.uuid4()}", 404)
        call("PATCH", f"/{hook['id']}", 200, json={"description": "bridge"})
        call("PATCH", f"/{hook['id']}", 422, json={"events": []})
        call("POST", f"/{hook['id']}/rotate-secret", 200, json={"overlap_hours": 1})
        call("POST", f"/{hook['id']}/rotate-secret", 422, json={"overlap_hours": 1000})
        test = call("POST", f"/{hook['id']}/test", 202)
        call("POST", f"/{uuid.uuid4()}/test", 404)
        call("GET", f"/{hook['id']}/deliveries", 200, params={"limit": 5})
        # Not failed yet: 422; the server's worker may already have tried it (nothing listens there): 200.
        early = api.request("POST", f"/api/v1/webhooks/{hook['id']}/deliveries/{test['id']}/retry", headers=owner.headers)
        assert early.status_code in (200, 422), early.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the server's worker tries it once; nothing listens there
            if call("GET", f"/{hook['id']}/deliveries", 200, params={"status": "failed"})["items"]:
                break
            time.sleep(0.2)
        call("POST", f"/{hook['id']}/deliveries/{test['id']}/retry", 200)
        call("POST", f"/{hook['id']}/deliveries/{uuid.uuid4()}/retry", 404)
        call("DELETE", f"/{hook['id']}", 204)
        call("DELETE", f"/{hook['id']}", 404)

    documented = {(m.upper(), path) for path, item in spec.spec["paths"].items() for m, op in item.items()
                  if "webhooks" in op["tags"]}
    assert documented and documented - seen.seen == set()
