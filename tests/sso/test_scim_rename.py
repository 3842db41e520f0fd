"""A SCIM userName change (Entra ID, Okta: the person's email changed) changes the account's
sign-in email, over the real app over HTTP: PATCH in Entra's shape and PUT, sessions kept, the
role kept, one audit row, uniqueness across the company and the installation (409 `uniqueness`,
a race of two renames included), and the limits (the provider's domains, the owner). With a real
slapd: the person's link to the directory keeps working after the rename."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from ldap3 import MODIFY_REPLACE
from sqlalchemy import Engine, text

from tests.accounts import accept, invite, join, login, new_company, new_email
from tests.sso.slapd import PEOPLE, Slapd
from tests.sso.support import plant_with_directory, scim_headers, sign_in
from tests.sso.test_scim_conformance import (
    GROUP,
    SCIM,
    USER,
    documented,  # noqa: F401  (autouse: every SCIM exchange as documented)
    new_user,
    patch,
    role_of,
    scim_company,
    scim_error,
)


def _audit(superuser_engine: Engine, tenant_id: str, entity_id: str) -> list[dict[str, Any]]:
    with superuser_engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "select action, before, after from audit_log where tenant_id = :t and entity_type = 'scim_user' "
            "and entity_id = :e order by seq"), {"t": tenant_id, "e": entity_id}).mappings()]


def test_a_renamed_user_signs_in_with_the_new_email_and_keeps_sessions_and_role(
        http: httpx.Client, superuser_engine: Engine) -> None:
    t = scim_company(http)
    dora = join(http, t.owner, "operator", email=t.email("dora"))
    d = new_user(http, t, "dora")
    ops = http.post(f"{SCIM}/Groups", headers=t.scim, json={
        "schemas": [GROUP], "displayName": "FactoryOS Operators", "members": [{"value": d["id"]}]})
    assert ops.status_code == 201 and role_of(http, t, dora.user_id) == "operator"
    session = {"Authorization": f"Bearer {login(http, t.email('dora')).json()['access_token']}"}

    # Entra's shape: the work email first, then the userName, in one PATCH.
    r = patch(http, t, f"/Users/{d['id']}",
              {"op": "Replace", "path": 'emails[type eq "work"].value', "value": t.email("Dora.Berg")},
              {"op": "Replace", "path": "userName", "value": t.email("Dora.Berg")})
    assert r.status_code == 200, r.text
    renamed = r.json()
    assert renamed["userName"] == t.email("Dora.Berg") and renamed["emails"][0]["value"] == t.email("Dora.Berg")
    assert renamed["meta"]["version"] != d["meta"]["version"]
    assert [g["display"] for g in renamed["groups"]] == ["FactoryOS Operators"]
    me = http.get("/api/v1/auth/me", headers=session)  # her session goes on: same person, same role
    assert me.status_code == 200 and me.json()["account"]["email"] == t.email("Dora.Berg")
    assert role_of(http, t, dora.user_id) == "operator"
    assert login(http, t.email("dora")).status_code == 401
    again = login(http, t.email("dora.berg"))  # the address without case, her password
    assert again.status_code == 200 and again.json()["company"]["id"] == t.owner.tenant_id
    found = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{t.email("dora.berg")}"'}, headers=t.scim)
    assert [u["id"] for u in found.json()["Resources"]] == [d["id"]]

    # Okta's shape: a PUT with the new userName.
    r = http.put(f"{SCIM}/Users/{d['id']}", headers=t.scim, json={
        "schemas": [USER], "userName": t.email("dora.kern"), "externalId": "ext-dora", "active": True,
        "emails": [{"value": t.email("dora.kern"), "primary": True}]})
    assert r.status_code == 200 and r.json()["userName"] == t.email("dora.kern")
    assert login(http, t.email("dora.kern")).status_code == 200
    assert http.get("/api/v1/auth/me", headers=session).status_code == 200

    rows = _audit(superuser_engine, t.owner.tenant_id, d["id"])
    assert [(r["before"]["user_name"], r["after"]["user_name"]) for r in rows if r["action"] == "update"] == [
        (t.email("dora"), t.email("Dora.Berg")), (t.email("Dora.Berg"), t.email("dora.kern"))]
    with superuser_engine.connect() as conn:
        count = conn.execute(text("select count(*) from users where lower(email) like :p"),
                             {"p": f"dora%@{t.domain}"}).scalar_one()
    assert count == 1  # renamed, not a second account


def test_a_rename_to_a_taken_or_foreign_address_is_refused_and_changes_nothing(http: httpx.Client) -> None:
    t, other = scim_company(http), scim_company(http)
    ed, cy = new_user(http, t, "ed"), new_user(http, t, "cy")
    other_user = new_user(http, other, "flo")
    owner_scim = new_user(http, t, "owner")  # the owner, provisioned too

    def rename(user: dict[str, Any], to: str) -> httpx.Response:
        return patch(http, t, f"/Users/{user['id']}", {"op": "replace", "path": "userName", "value": to})

    assert scim_error(rename(ed, t.email("CY")), 409, "uniqueness")["code"] == "scim_uniqueness"  # another SCIM user
    scim_error(rename(ed, t.email("owner").upper()), 409, "uniqueness")  # an account of the installation
    assert scim_error(rename(ed, other.email("flo")), 400, "invalidValue")["code"] == "scim_email_domain"
    assert scim_error(rename(ed, "not an email"), 400, "invalidValue")["code"] == "scim_user_name_invalid"
    owner = scim_error(rename(owner_scim, t.email("boss")), 400, "mutability")
    assert owner["code"] == "scim_owner_protected"
    r = http.put(f"{SCIM}/Users/{ed['id']}", headers=t.scim, json={"schemas": [USER], "userName": t.email("cy")})
    scim_error(r, 409, "uniqueness")
    for user, tenant, email in ((ed, t, t.email("ed")), (cy, t, t.email("cy")), (owner_scim, t, t.email("owner")),
                                (other_user, other, other.email("flo"))):
        assert http.get(f"{SCIM}/Users/{user['id']}", headers=tenant.scim).json()["userName"] == email
    assert login(http, t.email("owner")).status_code == 200


def test_two_renames_to_one_address_at_once_make_one(http: httpx.Client, live_server) -> None:
    t = scim_company(http)
    people = [new_user(http, t, who) for who in ("gil", "hal")]
    answers: list[int] = []
    start = threading.Barrier(2)

    def rename(user: dict[str, Any]) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            start.wait()
            answers.append(patch(client, t, f"/Users/{user['id']}",
                                 {"op": "replace", "path": "userName", "value": t.email("shared")}).status_code)

    threads = [threading.Thread(target=rename, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]
    names = sorted(http.get(f"{SCIM}/Users/{p['id']}", headers=t.scim).json()["userName"] for p in people)
    assert t.email("shared") in names and len(set(names)) == 2


def test_the_directory_link_keeps_working_after_a_rename(http: httpx.Client, slapd: Slapd) -> None:
    plant = plant_with_directory(http, slapd)
    people = plant.people
    scim = scim_headers(http, plant)
    ada = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": people.ada}, headers=scim).json()
    first = sign_in(http, people.ada)
    assert first.status_code == 200 and first.json()["company"]["role"] == "supervisor"
    session = {"Authorization": f"Bearer {first.json()['access_token']}"}
    user_id = http.get("/api/v1/auth/me", headers=session).json()["account"]["id"]

    # The directory changes her address, and its SCIM client tells FactoryOS.
    new = f"ada.king-{people.tag}@{people.domain}"
    with slapd.admin() as conn:
        assert conn.modify(f"uid=ada-{people.tag},{PEOPLE}", {"mail": [(MODIFY_REPLACE, [new])]}), conn.result
    r = http.patch(f"{SCIM}/Users/{ada['id']}", headers=scim, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"userName": new}}]})
    assert r.status_code == 200, r.text
    assert http.get("/api/v1/auth/me", headers=session).status_code == 200
    assert sign_in(http, people.ada).status_code == 401  # the directory no longer knows the old address
    second = sign_in(http, new, "ada-Difference-Engine-1843")
    assert second.status_code == 200, second.text
    assert second.json()["company"]["role"] == "supervisor"
    me = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"}).json()
    assert me["account"]["id"] == user_id and me["account"]["email"] == new


def test_a_member_of_another_company_is_renamed_there_too(http: httpx.Client) -> None:
    """The account is the installation's: its other companies see the new address (their sign-in is
    the same account's)."""
    t = scim_company(http)
    elsewhere = new_company(http)
    ivy = join(http, t.owner, "operator", email=t.email("ivy"))
    joined = accept(http, invite(http, elsewhere, "operator")["code"], ivy.email)  # her own password
    assert joined.status_code == 201, joined.text
    i = new_user(http, t, "ivy")
    r = patch(http, t, f"/Users/{i['id']}", {"op": "replace", "path": "userName", "value": t.email("ivy.new")})
    assert r.status_code == 200, r.text
    signed = login(http, t.email("ivy.new"), company_id=elsewhere.tenant_id)
    assert signed.status_code == 200 and signed.json()["company"]["id"] == elsewhere.tenant_id


