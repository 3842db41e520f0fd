"""SCIM 2.0 conformance, written from RFC 7643 (schema) and RFC 7644 (protocol), over the real app
over HTTP on the embedded PostgreSQL: discovery, authentication, Users (create, get, filter,
paginate, PUT, PATCH, DELETE), Groups driving roles through the provider's rules, deactivation
ending sessions at once, error bodies with `scimType`, one audit row per call, and isolation
between companies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.accounts import Session, join, login, new_company
from tests.production import plant
from tests.sso.scim_spec import ScimSpecChecker, watch

SCIM = "/scim/v2"
MEDIA = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Tenant:
    owner: Session
    domain: str
    provider: dict[str, Any]
    token: str

    @property
    def scim(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": MEDIA, "Accept": MEDIA}

    def email(self, who: str) -> str:
        return f"{who}@{self.domain}"


@pytest.fixture(autouse=True)
def documented(http: httpx.Client) -> ScimSpecChecker:
    """Every SCIM exchange of these tests, the lenient bodies identity providers send included, is
    as the OpenAPI document says (tests/sso/scim_spec.py)."""
    return watch(http)


def scim_company(http: httpx.Client, *, default_role: str | None = None) -> Tenant:
    """A company with an OpenID Connect provider (never reached: SCIM needs only its rules and
    domains, and local passwords keep working beside OIDC) and a SCIM token."""
    domain = f"scim-{uuid.uuid4().hex[:8]}.example.com"
    owner = new_company(http, email=f"owner@{domain}")
    body = {"kind": "oidc", "name": "Entra", "email_domains": [domain], "default_role": default_role,
            "config": {"issuer": "https://login.invalid/tenant/v2.0", "client_id": "factoryos"},
            "rules": [{"group": "FactoryOS Supervisors", "role": "supervisor"},
                      {"group": "FactoryOS Operators", "role": "operator"}]}
    r = http.post("/api/v1/sso/providers", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    provider = r.json()
    r = http.post("/api/v1/sso/scim/token", json={"provider_id": provider["id"]}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return Tenant(owner, domain, provider, r.json()["token"])


def scim_error(r: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(MEDIA)
    body = r.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"] and body["code"]
    assert body.get("scimType") == scim_type
    return body


def new_user(http: httpx.Client, t: Tenant, who: str, **over: Any) -> dict[str, Any]:
    body = {"schemas": [USER], "userName": t.email(who), "externalId": f"ext-{who}",
            "name": {"givenName": who.title(), "familyName": "Tester"}, "displayName": f"{who.title()} Tester",
            "active": True, "emails": [{"value": t.email(who), "type": "work", "primary": True}], **over}
    r = http.post(f"{SCIM}/Users", json=body, headers=t.scim)
    assert r.status_code == 201, r.text
    return r.json()


def patch(http: httpx.Client, t: Tenant, path: str, *ops: dict[str, Any]) -> httpx.Response:
    return http.patch(f"{SCIM}{path}", json={"schemas": [PATCH], "Operations": list(ops)}, headers=t.scim)


def role_of(http: httpx.Client, t: Tenant, user_id: str) -> str | None:
    r = http.get(f"/api/v1/users/{user_id}", headers=t.owner.headers)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()["role"]


def account_id(superuser_engine: Engine, email: str) -> str:
    with superuser_engine.connect() as conn:
        return str(conn.execute(text("select id from users where lower(email) = lower(:e)"), {"e": email}).scalar_one())


# ---- discovery and authentication ------------------------------------------------------------------

def test_discovery_documents_describe_the_service(http: httpx.Client) -> None:
    t = scim_company(http)
    spc = http.get(f"{SCIM}/ServiceProviderConfig", headers=t.scim)
    assert spc.status_code == 200 and spc.headers["content-type"].startswith(MEDIA)
    doc = spc.json()
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert doc["patch"]["supported"] is True and doc["filter"]["supported"] is True
    assert doc["bulk"]["supported"] is False and doc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    schemas = http.get(f"{SCIM}/Schemas", headers=t.scim).json()
    assert schemas["schemas"] == [LIST] and {s["id"] for s in schemas["Resources"]} == {USER, GROUP}
    user_schema = http.get(f"{SCIM}/Schemas/{USER}", headers=t.scim).json()
    assert {a["name"] for a in user_schema["attributes"]} >= {"userName", "active", "externalId", "groups"}
    types = http.get(f"{SCIM}/ResourceTypes", headers=t.scim).json()
    assert {(r["name"], r["endpoint"], r["schema"]) for r in types["Resources"]} == {
        ("User", "/Users", USER), ("Group", "/Groups", GROUP)}
    assert http.get(f"{SCIM}/ResourceTypes/Group", headers=t.scim).json()["endpoint"] == "/Groups"
    scim_error(http.get(f"{SCIM}/ResourceTypes/Printer", headers=t.scim), 404)


def test_calls_without_a_valid_token_answer_401(http: httpx.Client) -> None:
    t = scim_company(http)
    forged = t.token[:-4] + ("AAAA" if not t.token.endswith("AAAA") else "BBBB")
    other_company = f"scim_{uuid.uuid4().hex}_{t.token.rsplit('_', 1)[1]}"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {forged}"},
                    {"Authorization": f"Bearer {other_company}"}, {"Authorization": f"Basic {t.token}"},
                    {"Authorization": f"Bearer {t.owner.access_token}"}):
        for method, path in (("GET", "/Users"), ("POST", "/Users"), ("GET", "/ServiceProviderConfig"),
                             ("DELETE", f"/Groups/{uuid.uuid4()}")):
            r = http.request(method, f"{SCIM}{path}", headers=headers, json={"userName": t.email("eve")})
            scim_error(r, 401)
            assert r.headers["www-authenticate"].startswith("Bearer")
    assert http.get(f"{SCIM}/Users", headers=t.scim).status_code == 200


def test_the_token_api_needs_admin_and_rotation_ends_the_old_token(http: httpx.Client) -> None:
    t = scim_company(http)
    operator = join(http, t.owner, "operator")
    assert http.get("/api/v1/sso/scim", headers=operator.headers).status_code == 403
    assert http.post("/api/v1/sso/scim/token", json={}, headers=operator.headers).status_code == 403
    status = http.get("/api/v1/sso/scim", headers=t.owner.headers).json()
    assert status["enabled"] is True and status["provider_name"] == "Entra" and status["endpoint"] == SCIM
    assert status["token_hint"] == "…" + t.token[-6:] and "token" not in status
    # Rotate at once: the old token ends now, the new one works.
    r = http.post("/api/v1/sso/scim/token", json={}, headers=t.owner.headers)
    assert r.status_code == 201
    new = r.json()["token"]
    assert new != t.token and r.json()["provider_id"] == t.provider["id"]
    scim_error(http.get(f"{SCIM}/Users", headers=t.scim), 401)
    assert http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    # Rotate with an overlap: both work until it ends; a third rotation ends the overlapped one at once.
    third = http.post("/api/v1/sso/scim/token", json={"overlap_minutes": 60}, headers=t.owner.headers).json()
    assert third["previous_ends_at"] is not None
    for token in (new, third["token"]):
        assert http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    fourth = http.post("/api/v1/sso/scim/token", json={}, headers=t.owner.headers).json()
    for token in (new, third["token"]):
        scim_error(http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {token}"}), 401)
    # Off: every token ends.
    assert http.delete("/api/v1/sso/scim/token", headers=t.owner.headers).status_code == 204
    scim_error(http.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {fourth['token']}"}), 401)
    assert http.get("/api/v1/sso/scim", headers=t.owner.headers).json()["enabled"] is False
    bad = http.post("/api/v1/sso/scim/token", json={"provider_id": str(uuid.uuid4())}, headers=t.owner.headers)
    assert bad.status_code == 404 and bad.json()["code"] == "sso_provider_not_found"


# ---- users ----------------------------------------------------------------------------------------

def test_create_get_and_the_resource_shape(http: httpx.Client, superuser_engine: Engine) -> None:
    t = scim_company(http, default_role="read_only")
    r = http.post(f"{SCIM}/Users", headers=t.scim, json={
        "schemas": [USER], "userName": t.email("Ada"), "externalId": "e-ada", "active": True,
        "name": {"givenName": "Ada", "familyName": "Lovelace"}, "displayName": "Ada Lovelace"})
    assert r.status_code == 201 and r.headers["content-type"].startswith(MEDIA)
    ada = r.json()
    assert ada["schemas"] == [USER] and uuid.UUID(ada["id"])
    assert ada["userName"] == t.email("Ada") and ada["externalId"] == "e-ada" and ada["active"] is True
    assert ada["name"] == {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"}
    assert ada["emails"] == [{"value": t.email("Ada"), "type": "work", "primary": True}] and ada["groups"] == []
    assert ada["meta"]["resourceType"] == "User" and ada["meta"]["location"].endswith(f"{SCIM}/Users/{ada['id']}")
    assert r.headers["location"] == ada["meta"]["location"]
    assert http.get(f"{SCIM}/Users/{ada['id']}", headers=t.scim).json() == ada
    # The account exists, has no password, and is a member with the provider's default role.
    uid = account_id(superuser_engine, t.email("ada"))
    assert role_of(http, t, uid) == "read_only"
    assert login(http, t.email("Ada"), "any password at all").status_code == 401


def test_filter_and_pagination_as_rfc_7644(http: httpx.Client) -> None:
    t = scim_company(http)
    made = [new_user(http, t, f"p{i}") for i in range(5)]
    found = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{t.email("P3").upper()}"'}, headers=t.scim)
    body = found.json()
    assert body["schemas"] == [LIST] and body["totalResults"] == 1 and body["Resources"][0]["id"] == made[3]["id"]
    by_ext = http.get(f"{SCIM}/Users", params={"filter": 'externalId eq "ext-p1"'}, headers=t.scim).json()
    assert [u["id"] for u in by_ext["Resources"]] == [made[1]["id"]]
    none = http.get(f"{SCIM}/Users", params={"filter": 'userName eq "nobody@example.com"'}, headers=t.scim).json()
    assert none["totalResults"] == 0 and none["Resources"] == []
    page = http.get(f"{SCIM}/Users", params={"startIndex": "2", "count": "2"}, headers=t.scim).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [u["id"] for u in page["Resources"]] == [made[1]["id"], made[2]["id"]]
    tail = http.get(f"{SCIM}/Users", params={"startIndex": "5", "count": "10"}, headers=t.scim).json()
    assert [u["id"] for u in tail["Resources"]] == [made[4]["id"]]
    # §3.4.2.4: startIndex < 1 is 1; count 0 answers the total only.
    zero = http.get(f"{SCIM}/Users", params={"startIndex": "0", "count": "0"}, headers=t.scim).json()
    assert (zero["totalResults"], zero["startIndex"], zero["Resources"]) == (5, 1, [])
    for bad in ('userName co "p"', 'name.familyName eq "Tester"', "userName eq p1", 'userName eq "a" and active eq true'):
        scim_error(http.get(f"{SCIM}/Users", params={"filter": bad}, headers=t.scim), 400, "invalidFilter")
    scim_error(http.get(f"{SCIM}/Users", params={"count": "many"}, headers=t.scim), 400, "invalidValue")


def test_put_replaces_and_patch_applies_operations(http: httpx.Client) -> None:
    t = scim_company(http)
    bob = new_user(http, t, "bob")
    put = http.put(f"{SCIM}/Users/{bob['id']}", headers=t.scim, json={
        "schemas": [USER], "userName": t.email("bob"), "externalId": "ext-bob-2", "active": True,
        "name": {"givenName": "Robert", "familyName": "Builder"}})
    assert put.status_code == 200, put.text
    assert put.json()["externalId"] == "ext-bob-2" and put.json()["name"]["givenName"] == "Robert"
    assert "displayName" not in put.json()  # PUT replaces: what is left out is cleared
    assert put.json()["meta"]["version"] != bob["meta"]["version"]
    r = patch(http, t, f"/Users/{bob['id']}",
              {"op": "Replace", "path": "name.familyName", "value": "Baumeister"},
              {"op": "add", "path": "displayName", "value": "Bob B."},
              {"op": "replace", "value": {"externalId": "ext-bob-3"}},
              {"op": "remove", "path": "name.givenName"},
              {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
               "value": "Assembly"},
              {"op": "add", "path": 'addresses[type eq "work"].locality', "value": "Linz"},
              {"op": "replace", "path": "title", "value": "Setter"})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["name"] == {"familyName": "Baumeister", "formatted": "Bob B."} and after["externalId"] == "ext-bob-3"
    assert http.get(f"{SCIM}/Users/{bob['id']}", headers=t.scim).json() == after
    scim_error(patch(http, t, f"/Users/{bob['id']}", {"op": "replace", "path": "favouriteColour", "value": "x"}),
               400, "invalidPath")
    # emails follow the userName (tests/sso/test_scim_rename.py renames): another address is refused.
    scim_error(patch(http, t, f"/Users/{bob['id']}", {"op": "replace", "path": 'emails[type eq "work"].value',
                                                      "value": t.email("rob")}), 400, "mutability")
    scim_error(patch(http, t, f"/Users/{bob['id']}", {"op": "remove"}), 400, "noTarget")
    scim_error(patch(http, t, f"/Users/{bob['id']}", {"op": "replace", "path": "active", "value": "perhaps"}),
               400, "invalidValue")
    r = http.patch(f"{SCIM}/Users/{bob['id']}", json={"Operations": [{"op": "replace", "path": "active",
                                                                     "value": False}]}, headers=t.scim)
    scim_error(r, 400, "invalidSyntax")  # no PatchOp schema
    scim_error(http.post(f"{SCIM}/Users", content=b"{not json", headers=t.scim), 400, "invalidSyntax")
    # A failed PATCH changed nothing (all operations or none).
    r = patch(http, t, f"/Users/{bob['id']}", {"op": "replace", "path": "displayName", "value": "Changed"},
              {"op": "replace", "path": "favouriteColour", "value": "x"})
    scim_error(r, 400, "invalidPath")
    assert http.get(f"{SCIM}/Users/{bob['id']}", headers=t.scim).json()["displayName"] == "Bob B."


def test_errors_404_409_and_400(http: httpx.Client) -> None:
    t = scim_company(http)
    cy = new_user(http, t, "cy")
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        for rid in (str(uuid.uuid4()), "not-a-uuid"):
            body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]} \
                if method == "PATCH" else {"schemas": [USER], "userName": t.email("cy")}
            scim_error(http.request(method, f"{SCIM}/Users/{rid}", json=body, headers=t.scim), 404)
            scim_error(http.request(method, f"{SCIM}/Groups/{rid}", json=body, headers=t.scim), 404)
    dup = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": t.email("CY")}, headers=t.scim)
    scim_error(dup, 409, "uniqueness")
    dup_ext = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": t.email("cy2"), "externalId": "ext-cy"},
                        headers=t.scim)
    scim_error(dup_ext, 409, "uniqueness")
    scim_error(http.post(f"{SCIM}/Users", json={"schemas": [USER]}, headers=t.scim), 400, "invalidValue")
    scim_error(http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": "not an email"}, headers=t.scim),
               400, "invalidValue")
    outside = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": "someone@elsewhere.example.org"},
                        headers=t.scim)
    assert scim_error(outside, 400, "invalidValue")["code"] == "scim_email_domain"
    group = http.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "Shift A"}, headers=t.scim)
    assert group.status_code == 201
    scim_error(http.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "shift a"}, headers=t.scim),
               409, "uniqueness")
    bad_member = http.post(f"{SCIM}/Groups", headers=t.scim, json={
        "schemas": [GROUP], "displayName": "Shift B", "members": [{"value": str(uuid.uuid4())}]})
    scim_error(bad_member, 400, "invalidValue")
    assert http.get(f"{SCIM}/Users/{cy['id']}", headers=t.scim).status_code == 200


# ---- groups drive roles; deactivation ------------------------------------------------------------

def test_group_membership_drives_roles_and_ends_sessions(http: httpx.Client, superuser_engine: Engine) -> None:
    t = scim_company(http)
    # A member signed in with a password, then provisioned: SCIM links the existing account.
    dora = join(http, t.owner, "operator", email=t.email("dora"))
    d = new_user(http, t, "dora")
    assert role_of(http, t, dora.user_id) is None  # no group, no default role: the rules give no role
    assert http.get("/api/v1/auth/me", headers=dora.headers).status_code == 401
    ops = http.post(f"{SCIM}/Groups", headers=t.scim, json={
        "schemas": [GROUP], "displayName": "FactoryOS Operators", "externalId": "g-ops",
        "members": [{"value": d["id"]}]})
    assert ops.status_code == 201, ops.text
    assert ops.json()["members"][0]["value"] == d["id"] and ops.json()["meta"]["resourceType"] == "Group"
    assert role_of(http, t, dora.user_id) == "operator"
    assert http.get(f"{SCIM}/Users/{d['id']}", headers=t.scim).json()["groups"] == [
        {"value": ops.json()["id"], "$ref": ops.json()["meta"]["location"], "display": "FactoryOS Operators"}]
    session = login(http, t.email("dora")).json()
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    assert http.get("/api/v1/auth/me", headers=headers).status_code == 200
    # Promoted by a second group (the first rule wins): the role changes, her sessions end at once.
    sup = http.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "FactoryOS Supervisors"}, headers=t.scim)
    r = patch(http, t, f"/Groups/{sup.json()['id']}", {"op": "add", "path": "members", "value": [{"value": d["id"]}]})
    assert r.status_code == 200, r.text
    assert role_of(http, t, dora.user_id) == "supervisor"
    assert http.get("/api/v1/auth/me", headers=headers).status_code == 401
    # Removed from supervisors (filter path): back to operator.
    r = patch(http, t, f"/Groups/{sup.json()['id']}", {"op": "remove", "path": f'members[value eq "{d["id"]}"]'})
    assert r.status_code == 200 and r.json()["members"] == []
    assert role_of(http, t, dora.user_id) == "operator"
    # Group list with a filter, without members; a rename away from the rule's name loses the role.
    listed = http.get(f"{SCIM}/Groups", params={"filter": 'displayName eq "factoryos operators"',
                                                 "excludedAttributes": "members"}, headers=t.scim).json()
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]
    r = patch(http, t, f"/Groups/{ops.json()['id']}",  # Okta's shape: the id repeated in a path-less replace
              {"op": "replace", "value": {"id": ops.json()["id"], "displayName": "Visitors"}})
    assert r.status_code == 200 and r.json()["displayName"] == "Visitors"
    assert role_of(http, t, dora.user_id) is None
    r = http.put(f"{SCIM}/Groups/{ops.json()['id']}", headers=t.scim, json={
        "schemas": [GROUP], "displayName": "FactoryOS Operators", "members": [{"value": d["id"]}]})
    assert r.status_code == 200 and role_of(http, t, dora.user_id) == "operator"
    # Deleting the group takes its role away.
    assert http.delete(f"{SCIM}/Groups/{ops.json()['id']}", headers=t.scim).status_code == 204
    scim_error(http.get(f"{SCIM}/Groups/{ops.json()['id']}", headers=t.scim), 404)
    assert role_of(http, t, dora.user_id) is None
    # The owner keeps their role whatever the groups say, and cannot be deactivated by the directory.
    owner_scim = new_user(http, t, "owner")
    assert role_of(http, t, t.owner.user_id) == "owner"
    scim_error(patch(http, t, f"/Users/{owner_scim['id']}", {"op": "replace", "path": "active", "value": False}),
               400, "mutability")


def test_a_rule_naming_sites_limits_the_scim_member_to_them(http: httpx.Client) -> None:
    t = scim_company(http)
    north, south = plant.site(http, t.owner, name="North"), plant.site(http, t.owner, name="South")
    rules = [{"group": "North crew", "role": "operator", "site_ids": [north["id"]]},
             {"group": "Everyone", "role": "read_only"}]
    r = http.patch(f"/api/v1/sso/providers/{t.provider['id']}", json={"rules": rules}, headers=t.owner.headers)
    assert r.status_code == 200, r.text
    gus = join(http, t.owner, "operator", email=t.email("gus"))
    g = new_user(http, t, "gus")
    crew = http.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "North crew",
                                             "members": [{"value": g["id"]}]}, headers=t.scim)
    assert crew.status_code == 201
    member = http.get(f"/api/v1/users/{gus.user_id}", headers=t.owner.headers).json()
    assert member["role"] == "operator" and member["site_ids"] == [north["id"]]
    sites = http.get("/api/v1/sites", headers={"Authorization": f"Bearer {login(http, gus.email).json()['access_token']}"})
    assert [s["id"] for s in sites.json()["items"]] == [north["id"]] and south["id"] != north["id"]


def test_deactivation_ends_sessions_at_once_and_reactivation_restores(http: httpx.Client) -> None:
    t = scim_company(http, default_role="operator")
    eve = join(http, t.owner, "operator", email=t.email("eve"))
    e = new_user(http, t, "eve")
    assert http.get("/api/v1/auth/me", headers=eve.headers).status_code == 200
    # Entra's shape: a replace without a path, "False" as text.
    r = patch(http, t, f"/Users/{e['id']}", {"op": "Replace", "value": {"active": "False"}})
    assert r.status_code == 200 and r.json()["active"] is False
    me = http.get("/api/v1/auth/me", headers=eve.headers)
    assert me.status_code == 401  # the token she already holds, at once
    assert http.post("/api/v1/auth/refresh", json={"refresh_token": eve.refresh_token}).status_code == 401
    signed_in = login(http, t.email("eve")).json()  # her password still opens her account, not the company
    assert signed_in["company"] is None and signed_in["companies"] == []
    assert role_of(http, t, eve.user_id) is None
    deactivated = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{t.email("eve")}"'}, headers=t.scim)
    assert deactivated.json()["Resources"][0]["active"] is False
    r = patch(http, t, f"/Users/{e['id']}", {"op": "replace", "path": "active", "value": True})
    assert r.status_code == 200 and r.json()["active"] is True
    assert role_of(http, t, eve.user_id) == "operator"
    assert login(http, t.email("eve")).json()["company"]["id"] == t.owner.tenant_id
    # DELETE: the person leaves the company (sessions end); the resource is gone.
    fresh = login(http, t.email("eve")).json()
    assert http.delete(f"{SCIM}/Users/{e['id']}", headers=t.scim).status_code == 204
    assert http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 401
    scim_error(http.get(f"{SCIM}/Users/{e['id']}", headers=t.scim), 404)
    assert role_of(http, t, eve.user_id) is None


# ---- isolation and audit -----------------------------------------------------------------------------

def test_a_second_companys_token_sees_nothing_of_the_first(http: httpx.Client) -> None:
    a, b = scim_company(http), scim_company(http)
    ada = new_user(http, a, "ada")
    grp = http.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "Shift A",
                                            "members": [{"value": ada["id"]}]}, headers=a.scim).json()
    listed = http.get(f"{SCIM}/Users", headers=b.scim).json()
    assert listed["totalResults"] == 0 and listed["Resources"] == []
    assert http.get(f"{SCIM}/Groups", headers=b.scim).json()["totalResults"] == 0
    filtered = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{a.email("ada")}"'}, headers=b.scim).json()
    assert filtered["totalResults"] == 0
    for method, path in (("GET", f"/Users/{ada['id']}"), ("DELETE", f"/Users/{ada['id']}"),
                         ("GET", f"/Groups/{grp['id']}"), ("DELETE", f"/Groups/{grp['id']}")):
        scim_error(http.request(method, f"{SCIM}{path}", headers=b.scim), 404)
    scim_error(patch(http, b, f"/Users/{ada['id']}", {"op": "replace", "path": "active", "value": False}), 404)
    # B cannot put A's user into its groups, nor provision a person of A's domain.
    scim_error(http.post(f"{SCIM}/Groups", headers=b.scim, json={
        "schemas": [GROUP], "displayName": "Stolen", "members": [{"value": ada["id"]}]}), 400, "invalidValue")
    taken = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": a.email("ada")}, headers=b.scim)
    assert taken.status_code in (400, 409)
    assert http.get(f"{SCIM}/Users/{ada['id']}", headers=a.scim).json()["active"] is True


def test_every_call_writes_one_audit_row(http: httpx.Client, superuser_engine: Engine) -> None:
    t = scim_company(http)

    def rows() -> list[dict[str, Any]]:
        with superuser_engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(
                "select action, entity_type, entity_id, before, after, actor_id from audit_log "
                "where tenant_id = :t and (entity_type like 'scim%') order by seq"), {"t": t.owner.tenant_id}).mappings()]

    start = len(rows())
    u = new_user(http, t, "fay")
    http.get(f"{SCIM}/Users", params={"filter": 'userName eq "x@example.com"'}, headers=t.scim)
    patch(http, t, f"/Users/{u['id']}", {"op": "replace", "path": "active", "value": False})
    http.get(f"{SCIM}/Users", params={"filter": "bad"}, headers=t.scim)
    http.delete(f"{SCIM}/Users/{u['id']}", headers=t.scim)
    http.get(f"{SCIM}/Users", headers={"Authorization": "Bearer scim_nothing"})  # no company: not audited
    got = rows()[start:]
    assert [(r["action"], r["entity_type"]) for r in got] == [
        ("create", "scim_user"), ("read", "scim_user"), ("update", "scim_user"), ("scim_refused", "scim_request"),
        ("delete", "scim_user")]
    assert got[0]["entity_id"] == u["id"] and got[0]["before"] is None and got[0]["after"]["account_created"] is True
    assert got[2]["before"]["active"] is True and got[2]["after"]["active"] is False
    assert got[3]["after"]["scim_type"] == "invalidFilter" and got[4]["after"] is None
    assert all(t.token not in str(r) for r in got)


@pytest.mark.parametrize("attributes", ["members", "displayName"])
def test_group_attributes_parameter(http: httpx.Client, attributes: str) -> None:
    t = scim_company(http)
    g = http.post(f"{SCIM}/Groups", json={"schemas": [GROUP], "displayName": "G"}, headers=t.scim).json()
    one = http.get(f"{SCIM}/Groups/{g['id']}", params={"attributes": attributes}, headers=t.scim).json()
    assert ("members" in one) is (attributes == "members")
