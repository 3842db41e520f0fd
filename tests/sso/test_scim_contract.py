"""The SCIM routes and the SCIM token API answer as the OpenAPI document says: the token API
through the shared SpecChecker (success and problem+json), the SCIM routes through the SCIM one
(each answer and error in SCIM's media type against its documented model, each body the server
took against the documented request body)."""

from __future__ import annotations

import uuid

import httpx

from tests.accounts import join
from tests.production.spec_check import SpecChecker
from tests.sso.scim_spec import ScimSpecChecker
from tests.sso.test_scim_conformance import GROUP, PATCH, SCIM, USER, scim_company


def test_scim_and_token_routes_answer_as_documented(live_server) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        spec = client.get("/api/v1/openapi.json").json()
    seen = SpecChecker(spec)
    scim = ScimSpecChecker(spec)

    with httpx.Client(base_url=live_server.url, timeout=30,
                      event_hooks={"response": [seen.check, scim.check]}) as api:
        t = scim_company(api)
        owner = t.owner.headers
        assert api.get("/api/v1/sso/scim", headers=owner).status_code == 200
        assert api.post("/api/v1/sso/scim/token", json={"overlap_minutes": -1}, headers=owner).status_code == 422
        assert api.post("/api/v1/sso/scim/token", json={"provider_id": str(uuid.uuid4())},
                        headers=owner).status_code == 404
        operator = join(api, t.owner, "operator")
        assert api.get("/api/v1/sso/scim", headers=operator.headers).status_code == 403
        t.token = api.post("/api/v1/sso/scim/token", json={"overlap_minutes": 5}, headers=owner).json()["token"]
        h = t.scim

        for path in ("/ServiceProviderConfig", "/Schemas", f"/Schemas/{USER}", "/ResourceTypes", "/ResourceTypes/User"):
            assert api.get(SCIM + path, headers=h).status_code == 200
        assert api.get(f"{SCIM}/Schemas/urn:nothing", headers=h).status_code == 404
        u = api.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": t.email("kim")}, headers=h).json()
        assert api.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": t.email("kim")},
                        headers=h).status_code == 409
        assert api.get(f"{SCIM}/Users", params={"filter": 'userName eq "x@y.z"'}, headers=h).status_code == 200
        assert api.get(f"{SCIM}/Users", params={"filter": "nonsense"}, headers=h).status_code == 400
        assert api.get(f"{SCIM}/Users/{u['id']}", headers=h).status_code == 200
        assert api.put(f"{SCIM}/Users/{u['id']}", json={"schemas": [USER], "userName": t.email("kim"),
                                                        "displayName": "Kim K"}, headers=h).status_code == 200
        assert api.patch(f"{SCIM}/Users/{u['id']}", json={"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "active", "value": False}]}, headers=h).status_code == 200
        g = api.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "FactoryOS Operators",
                                             "members": [{"value": u["id"]}]}, headers=h).json()
        assert api.get(f"{SCIM}/Groups", headers=h).status_code == 200
        assert api.get(f"{SCIM}/Groups/{g['id']}", headers=h).status_code == 200
        assert api.put(f"{SCIM}/Groups/{g['id']}", json={"schemas": [GROUP], "displayName": "Shift B"},
                       headers=h).status_code == 200
        assert api.patch(f"{SCIM}/Groups/{g['id']}", json={"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": u["id"]}]}]}, headers=h).status_code == 200
        assert api.delete(f"{SCIM}/Groups/{g['id']}", headers=h).status_code == 204
        assert api.delete(f"{SCIM}/Users/{u['id']}", headers=h).status_code == 204
        assert api.get(f"{SCIM}/Users/{u['id']}", headers=h).status_code == 404
        assert api.get(f"{SCIM}/Users", headers={}).status_code == 401
        assert api.delete("/api/v1/sso/scim/token", headers=owner).status_code == 204

    documented = {(m.upper(), p) for p, item in spec["paths"].items() for m in item if p.startswith(SCIM)}
    assert documented == scim.seen and scim.bodies >= 6
    token_api = {(m.upper(), p) for p, item in spec["paths"].items() for m in item
                 if p.startswith("/api/v1/sso/scim")}
    assert token_api and token_api <= seen.seen
