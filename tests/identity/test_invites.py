"""Invites: readable single-use codes, active-only list, revoke, accept errors and the race."""

from __future__ import annotations

import re
import threading
from datetime import datetime

import httpx
from sqlalchemy import text

from tests.accounts import PASSWORD, accept, bearer, invite, join, login, new_company, new_email, register

CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")


def test_invite_code_shape_expiry_and_accept(http, superuser_engine) -> None:
    owner = new_company(http)
    inv = invite(http, owner, "supervisor")
    assert CODE.match(inv["code"]) and inv["code_hint"].startswith(inv["code"][:4])
    valid = datetime.fromisoformat(inv["expires_at"]) - datetime.fromisoformat(inv["created_at"])
    assert round(valid.total_seconds() / 3600) == 48
    email = new_email("sup")
    r = accept(http, inv["code"].lower().replace("-", " "), email, display_name="Sue Supervisor")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["company"]["id"], body["company"]["role"]) == (owner.tenant_id, "supervisor")
    me = http.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()
    assert me["account"]["display_name"] == "Sue Supervisor"
    assert me["granted"] == [] and me["denied"] == [] and me["role"] == "supervisor"
    with superuser_engine.connect() as conn:
        row = conn.execute(
            text("select used_at, used_by, code_hash from invites where id = :i"), {"i": inv["id"]}
        ).one()
    assert row.used_at is not None and str(row.used_by) == body["account"]["id"]
    assert inv["code"] not in row.code_hash  # stored as a keyed hash only


def test_reuse_expiry_revocation_and_unknown_codes_get_distinct_errors(http, superuser_engine) -> None:
    owner = new_company(http)
    used = invite(http, owner, "operator")
    assert accept(http, used["code"]).status_code == 201
    r = accept(http, used["code"])
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (409, "invite_used", "code")

    expired = invite(http, owner, "operator")
    with superuser_engine.begin() as conn:
        conn.execute(
            text("update invites set expires_at = now() - interval '1 minute' where id = :i"), {"i": expired["id"]}
        )
    r = accept(http, expired["code"])
    assert (r.status_code, r.json()["code"]) == (410, "invite_expired")

    revoked = invite(http, owner, "operator")
    assert http.delete(f"/api/v1/invites/{revoked['id']}", headers=owner.headers).status_code == 204
    r = accept(http, revoked["code"])
    assert (r.status_code, r.json()["code"]) == (410, "invite_revoked")

    for code in ("ZZZZ-ZZZZ", "not a code"):
        r = accept(http, code)
        assert (r.status_code, r.json()["code"]) == (404, "invite_not_found")


def test_list_shows_only_open_invites(http, superuser_engine) -> None:
    owner = new_company(http)
    open_one = invite(http, owner, "operator")
    used = invite(http, owner, "operator")
    accept(http, used["code"])
    revoked = invite(http, owner, "estimator")
    http.delete(f"/api/v1/invites/{revoked['id']}", headers=owner.headers)
    expired = invite(http, owner, "read_only")
    with superuser_engine.begin() as conn:
        conn.execute(
            text("update invites set expires_at = now() - interval '1 second' where id = :i"), {"i": expired["id"]}
        )
    listed = http.get("/api/v1/invites", headers=owner.headers).json()
    assert [i["id"] for i in listed["items"]] == [open_one["id"]]
    assert "code" not in listed["items"][0]


def test_list_pages_with_a_cursor(http) -> None:
    owner = new_company(http)
    made = [invite(http, owner, "operator")["id"] for _ in range(3)]
    first = http.get("/api/v1/invites", params={"limit": 2}, headers=owner.headers).json()
    rest = http.get(
        "/api/v1/invites", params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers
    ).json()
    assert [i["id"] for i in first["items"] + rest["items"]] == made and rest["next_cursor"] is None


def test_invites_need_invites_send_and_never_exceed_the_inviter(http) -> None:
    owner = new_company(http)
    operator = join(http, owner, "operator")
    r = http.post("/api/v1/invites", json={"role": "operator"}, headers=operator.headers)
    assert (r.status_code, r.json()["code"]) == (403, "permission_denied")
    manager = join(http, owner, "plant_manager")
    r = http.post("/api/v1/invites", json={"role": "admin"}, headers=manager.headers)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (403, "role_exceeds_own", "role")
    assert http.post("/api/v1/invites", json={"role": "supervisor"}, headers=manager.headers).status_code == 201
    r = http.post("/api/v1/invites", json={"role": "owner"}, headers=owner.headers)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "invalid_role", "role")


def test_existing_account_joins_with_its_own_password(http) -> None:
    a, b = new_company(http), new_company(http)
    code = invite(http, b, "estimator")["code"]
    r = accept(http, code, a.email, password="wrong password!")
    assert (r.status_code, r.json()["code"]) == (401, "invalid_credentials")
    r = accept(http, code, a.email, password=PASSWORD)
    assert r.status_code == 201, r.text
    assert {c["id"] for c in r.json()["companies"]} == {a.tenant_id, b.tenant_id}
    r = accept(http, invite(http, b, "operator")["code"], a.email)
    assert (r.status_code, r.json()["code"]) == (409, "already_member")


def test_new_account_needs_a_display_name(http) -> None:
    owner = new_company(http)
    r = accept(http, invite(http, owner, "operator")["code"], display_name="")
    assert (r.status_code, r.json()["field"]) == (422, "display_name")


def test_concurrent_accepts_of_one_code_exactly_one_wins(live_server, superuser_engine) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        owner = new_company(client)
        code = invite(client, owner, "operator")["code"]
    contenders = 6
    barrier = threading.Barrier(contenders)
    results: list[httpx.Response] = []

    def attempt() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            barrier.wait()
            results.append(accept(client, code))

    threads = [threading.Thread(target=attempt) for _ in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (contenders - 1), [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"invite_used"}
    with superuser_engine.connect() as conn:
        members = conn.execute(
            text("select count(*) from memberships where tenant_id = :t"), {"t": owner.tenant_id}
        ).scalar()
    assert members == 2


def test_revoking_is_idempotent_and_audited(http, superuser_engine) -> None:
    owner = new_company(http)
    inv = invite(http, owner, "operator")
    for _ in range(2):
        assert http.delete(f"/api/v1/invites/{inv['id']}", headers=owner.headers).status_code == 204
    used = invite(http, owner, "operator")
    accept(http, used["code"])
    r = http.delete(f"/api/v1/invites/{used['id']}", headers=owner.headers)
    assert (r.status_code, r.json()["code"]) == (409, "invite_used")
    with superuser_engine.connect() as conn:
        actions = (
            conn.execute(
                text("select action from audit_log where tenant_id = :t and entity_type = 'invite' order by seq"),
                {"t": owner.tenant_id},
            )
            .scalars()
            .all()
        )
    assert actions == ["create", "delete", "delete", "create", "update"]


def test_account_token_holder_can_accept_and_then_sign_in(http) -> None:
    email = new_email()
    register(http, email)
    owner = new_company(http)
    assert accept(http, invite(http, owner, "operator")["code"], email).status_code == 201
    assert login(http, email).json()["company"]["id"] == owner.tenant_id
