"""The SCIM routes and the SCIM token API answer as the OpenAPI document says: the token API
through the shared SpecChecker (success and problem+json), the SCIM routes by validating each
answer against its documented model, and each SCIM error against the SCIM error model."""

from __future__ import annotations

import re
import uuid

import httpx
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter

from factoryos.sso.scim_models import ScimErrorBody
from tests.accounts import join
from tests.production.spec_check import SpecChecker
from tests.sso.test_scim_conformance import GROUP, PATCH, SCIM, USER, scim_company

ERROR_SCHEMA = TypeAdapter(ScimErrorBody).json_schema(mode="serialization", by_alias=True)


def _template(spec: dict, path: str) -> str:
    for template in spec["paths"]:
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path):
            return template
    raise AssertionError(f"{path} is not documented")


def test_scim_and_token_routes_answer_as_documented(live_server) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        spec = client.get("/api/v1/openapi.json").json()
    seen = SpecChecker(spec)
    scim_seen: set[tuple[str, str]] = set()

    def check_scim(response: httpx.Response) -> None:
        response.read()
        path = response.request.url.path
        if not path.startswith(SCIM):
            return
        method, template = response.request.method, _template(spec, path)
        scim_seen.add((method, template))
        if response.status_code == 204:
            return
        assert response.headers["content-type"].startswith("application/scim+json"), path
        if response.status_code >= 400:
            schema = ERROR_SCHEMA
        else:
            answer = spec["paths"][template][method.lower()]["responses"][str(response.status_code)]
            schema = {**answer["content"]["application/json"]["schema"], "components": spec["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(response.json()))
        assert not errors, f"{method} {template} {response.status_code}: {errors[0].message}"

    with httpx.Client(base_url=live_server.url, timeout=30,
                      event_hooks={"response": [seen.check, check_scim]}) as api:
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
    assert documented == scim_seen
    token_api = {(m.upper(), p) for p, item in spec["paths"].items() for m in item
                 if p.startswith("/api/v1/sso/scim")}
    assert token_api and token_api <= seen.seen
