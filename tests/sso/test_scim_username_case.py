"""userName is caseExact=false (RFC 7643 §4.1.1): over the real app over HTTP, filters match it
without case, a userName that differs from another only in case is that other's (409
`uniqueness`), and a PUT or PATCH that only changes its case changes nothing: not the sign-in
email, not the other companies of the person, and it is not refused for a person whose address
the directory may not change (the owner, a member another company shares)."""

from __future__ import annotations

import httpx

from tests.accounts import accept, invite, join, login, new_company, new_email
from tests.sso.support import audit_rows
from tests.sso.test_scim_conformance import (
    SCIM,
    USER,
    documented,  # noqa: F401  (autouse: every SCIM exchange as documented)
    new_user,
    patch,
    scim_company,
    scim_error,
)


def test_filters_and_uniqueness_ignore_case(http: httpx.Client) -> None:
    t = scim_company(http)
    dora = new_user(http, t, "Dora.Berg")
    assert dora["userName"] == t.email("Dora.Berg")
    for spelled in (t.email("dora.berg"), t.email("DORA.BERG").upper(), t.email("Dora.Berg")):
        r = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{spelled}"'}, headers=t.scim)
        assert [u["id"] for u in r.json()["Resources"]] == [dora["id"]], spelled
    for spelled in (t.email("dora.berg"), t.email("DORA.BERG").upper()):
        r = http.post(f"{SCIM}/Users", headers=t.scim, json={"schemas": [USER], "userName": spelled})
        scim_error(r, 409, "uniqueness")
    ed = new_user(http, t, "ed")
    r = patch(http, t, f"/Users/{ed['id']}", {"op": "replace", "path": "userName", "value": t.email("DORA.berg")})
    scim_error(r, 409, "uniqueness")
    r = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{t.email("dora.berg")}"'}, headers=t.scim)
    assert r.json()["totalResults"] == 1


def test_a_change_of_case_only_is_no_rename(http: httpx.Client) -> None:
    t, elsewhere = scim_company(http, default_role="operator"), new_company(http)
    ivy = join(http, t.owner, "operator", email=t.email("ivy"))
    assert accept(http, invite(http, elsewhere, "operator")["code"], ivy.email).status_code == 201
    i = new_user(http, t, "ivy")
    seen = {row["seq"] for row in audit_rows(http, elsewhere)}

    r = patch(http, t, f"/Users/{i['id']}", {"op": "replace", "path": "userName", "value": t.email("IVY")},
              {"op": "replace", "path": "displayName", "value": "Ivy I."})
    assert r.status_code == 200, r.text
    assert r.json()["userName"] == t.email("ivy") and r.json()["displayName"] == "Ivy I."
    r = http.put(f"{SCIM}/Users/{i['id']}", headers=t.scim, json={
        "schemas": [USER], "userName": t.email("Ivy").upper(), "externalId": "ext-ivy"})
    assert r.status_code == 200 and r.json()["userName"] == t.email("ivy")
    me = http.get("/api/v1/auth/me", headers=ivy.headers)
    assert me.status_code == 200 and me.json()["account"]["email"] == t.email("ivy"), me.text
    assert [row for row in audit_rows(http, elsewhere) if row["seq"] not in seen] == []  # no rename to tell


def test_a_change_of_case_is_not_refused_where_the_address_may_not_change(http: httpx.Client) -> None:
    t, elsewhere = scim_company(http), new_company(http)
    owner = new_user(http, t, "owner")
    r = patch(http, t, f"/Users/{owner['id']}", {"op": "replace", "path": "userName", "value": t.email("Owner")},
              {"op": "replace", "path": "displayName", "value": "The Owner"})
    assert r.status_code == 200, r.text  # was 400 scim_owner_protected: a lockout of the owner's record
    assert r.json()["displayName"] == "The Owner" and r.json()["userName"] == t.email("owner")
    assert login(http, t.email("owner")).status_code == 200

    # An outsider's address (another company has the account): not the directory's to change, but the same.
    lou = join(http, t.owner, "operator", email=new_email("Lou"))
    assert accept(http, invite(http, elsewhere, "operator")["code"], lou.email).status_code == 201
    u = new_user(http, t, "lou", userName=lou.email, emails=[])
    r = http.put(f"{SCIM}/Users/{u['id']}", headers=t.scim, json={
        "schemas": [USER], "userName": lou.email.upper(), "active": True, "displayName": "Lou L."})
    assert r.status_code == 200, r.text  # was 400 scim_email_domain
    assert r.json()["userName"] == lou.email and r.json()["displayName"] == "Lou L."
    assert login(http, lou.email, company_id=elsewhere.tenant_id).status_code == 200
