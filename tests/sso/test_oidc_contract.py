"""Every OIDC sign-in route answers as the OpenAPI document says, success and problem responses
alike (the provider is the real one under Node)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import free_port
from tests.production.spec_check import SpecChecker
from tests.sso.oidc_support import USERS, Person, add_provider

pytestmark = pytest.mark.slow
ROUTES = {("POST", "/api/v1/auth/sso/device"), ("POST", "/api/v1/auth/sso/device/poll"),
          ("GET", "/api/v1/auth/sso/oidc/{provider_id}/start"), ("GET", "/api/v1/auth/sso/oidc/callback")}


def test_every_oidc_route_answers_as_documented(live_server, plant, app_engine, authenticator) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        seen = SpecChecker(client.get("/api/v1/openapi.json").json())
    owner = plant["owner"]
    down = add_provider(app_engine, authenticator, owner.tenant_id, f"http://127.0.0.1:{free_port()}")
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        def call(method: str, path: str, expect: int, **kw) -> httpx.Response:
            r = api.request(method, path, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r

        start = call("POST", "/api/v1/auth/sso/device", 200, json={"email": USERS["sam"]["email"]}).json()
        call("POST", "/api/v1/auth/sso/device", 404, json={"email": "x@nowhere.example.com"})
        call("POST", "/api/v1/auth/sso/device", 422, json={})
        call("POST", "/api/v1/auth/sso/device", 503, json={"company_id": owner.tenant_id, "provider_id": down})
        call("POST", "/api/v1/auth/sso/device/poll", 200, json={"handle": start["handle"]})
        call("POST", "/api/v1/auth/sso/device/poll", 422, json={"handle": "x" * 40})
        person = Person("sam")
        try:
            person.visit(start["verification_uri_complete"])
        finally:
            person.close()
        call("POST", "/api/v1/auth/sso/device/poll", 200, json={"handle": start["handle"]})
        call("POST", "/api/v1/auth/sso/device/poll", 409, json={"handle": start["handle"]})

        pid = plant["provider_id"]
        go = call("GET", f"/api/v1/auth/sso/oidc/{pid}/start", 302, params={"email": USERS["ana"]["email"]})
        assert go.headers["location"] == go.json()["authorization_url"]
        call("GET", f"/api/v1/auth/sso/oidc/{uuid.uuid4()}/start", 404, params={"company_id": owner.tenant_id})
        call("GET", f"/api/v1/auth/sso/oidc/{pid}/start", 422, params={"company_id": "nope"})
        call("GET", "/api/v1/auth/sso/oidc/callback", 422, params={"state": "forged-state-value", "code": "x"})
        person = Person("ana")
        try:
            back = person.visit(f"{live_server.url}/api/v1/auth/sso/oidc/{pid}/start?email={USERS['ana']['email']}",
                                stop_at=live_server.url + "/api/v1/auth/sso/oidc/callback")
            signed_in = person.browser.get(back)
            assert signed_in.status_code == 200, signed_in.text
            seen.check(signed_in)
        finally:
            person.close()
        call("GET", back.removeprefix(live_server.url), 400)  # another browser: no binding cookie
    assert ROUTES - seen.seen == set()
