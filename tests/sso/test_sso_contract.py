"""Every sso route (and the password sign-in through a directory) answers as the OpenAPI
document says, success and problem responses alike."""

from __future__ import annotations

import uuid

import httpx

from tests.production.spec_check import SpecChecker
from tests.sso.slapd import PASSWORDS, Slapd
from tests.sso.support import plant_with_directory, provider_body


def test_every_sso_route_answers_as_documented(live_server, slapd: Slapd) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        seen = SpecChecker(client.get("/api/v1/openapi.json").json())
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        plant = plant_with_directory(api, slapd)
        owner, p = plant.owner, plant.provider

        def call(method: str, path: str, expect: int, **kw) -> dict | None:
            r = api.request(method, path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content else None

        call("GET", "/api/v1/sso/providers", 200)
        call("GET", f"/api/v1/sso/providers/{p['id']}", 200)
        call("GET", f"/api/v1/sso/providers/{uuid.uuid4()}", 404)
        call("POST", "/api/v1/sso/providers", 409, json=provider_body(slapd, plant.people))
        call("POST", "/api/v1/sso/providers", 422, json={"kind": "ldap", "name": "X", "config": {"urls": []}})
        call("PATCH", f"/api/v1/sso/providers/{p['id']}", 200, json={"default_role": "read_only"})
        call("POST", f"/api/v1/sso/providers/{p['id']}/test", 200, json={"username": plant.people.ada})
        call("GET", "/api/v1/sso/settings", 200)
        call("PATCH", "/api/v1/sso/settings", 403, json={"require_mfa_local": True})
        call("PATCH", "/api/v1/sso/settings", 200, json={"require_sso": False})
        call("GET", "/api/v1/auth/config", 200, params={"email": plant.people.ada})
        call("GET", "/api/v1/auth/config", 200)
        for email, password, expect in ((plant.people.ada, PASSWORDS["ada"], 200), (plant.people.ada, "no", 401),
                                        (plant.people.carl, PASSWORDS["carl"], 200)):
            call("POST", "/api/v1/auth/login", expect, json={"email": email, "password": password})
        call("PATCH", f"/api/v1/sso/providers/{p['id']}", 200, json={"refuse_unmapped": True})
        call("POST", "/api/v1/auth/login", 403, json={"email": plant.people.carl, "password": PASSWORDS["carl"]})
        call("PATCH", f"/api/v1/sso/providers/{p['id']}", 200,
             json={"config": dict(p["config"], urls=["ldaps://127.0.0.1:9"])})
        call("POST", "/api/v1/auth/login", 503, json={"email": plant.people.ada, "password": PASSWORDS["ada"]})
        call("DELETE", f"/api/v1/sso/providers/{p['id']}", 204)
