"""Every `integrations` route (MQTT publishing) answers as the OpenAPI document says."""

from __future__ import annotations

import httpx

from tests.accounts import join, new_company
from tests.onboarding.conftest import spec  # noqa: F401  (fixture, used by name)
from tests.production.spec_check import SpecChecker

BASE = "/api/v1/integrations/mqtt-publish"


def test_every_integrations_route_answers_as_documented(live_server, spec: SpecChecker) -> None:  # noqa: F811
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=60, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)
        operator = join(api, owner, "operator")

        def call(method: str, expect: int, path: str = "", who=owner, **kw) -> dict | None:
            r = api.request(method, BASE + path, headers=who.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        call("GET", 404)  # nothing configured yet
        call("PUT", 422, json={"url": "http://broker"})
        # A port nothing listens on: saved, and its test says the broker cannot be reached.
        saved = call("PUT", 200, json={"url": "mqtt://127.0.0.1:9", "mode": "tree", "password": "pw"})
        assert saved is not None and "pw" not in str(saved)
        call("GET", 200)
        call("GET", 403, who=operator)
        call("POST", 200, "/test")
        call("DELETE", 204)
        call("DELETE", 404)

    documented = {(m.upper(), path) for path, item in spec.spec["paths"].items() for m, op in item.items()
                  if "integrations" in op["tags"]}
    assert documented and documented - seen.seen == set()
