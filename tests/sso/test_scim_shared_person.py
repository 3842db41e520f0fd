"""One person, two companies, two directories: the userName is the person's sign-in email in each.

Over the real app over HTTP with two companies, each with its own provider (its own email domain)
and SCIM token. Ivy's address is of the domain of company A; she is a member of company B by its
invitation, and B's directory provisions her too (its own SCIM id and externalId). When A's
directory renames her, B's record of her follows in the same transaction (RFC 7643 §4.1.1: the
userName is the identifier she signs in with, unique across the service): B finds her by the new
address, its audit chain records what changed there, and B's directory, still holding the old
address, neither renames her back nor is refused its other changes.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, text

from factoryos.audit.verify import verify_chain
from factoryos.db.tenant import tenant_transaction
from tests.accounts import Session, accept, invite, join, login
from tests.sso.support import audit_rows
from tests.sso.test_scim_conformance import (
    GROUP,
    SCIM,
    USER,
    Tenant,
    documented,  # noqa: F401  (autouse: every SCIM exchange as documented)
    new_user,
    patch,
    role_of,
    scim_company,
    scim_error,
)


@dataclass
class Shared:
    a: Tenant  # serves Ivy's domain
    b: Tenant  # has her by invitation
    ivy: Session
    in_a: dict[str, Any]  # her SCIM user in A
    in_b: dict[str, Any]  # and in B


def _shared(http: httpx.Client) -> Shared:
    a, b = scim_company(http, default_role="operator"), scim_company(http, default_role="operator")
    ivy = join(http, a.owner, "operator", email=a.email("ivy"))
    assert accept(http, invite(http, b.owner, "operator")["code"], ivy.email).status_code == 201
    in_a = new_user(http, a, "ivy")
    in_b = new_user(http, b, "ivy-b", userName=ivy.email, emails=[], externalId="b-ivy")  # linked: a member
    assert in_b["userName"] == ivy.email
    return Shared(a, b, ivy, in_a, in_b)


def _rename(http: httpx.Client, s: Shared, to: str) -> None:
    r = patch(http, s.a, f"/Users/{s.in_a['id']}", {"op": "replace", "path": "userName", "value": to})
    assert r.status_code == 200, r.text


def _found(http: httpx.Client, t: Tenant, user_name: str) -> list[str]:
    r = http.get(f"{SCIM}/Users", params={"filter": f'userName eq "{user_name}"'}, headers=t.scim)
    assert r.status_code == 200, r.text
    return [u["id"] for u in r.json()["Resources"]]


def test_the_other_companys_record_follows_a_rename(http: httpx.Client, superuser_engine: Engine) -> None:
    s = _shared(http)
    group = http.post(f"{SCIM}/Groups", headers=s.b.scim, json={
        "schemas": [GROUP], "displayName": "Night shift", "members": [{"value": s.in_b["id"]}]})
    assert group.status_code == 201, group.text
    _rename(http, s, s.a.email("ivy.new"))

    mine = http.get(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim).json()
    assert mine["userName"] == s.a.email("ivy.new") and mine["emails"][0]["value"] == s.a.email("ivy.new")
    assert mine["externalId"] == "b-ivy"  # B's own label of her stays B's
    assert mine["meta"]["version"] != s.in_b["meta"]["version"]  # a client caching by version sees the change
    assert _found(http, s.b, s.a.email("IVY.NEW")) == [s.in_b["id"]]
    assert _found(http, s.b, s.a.email("ivy")) == []
    members = http.get(f"{SCIM}/Groups/{group.json()['id']}", headers=s.b.scim).json()["members"]
    assert [m["display"] for m in members] == [s.a.email("ivy.new")]

    # B's chain records its own record's change beside the sign-in's, with B's own SCIM id (nothing of A's).
    (notice,) = audit_rows(http, s.b.owner, entity="user", entity_id=s.ivy.user_id, action="update")
    assert notice["before"] == {"email": s.a.email("ivy"), "user_name": s.a.email("ivy")}
    assert notice["after"]["email"] == notice["after"]["user_name"] == s.a.email("ivy.new")
    assert notice["after"]["scim_user_id"] == s.in_b["id"] and s.in_a["id"] not in str(notice)
    with superuser_engine.connect() as conn:
        for company in (s.a.owner, s.b.owner):
            assert verify_chain(conn, company.tenant_id).ok


def test_a_directory_behind_neither_renames_back_nor_is_refused(http: httpx.Client) -> None:
    s = _shared(http)
    _rename(http, s, s.a.email("ivy.new"))

    # B's directory still knows the old address: Okta's PUT deactivating her.
    r = http.put(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim, json={
        "schemas": [USER], "userName": s.a.email("ivy"), "externalId": "b-ivy", "active": False,
        "emails": [{"value": s.a.email("ivy"), "primary": True}]})
    assert r.status_code == 200, r.text
    assert r.json()["userName"] == s.a.email("ivy.new") and r.json()["active"] is False
    assert role_of(http, s.b, s.ivy.user_id) is None  # deactivated in B
    assert login(http, s.a.email("ivy.new"), company_id=s.a.owner.tenant_id).status_code == 200  # not renamed back
    assert login(http, s.a.email("ivy")).status_code == 401
    row = audit_rows(http, s.b.owner, entity="scim_user", entity_id=s.in_b["id"], action="update")[0]
    assert row["after"]["user_name_not_taken"] == s.a.email("ivy")  # what B's directory sent, recorded

    # Entra's shape: the old address with a reactivation in one PATCH.
    r = patch(http, s.b, f"/Users/{s.in_b['id']}",
              {"op": "Replace", "path": "userName", "value": s.a.email("ivy")},
              {"op": "Replace", "path": "active", "value": "True"})
    assert r.status_code == 200, r.text
    assert r.json()["userName"] == s.a.email("ivy.new") and role_of(http, s.b, s.ivy.user_id) == "operator"

    # Caught up: the new address is hers, not a rename (was refused: B does not serve A's domain).
    r = http.put(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim, json={
        "schemas": [USER], "userName": s.a.email("Ivy.New"), "externalId": "b-ivy", "displayName": "Ivy N."})
    assert r.status_code == 200, r.text
    assert r.json()["userName"] == s.a.email("ivy.new") and r.json()["displayName"] == "Ivy N."
    assert http.get(f"{SCIM}/Users/{s.in_a['id']}", headers=s.a.scim).json()["userName"] == s.a.email("ivy.new")

    # B may still not give her an address of its own: she is A's to rename.
    r = patch(http, s.b, f"/Users/{s.in_b['id']}", {"op": "replace", "path": "userName", "value": s.b.email("ivy")})
    assert scim_error(r, 400, "invalidValue")["code"] == "scim_email_domain"


def test_a_company_cannot_claim_another_companys_domain_through_a_disabled_provider(http: httpx.Client) -> None:
    """A domain is routed to one company; a disabled provider is not routed, so it could list any
    domain. Its SCIM token must not give or take that domain's addresses: otherwise two directories
    could rename one person back and forth."""
    s = _shared(http)
    r = http.post("/api/v1/sso/providers", headers=s.b.owner.headers, json={
        "kind": "oidc", "name": "Claimer", "enabled": False, "email_domains": [s.a.domain],
        "config": {"issuer": "https://login.invalid/other/v2.0", "client_id": "factoryos"}})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/sso/scim/token", json={"provider_id": r.json()["id"]}, headers=s.b.owner.headers)
    assert r.status_code == 201, r.text
    s.b.token = r.json()["token"]

    r = patch(http, s.b, f"/Users/{s.in_b['id']}", {"op": "replace", "path": "userName", "value": s.a.email("ivy.b")})
    assert r.status_code == 200 and r.json()["userName"] == s.a.email("ivy"), r.text  # was: renamed by B
    assert login(http, s.a.email("ivy"), company_id=s.a.owner.tenant_id).status_code == 200
    assert login(http, s.a.email("ivy.b")).status_code == 401
    lone = join(http, s.b.owner, "operator", email=s.a.email("lone"))  # B's member only, of A's domain
    in_b = new_user(http, s.b, "lone", userName=lone.email, emails=[])
    r = patch(http, s.b, f"/Users/{in_b['id']}", {"op": "replace", "path": "userName", "value": s.a.email("lone.b")})
    assert scim_error(r, 400, "invalidValue")["code"] == "scim_email_domain"
    assert login(http, s.a.email("lone")).status_code == 200
    r = http.post(f"{SCIM}/Users", headers=s.b.scim, json={"schemas": [USER], "userName": s.a.email("newcomer")})
    assert scim_error(r, 400, "invalidValue")["code"] == "scim_email_domain"  # no account made in A's domain
    r = http.post(f"{SCIM}/Users", headers=s.b.scim, json={"schemas": [USER], "userName": s.a.email("owner")})
    scim_error(r, 409, "uniqueness")  # A's owner is not linked into B


def test_a_rename_and_the_other_directorys_calls_at_once(http: httpx.Client, live_server) -> None:
    """A renames while B's directory writes the same person (with the old address, or trying one of its
    own): A's rename locks B's record as it follows, and B's calls take no lock A's rename waits on in a
    circle, so every call is answered and B ends with the last address."""
    s = _shared(http)
    answers: dict[str, list[int]] = {"a": [], "b": []}

    def a_renames(to: str, start: threading.Barrier) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            start.wait()
            r = patch(client, s.a, f"/Users/{s.in_a['id']}", {"op": "replace", "path": "userName", "value": to})
            answers["a"].append(r.status_code)

    def b_writes(round_: int, start: threading.Barrier) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            start.wait()
            if round_ % 2:
                r = patch(client, s.b, f"/Users/{s.in_b['id']}",
                          {"op": "replace", "path": "userName", "value": s.b.email(f"ivy{round_}")})
            else:
                r = client.put(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim, json={
                    "schemas": [USER], "userName": s.a.email("ivy"), "externalId": "b-ivy",
                    "displayName": f"Ivy {round_}"})
            answers["b"].append(r.status_code)

    for round_ in range(6):
        start = threading.Barrier(2)
        threads = [threading.Thread(target=a_renames, args=(s.a.email(f"ivy.r{round_}"), start)),
                   threading.Thread(target=b_writes, args=(round_, start))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers["a"] == [200] * 6
    assert sorted(answers["b"]) == [200] * 3 + [400] * 3
    assert http.get(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim).json()["userName"] == s.a.email("ivy.r5")
    assert login(http, s.a.email("ivy.r5"), company_id=s.b.owner.tenant_id).status_code == 200


def test_a_record_of_a_deactivated_person_shows_the_address_they_sign_in_with(http: httpx.Client) -> None:
    """Deactivated in B (no longer a member there, B's record kept), renamed by A: B's record is not a
    company of hers to tell, yet B answers and finds her by the address she signs in with, and B's
    directory reactivating her with the old address does not rename her back."""
    s = _shared(http)
    r = patch(http, s.b, f"/Users/{s.in_b['id']}", {"op": "replace", "path": "active", "value": False})
    assert r.status_code == 200 and role_of(http, s.b, s.ivy.user_id) is None
    _rename(http, s, s.a.email("ivy.new"))

    assert http.get(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim).json()["userName"] == s.a.email("ivy.new")
    assert _found(http, s.b, s.a.email("ivy.new")) == [s.in_b["id"]] and _found(http, s.b, s.a.email("ivy")) == []
    r = http.put(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim, json={
        "schemas": [USER], "userName": s.a.email("ivy"), "externalId": "b-ivy", "active": True})
    assert r.status_code == 200 and r.json()["userName"] == s.a.email("ivy.new"), r.text
    assert role_of(http, s.b, s.ivy.user_id) == "operator"
    assert login(http, s.a.email("ivy.new"), company_id=s.b.owner.tenant_id).status_code == 200


def test_a_deactivated_persons_record_follows_a_rename_as_a_members_does(http: httpx.Client,
                                                                         superuser_engine: Engine) -> None:
    """Deactivated in B (no longer a member there, B's record kept), renamed by A: B's record takes the
    new userName in the rename's transaction as a member's record does, with a new version and the
    row in B's chain; B's directory then finds her by the new address and reactivates her with it, and
    that call changes nothing of her userName."""
    s = _shared(http)
    r = patch(http, s.b, f"/Users/{s.in_b['id']}", {"op": "replace", "path": "active", "value": False})
    assert r.status_code == 200 and role_of(http, s.b, s.ivy.user_id) is None, r.text
    deactivated = r.json()
    seen_before = {row["seq"] for row in audit_rows(http, s.b.owner)}
    _rename(http, s, s.a.email("ivy.new"))

    # B's chain records its record's change as it does for a member's: B's SCIM id, nothing of A's.
    there = [row for row in audit_rows(http, s.b.owner) if row["seq"] not in seen_before]
    assert [(row["action"], row["entity_type"], row["entity_id"]) for row in there] == [
        ("update", "user", s.ivy.user_id)]
    (notice,) = there
    assert notice["before"] == {"email": s.a.email("ivy"), "user_name": s.a.email("ivy")}
    assert notice["after"]["email"] == notice["after"]["user_name"] == s.a.email("ivy.new")
    assert notice["after"]["scim_user_id"] == s.in_b["id"] and s.in_a["id"] not in str(notice)
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select user_name from scim_users where id = :i"), {"i": s.in_b["id"]}).scalar_one()
    assert stored == s.a.email("ivy.new")
    mine = http.get(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim).json()
    assert mine["userName"] == s.a.email("ivy.new") and mine["active"] is False
    assert mine["meta"]["version"] != deactivated["meta"]["version"]  # a client caching by version sees it
    assert _found(http, s.b, s.a.email("ivy.new")) == [s.in_b["id"]] and _found(http, s.b, s.a.email("ivy")) == []

    # B's directory reactivates her with the address it found her by: no change of userName to explain.
    r = http.put(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim, json={
        "schemas": [USER], "userName": s.a.email("ivy.new"), "externalId": "b-ivy", "active": True})
    assert r.status_code == 200 and r.json()["userName"] == s.a.email("ivy.new"), r.text
    assert role_of(http, s.b, s.ivy.user_id) == "operator"
    row = audit_rows(http, s.b.owner, entity="scim_user", entity_id=s.in_b["id"], action="update")[0]
    assert row["before"]["user_name"] == row["after"]["user_name"] == s.a.email("ivy.new")
    assert row["before"]["active"] is False and row["after"]["active"] is True
    assert login(http, s.a.email("ivy.new"), company_id=s.b.owner.tenant_id).status_code == 200
    with superuser_engine.connect() as conn:
        for company in (s.a.owner, s.b.owner):
            assert verify_chain(conn, company.tenant_id).ok


def test_the_companies_keeping_a_record_are_all_the_rename_learns_of_them(http: httpx.Client,
                                                                           app_engine: Engine) -> None:
    """The one cross-tenant question a rename asks (`scim_record_companies`): which companies keep a
    SCIM record of the account, member or not. It answers their id and name only, and leaves the
    caller's company set; the app role still reads nothing of another company's records."""
    s = _shared(http)
    assert patch(http, s.b, f"/Users/{s.in_b['id']}", {"op": "replace", "path": "active", "value": False}
                 ).status_code == 200
    bystander = scim_company(http)
    with tenant_transaction(app_engine, uuid.UUID(s.a.owner.tenant_id)) as conn:
        answer = conn.execute(text("select * from scim_record_companies(:u)"), {"u": s.ivy.user_id}).mappings().all()
        assert conn.execute(text("select current_setting('app.tenant_id')")).scalar_one() == s.a.owner.tenant_id
        assert conn.execute(text("select count(*) from scim_users where user_id = :u"),
                            {"u": s.ivy.user_id}).scalar_one() == 1  # A's own record only
    assert {str(r["tenant_id"]) for r in answer} == {s.a.owner.tenant_id, s.b.owner.tenant_id}
    assert bystander.owner.tenant_id not in str(answer) and set(answer[0].keys()) == {"tenant_id", "company_name"}


def test_an_address_given_up_is_free_in_the_other_company_too(http: httpx.Client) -> None:
    """B's record of a deactivated person still named the old address; once A gives that address to a
    newcomer who joins B too, B's directory provisions the newcomer with it (not a 409 for a name no
    longer anyone's)."""
    s = _shared(http)
    assert patch(http, s.b, f"/Users/{s.in_b['id']}", {"op": "replace", "path": "active", "value": False}
                 ).status_code == 200
    _rename(http, s, s.a.email("ivy.new"))
    newcomer = join(http, s.a.owner, "operator", email=s.a.email("ivy"))
    assert accept(http, invite(http, s.b.owner, "operator")["code"], newcomer.email).status_code == 201
    r = http.post(f"{SCIM}/Users", headers=s.b.scim, json={"schemas": [USER], "userName": s.a.email("IVY")})
    assert r.status_code == 201, r.text
    assert r.json()["userName"] == s.a.email("ivy") and r.json()["id"] != s.in_b["id"]
    assert _found(http, s.b, s.a.email("ivy")) == [r.json()["id"]]
    assert http.get(f"{SCIM}/Users/{s.in_b['id']}", headers=s.b.scim).json()["userName"] == s.a.email("ivy.new")
