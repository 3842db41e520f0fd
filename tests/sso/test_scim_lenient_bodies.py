"""SCIM bodies as identity providers really send them — other attribute-name case, booleans as text,
core attributes this service does not keep, the enterprise extension — are taken as before, and
the OpenAPI document says so: every one of them is valid under the documented request body (the
autouse `documented` check), and the document states the rules JSON Schema cannot express."""

from __future__ import annotations

import httpx

from factoryos.sso.scim_models import ENTERPRISE_SCHEMA
from tests.production.spec_check import inline
from tests.sso.scim_spec import ScimSpecChecker
from tests.sso.test_scim_conformance import (
    GROUP,
    SCIM,
    USER,
    documented,  # noqa: F401  (autouse: every SCIM exchange as documented)
    patch,
    scim_company,
)


def test_provider_shaped_bodies_are_taken_and_documented(http: httpx.Client, documented: ScimSpecChecker) -> None:  # noqa: F811
    t = scim_company(http)
    # Entra ID's create: the enterprise extension, attributes not kept, "True" as text.
    r = http.post(f"{SCIM}/Users", headers=t.scim, json={
        "schemas": [USER, ENTERPRISE_SCHEMA], "externalId": "0c5f-entra", "userName": t.email("uma"),
        "active": "True", "displayName": "Uma Ute", "title": "Process engineer",
        "emails": [{"primary": True, "type": "work", "value": t.email("uma")}],
        "name": {"formatted": "Uma Ute", "familyName": "Ute", "givenName": "Uma"},
        "addresses": [{"type": "work", "locality": "Linz", "primary": True}],
        "phoneNumbers": [{"type": "work", "value": "+43 1"}],
        ENTERPRISE_SCHEMA: {"department": "Moulding", "manager": {"value": "boss"}}})
    assert r.status_code == 201, r.text
    uma = r.json()
    assert (uma["active"], uma["displayName"], uma["name"]["givenName"]) == (True, "Uma Ute", "Uma")
    assert "title" not in uma and ENTERPRISE_SCHEMA not in uma  # taken, not kept

    # Attribute names in other case (RFC 7643 §2.1).
    r = http.post(f"{SCIM}/Users", headers=t.scim, json={
        "SCHEMAS": [USER], "username": t.email("vic"), "DisplayName": "Vic V", "ACTIVE": "false",
        "Name": {"GIVENNAME": "Vic"}})
    assert r.status_code == 201, r.text
    assert (r.json()["userName"], r.json()["displayName"], r.json()["active"]) == (t.email("vic"), "Vic V", False)
    assert r.json()["name"]["givenName"] == "Vic"
    r = http.post(f"{SCIM}/Groups", headers=t.scim, json={
        "schemas": [GROUP], "displayname": "FactoryOS Operators", "Members": [{"value": uma["id"], "display": "Uma"}]})
    assert r.status_code == 201, r.text
    group = r.json()
    assert [m["value"] for m in group["members"]] == [uma["id"]]

    # Okta's PATCH: capitalised ops, a path-less replace naming the extension.
    r = patch(http, t, f"/Users/{uma['id']}",
              {"op": "Replace", "value": {"displayName": "Uma U.", f"{ENTERPRISE_SCHEMA}:department": "Paint",
                                          "nickName": "U"}},
              {"op": "Add", "path": "title", "value": "Lead"})
    assert r.status_code == 200 and r.json()["displayName"] == "Uma U.", r.text
    r = patch(http, t, f"/Groups/{group['id']}", {"op": "Remove", "path": f'members[value eq "{uma["id"]}"]'})
    assert r.status_code == 200 and r.json().get("members", []) == [], r.text
    assert documented.bodies == 5  # each of them checked against the document


def test_the_document_says_what_json_schema_cannot(http: httpx.Client) -> None:
    spec = http.get("/api/v1/openapi.json").json()
    components = spec["components"]["schemas"]
    for path, method, what in (("/scim/v2/Users", "post", "ScimUserIn"), ("/scim/v2/Groups", "post", "ScimGroupIn")):
        content = spec["paths"][path][method]["requestBody"]["content"]
        assert list(content) == ["application/scim+json", "application/json"]
        body = inline(content["application/scim+json"]["schema"], components)
        assert body["additionalProperties"] is True, what  # attributes not named are taken
        assert "match without case" in " ".join(body["description"].split()), what
    user = inline(components["ScimUserIn"], components)
    assert {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"} in user["properties"]["active"]["anyOf"]
    assert ENTERPRISE_SCHEMA in user["properties"]
