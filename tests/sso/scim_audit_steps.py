"""The route audit walk's steps for SCIM (see tests/audit/walk.py): the company's token API, then
each SCIM call made with that token (one audit row each, in the company)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.audit.walk import Expect, Walk, step

SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _scim(w: Walk, method: str, path: str, **kw: Any) -> httpx.Response:
    r = w.http.request(method, SCIM + path, headers={"Authorization": f"Bearer {w.state['scim_token']}"}, **kw)
    assert r.status_code < 400, f"{method} {path}: {r.status_code} {r.text}"
    return r


def _domain(w: Walk) -> str:
    return w.state["sso_provider"]["email_domains"][0]


@step("POST /api/v1/sso/scim/token")
def _scim_token(w: Walk) -> Expect:
    r = w.call("POST", "/api/v1/sso/scim/token", json={"provider_id": w.state["sso_provider"]["id"]})
    w.state["scim_token"] = r.json()["token"]
    return Expect("create", "scim_token", w.owner.tenant_id, "create")


@step("POST /scim/v2/Users")
def _scim_create_user(w: Walk) -> Expect:
    r = _scim(w, "POST", "/Users", json={"schemas": [USER], "userName": f"scim-ada@{_domain(w)}",
                                         "name": {"givenName": "Ada", "familyName": "Walker"}})
    w.state["scim_user"] = r.json()
    return Expect("create", "scim_user", r.json()["id"], "create")


@step("PUT /scim/v2/Users/{user_id}")
def _scim_replace_user(w: Walk) -> Expect:
    u = w.state["scim_user"]
    _scim(w, "PUT", f"/Users/{u['id']}", json={"schemas": [USER], "userName": u["userName"], "externalId": "walk-1",
                                                "displayName": "Ada Walker"})
    return Expect("update", "scim_user", u["id"], "update")


@step("PATCH /scim/v2/Users/{user_id}")
def _scim_patch_user(w: Walk) -> Expect:
    u = w.state["scim_user"]
    _scim(w, "PATCH", f"/Users/{u['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": False}]})
    return Expect("update", "scim_user", u["id"], "update")


@step("POST /scim/v2/Groups")
def _scim_create_group(w: Walk) -> Expect:
    r = _scim(w, "POST", "/Groups", json={"schemas": [GROUP], "displayName": "operators",
                                          "members": [{"value": w.state["scim_user"]["id"]}]})
    w.state["scim_group"] = r.json()
    return Expect("create", "scim_group", r.json()["id"], "create")


@step("PUT /scim/v2/Groups/{group_id}")
def _scim_replace_group(w: Walk) -> Expect:
    g = w.state["scim_group"]
    _scim(w, "PUT", f"/Groups/{g['id']}", json={"schemas": [GROUP], "displayName": "supervisors", "members": []})
    return Expect("update", "scim_group", g["id"], "update")


@step("PATCH /scim/v2/Groups/{group_id}")
def _scim_patch_group(w: Walk) -> Expect:
    g = w.state["scim_group"]
    _scim(w, "PATCH", f"/Groups/{g['id']}", json={"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": w.state["scim_user"]["id"]}]}]})
    return Expect("update", "scim_group", g["id"], "update")


@step("DELETE /scim/v2/Groups/{group_id}")
def _scim_delete_group(w: Walk) -> Expect:
    g = w.state["scim_group"]
    _scim(w, "DELETE", f"/Groups/{g['id']}")
    return Expect("delete", "scim_group", g["id"], "delete")


@step("DELETE /scim/v2/Users/{user_id}")
def _scim_delete_user(w: Walk) -> Expect:
    u = w.state["scim_user"]
    _scim(w, "DELETE", f"/Users/{u['id']}")
    return Expect("delete", "scim_user", u["id"], "delete")


@step("DELETE /api/v1/sso/scim/token")
def _scim_turn_off(w: Walk) -> Expect:
    w.call("DELETE", "/api/v1/sso/scim/token")
    return Expect("delete", "scim_token", w.owner.tenant_id, "delete")