def test_an_outsiders_address_is_changed_only_when_no_other_company_has_the_account(http: httpx.Client) -> None:
    """An invited member with an address the directory does not serve: it may give them one of its
    own, unless other companies have the account too (the address is then the person's to change)."""
    t, elsewhere = scim_company(http), new_company(http)
    kit, lou = (join(http, t.owner, "operator", email=new_email(who)) for who in ("kit", "lou"))
    assert accept(http, invite(http, elsewhere, "operator")["code"], lou.email).status_code == 201
    k = new_user(http, t, "kit", userName=kit.email, emails=[])  # linked: already a member
    u = new_user(http, t, "lou", userName=lou.email, emails=[], externalId="ext-lou")
    r = patch(http, t, f"/Users/{u['id']}", {"op": "replace", "path": "userName", "value": t.email("lou")})
    assert scim_error(r, 400, "invalidValue")["code"] == "scim_email_domain"
    assert login(http, lou.email, company_id=elsewhere.tenant_id).status_code == 200
    r = patch(http, t, f"/Users/{k['id']}", {"op": "replace", "path": "userName", "value": t.email("kit")})
    assert r.status_code == 200, r.text
    assert login(http, t.email("kit")).status_code == 200 and login(http, kit.email).status_code == 401


def test_the_owner_of_another_company_is_not_renamed(http: httpx.Client) -> None:
    """A member here who owns another company: that company's break-glass sign-in is not this
    directory's to move, even in its own domain."""
    t = scim_company(http)
    boss_email = t.email("boss")
    elsewhere = new_company(http, email=boss_email)
    assert accept(http, invite(http, t.owner, "operator")["code"], boss_email).status_code == 201
    b = new_user(http, t, "boss")  # linked: already a member
    r = patch(http, t, f"/Users/{b['id']}", {"op": "replace", "path": "userName", "value": t.email("boss.new")})
    assert scim_error(r, 400, "mutability")["code"] == "scim_owner_protected"
    signed = login(http, boss_email, company_id=elsewhere.tenant_id)
    assert signed.status_code == 200 and signed.json()["company"]["id"] == elsewhere.tenant_id
    assert login(http, t.email("boss.new")).status_code == 401
