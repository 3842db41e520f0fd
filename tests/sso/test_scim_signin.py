"""SCIM and the directory sign-in together (a real slapd): a person the directory's SCIM client
deactivated is refused at the sign-in (and audited), reactivation lets them in again, and the
person's SCIM groups count with the directory's at the sign-in (the same rules map both)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine, text

from tests.sso.slapd import Slapd
from tests.sso.support import plant_with_directory, scim_headers, sign_in

SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_a_deactivated_person_cannot_sign_in_and_scim_groups_count(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    people, owner = plant.people, plant.owner
    scim = scim_headers(http, plant)
    ada = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": people.ada}, headers=scim).json()
    first = sign_in(http, people.ada)
    assert first.status_code == 200 and first.json()["company"]["role"] == "supervisor"  # the directory's groups
    session = {"Authorization": f"Bearer {first.json()['access_token']}"}

    r = http.patch(f"{SCIM}/Users/{ada['id']}", headers=scim, json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert r.status_code == 200
    assert http.get("/api/v1/auth/me", headers=session).status_code == 401
    refused = sign_in(http, people.ada)
    assert refused.status_code == 403 and refused.json()["code"] == "sso_account_deactivated"
    with superuser_engine.connect() as conn:
        reasons = conn.execute(text("select after->>'reason' from audit_log where tenant_id = :t and "
                                    "action = 'login_failed'"), {"t": owner.tenant_id}).scalars().all()
    assert "sso_account_deactivated" in reasons

    r = http.patch(f"{SCIM}/Users/{ada['id']}", headers=scim, json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": True}]})
    assert r.status_code == 200
    assert sign_in(http, people.ada).status_code == 200

    # Carl is in no directory group: only his SCIM group gives him a role at the sign-in.
    carl = http.post(f"{SCIM}/Users", json={"schemas": [USER], "userName": people.carl}, headers=scim).json()
    assert sign_in(http, people.carl).status_code == 403
    r = http.post(f"{SCIM}/Groups", headers=scim, json={
        "schemas": [GROUP], "displayName": people.group("operators"), "members": [{"value": carl["id"]}]})
    assert r.status_code == 201
    signed = sign_in(http, people.carl)
    assert signed.status_code == 200 and signed.json()["company"]["role"] == "operator"
