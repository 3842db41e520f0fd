"""A SCIM rename changes the person's sign-in in every company they belong to, so each of those
companies' audit chains records it, in the same transaction as the rename: over the real app over
HTTP, with two companies of one person (and a third that is not theirs), read back through each
company's own audit API, the chains verified."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
from sqlalchemy import Engine

from factoryos.audit.verify import verify_chain
from tests.accounts import Session, accept, invite, join, login, new_company
from tests.sso.support import audit_rows
from tests.sso.test_scim_conformance import (
    SCIM,
    USER,
    Tenant,
    documented,  # noqa: F401  (autouse: every SCIM exchange as documented)
    new_user,
    patch,
    scim_company,
    scim_error,
)


def _company_name(http: httpx.Client, who: Session) -> str:
    return http.get("/api/v1/auth/me", headers=who.headers).json()["company"]["name"]


def _person_of_two_companies(http: httpx.Client) -> tuple[Tenant, Session, Session, dict[str, Any]]:
    """Ivy: provisioned by the directory of `t`, and a member of `elsewhere` by its own invite."""
    t, elsewhere = scim_company(http, default_role="operator"), new_company(http)
    ivy = join(http, t.owner, "operator", email=t.email("ivy"))
    assert accept(http, invite(http, elsewhere, "supervisor")["code"], ivy.email).status_code == 201
    return t, elsewhere, ivy, new_user(http, t, "ivy")


def test_a_rename_is_recorded_in_each_company_of_the_person(http: httpx.Client, superuser_engine: Engine) -> None:
    t, elsewhere, ivy, scim_ivy = _person_of_two_companies(http)
    bystander = new_company(http)
    assert {c["id"] for c in login(http, ivy.email).json()["companies"]} == {t.owner.tenant_id, elsewhere.tenant_id}
    seen_before = {row["seq"] for row in audit_rows(http, elsewhere)}

    r = patch(http, t, f"/Users/{scim_ivy['id']}", {"op": "replace", "path": "userName", "value": t.email("ivy.new")})
    assert r.status_code == 200, r.text

    home = [row for row in audit_rows(http, t.owner, entity="scim_user", entity_id=scim_ivy["id"])
            if row["action"] == "update"]
    assert [(row["before"]["user_name"], row["after"]["user_name"]) for row in home] == [
        (t.email("ivy"), t.email("ivy.new"))]
    there = [row for row in audit_rows(http, elsewhere) if row["seq"] not in seen_before]
    assert [(row["action"], row["entity_type"], row["entity_id"]) for row in there] == [("update", "user", ivy.user_id)]
    (notice,) = there
    assert notice["before"] == {"email": t.email("ivy")}
    assert notice["after"] == {"email": t.email("ivy.new"), "source": "scim", "by_company": _company_name(http, t.owner)}
    assert notice["actor_id"] is None  # a directory, not a person of that company
    assert notice["request_id"] == home[0]["request_id"]  # one request, one transaction
    assert home[0]["user_agent"] and home[0]["client_ip"]
    assert notice["user_agent"] is None and notice["client_ip"] is None  # the other company's provider's
    # Nothing of the renaming company beyond its name: not its SCIM ids, its provider or the person's role there.
    text = json.dumps(notice)
    for private in (scim_ivy["id"], scim_ivy["externalId"], t.provider["id"], t.provider["name"], "operator"):
        assert private not in text, private
    # Not a company of hers: nothing about her.
    assert audit_rows(http, bystander, entity_id=ivy.user_id) == []

    # Okta's shape (a PUT) too; each rename is one more row there.
    r = http.put(f"{SCIM}/Users/{scim_ivy['id']}", headers=t.scim, json={
        "schemas": [USER], "userName": t.email("ivy.kern"), "externalId": "ext-ivy", "active": True})
    assert r.status_code == 200, r.text
    renames = [(row["before"]["email"], row["after"]["email"])
               for row in audit_rows(http, elsewhere, entity="user", entity_id=ivy.user_id, action="update")]
    assert renames == [(t.email("ivy.new"), t.email("ivy.kern")), (t.email("ivy"), t.email("ivy.new"))]
    with superuser_engine.connect() as conn:
        for company in (t.owner, elsewhere):
            report = verify_chain(conn, company.tenant_id)
            assert report.ok, report


def test_a_refused_rename_or_other_change_writes_nothing_elsewhere(http: httpx.Client) -> None:
    t, elsewhere, ivy, scim_ivy = _person_of_two_companies(http)
    taken = new_user(http, t, "taken")
    seen_before = {row["seq"] for row in audit_rows(http, elsewhere)}

    r = patch(http, t, f"/Users/{scim_ivy['id']}", {"op": "replace", "path": "userName", "value": taken["userName"]})
    scim_error(r, 409, "uniqueness")
    r = patch(http, t, f"/Users/{scim_ivy['id']}", {"op": "replace", "path": "displayName", "value": "Ivy I."})
    assert r.status_code == 200, r.text  # a change of this company's record only

    assert [row for row in audit_rows(http, elsewhere) if row["seq"] not in seen_before] == []
    assert login(http, t.email("ivy"), company_id=elsewhere.tenant_id).status_code == 200  # her address as it was


def test_renames_in_two_companies_at_once_both_land_in_both_chains(
        http: httpx.Client, live_server, superuser_engine: Engine) -> None:
    """Each directory renames a person of both companies at the same moment: each call writes into
    both chains, locking them in one order (the companies' order), so neither waits for the other in a
    circle and both chains stay whole."""
    a, b = scim_company(http, default_role="operator"), scim_company(http, default_role="operator")
    people = []
    for home, other, who in ((a, b, "pia"), (b, a, "quin")):
        member = join(http, home.owner, "operator", email=home.email(who))
        assert accept(http, invite(http, other.owner, "operator")["code"], member.email).status_code == 201
        people.append((home, new_user(http, home, who)))
    answers: list[int] = []

    def rename(home: Tenant, user: dict[str, Any], to: str, start: threading.Barrier) -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            start.wait()
            answers.append(patch(client, home, f"/Users/{user['id']}",
                                 {"op": "replace", "path": "userName", "value": to}).status_code)

    for round_ in range(5):
        start = threading.Barrier(2)
        threads = [threading.Thread(target=rename, args=(home, user, home.email(f"n{round_}-{user['id'][:8]}"), start))
                   for home, user in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == [200] * 10
    for home, other in ((a, b), (b, a)):
        notices = audit_rows(http, other.owner, entity="user", action="update")
        assert len([n for n in notices if n["after"].get("by_company") == _company_name(http, home.owner)]) == 5
    with superuser_engine.connect() as conn:
        for company in (a.owner, b.owner):
            report = verify_chain(conn, company.tenant_id)
            assert report.ok, report
