"""Login, company choice, lockout, no enumeration, refresh rotation and reuse, logout, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.accounts import (
    PASSWORD,
    bearer,
    join,
    login,
    new_company,
    new_email,
    owner_body,
    register,
    session_of,
)


def _audit(engine, tenant: str, action: str) -> list[dict]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "select actor_id, entity_type, entity_id, after from audit_log where tenant_id = :t and action = :a order by seq"
                ),
                {"t": tenant, "a": action},
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def test_login_issues_tokens_scoped_to_the_company(http) -> None:
    owner = new_company(http)
    r = login(http, owner.email)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["company"]["id"] == owner.tenant_id and body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    assert body["refresh_token"].startswith(owner.tenant_id.replace("-", "") + ".")
    me = http.get("/api/v1/auth/me", headers=bearer(body["access_token"])).json()
    assert me["company"]["id"] == owner.tenant_id and me["session_id"] == body["session_id"]


def test_email_is_case_insensitive(http) -> None:
    owner = new_company(http)
    assert login(http, owner.email.upper()).status_code == 200


def test_unknown_email_and_wrong_password_look_the_same(http, superuser_engine) -> None:
    owner = new_company(http)
    wrong = login(http, owner.email, "not the password at all")
    unknown = login(http, new_email("ghost"), PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401
    strip = lambda b: {k: v for k, v in b.items() if k not in ("request_id", "instance")}  # noqa: E731
    assert strip(wrong.json()) == strip(unknown.json())
    assert wrong.json()["code"] == "invalid_credentials"
    failed = _audit(superuser_engine, owner.tenant_id, "login_failed")
    assert [(str(f["actor_id"]), f["after"]["reason"]) for f in failed] == [(owner.user_id, "invalid_credentials")]
    assert "password" not in str(failed[0]["after"]).lower()


def test_lockout_after_repeated_failures_with_retry_after(http, authenticator) -> None:
    owner = new_company(http)
    threshold = authenticator.runtime.policy.lockout_threshold
    for _ in range(threshold - 1):
        assert login(http, owner.email, "wrong password!").json()["code"] == "invalid_credentials"
    locking = login(http, owner.email, "wrong password!")
    assert (locking.status_code, locking.json()["code"]) == (429, "account_locked")
    # Even the right password is refused while locked, with a clear wait.
    r = login(http, owner.email)
    assert (r.status_code, r.json()["code"]) == (429, "account_locked")
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= authenticator.runtime.policy.lockout_minutes * 60
    assert r.json()["retry_after"] == retry and "minute" in r.json()["detail"]


def test_unknown_emails_lock_out_like_real_ones(http, authenticator) -> None:
    ghost = new_email("ghost")
    codes = [
        login(http, ghost, "wrong password!").json()["code"]
        for _ in range(authenticator.runtime.policy.lockout_threshold)
    ]
    assert codes[-1] == "account_locked" and set(codes[:-1]) == {"invalid_credentials"}


def test_lockout_expires_and_success_resets_the_count(http, superuser_engine, authenticator) -> None:
    owner = new_company(http)
    threshold = authenticator.runtime.policy.lockout_threshold
    for _ in range(threshold):
        login(http, owner.email, "wrong password!")
    with superuser_engine.begin() as conn:
        conn.execute(
            text("update login_throttle set locked_until = now() - interval '1 second' where locked_until > now()")
        )
    assert login(http, owner.email).status_code == 200
    for _ in range(threshold - 1):
        assert login(http, owner.email, "wrong password!").status_code == 401
    assert login(http, owner.email).status_code == 200


def test_member_of_several_companies_chooses_one(http) -> None:
    a = new_company(http)
    b = new_company(http)
    staff = join(http, a, "supervisor")
    join(http, b, "operator", email=staff.email)
    r = login(http, staff.email)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (409, "company_required", "company_id")
    assert {c["id"] for c in r.json()["companies"]} == {a.tenant_id, b.tenant_id}
    chosen = login(http, staff.email, company_id=b.tenant_id)
    assert chosen.status_code == 200
    me = http.get("/api/v1/auth/me", headers=bearer(chosen.json()["access_token"])).json()
    assert (me["company"]["id"], me["role"]) == (b.tenant_id, "operator")
    outsider = new_company(http)
    r = login(http, staff.email, company_id=outsider.tenant_id)
    assert (r.status_code, r.json()["code"]) == (404, "company_not_found")


def test_account_without_company_gets_an_account_token(http) -> None:
    email = new_email()
    register(http, email)
    body = login(http, email).json()
    assert body["company"] is None and body["refresh_token"] is None and body["companies"] == []
    r = http.post("/api/v1/setup/owner", json=owner_body(), headers=bearer(body["access_token"]))
    assert r.status_code == 201


def test_refresh_rotates_and_reuse_revokes_the_family(http, superuser_engine) -> None:
    owner = new_company(http)
    first = owner.refresh_token
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200
    second = r.json()["refresh_token"]
    assert second != first and r.json()["session_id"]
    access = r.json()["access_token"]
    assert http.get("/api/v1/auth/me", headers=bearer(access)).status_code == 200
    # The rotated token comes back: the whole session ends, for the new token too.
    reused = http.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert (reused.status_code, reused.json()["code"]) == (401, "refresh_reused")
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": second})
    assert (r.status_code, r.json()["code"]) == (401, "session_revoked")
    r = http.get("/api/v1/auth/me", headers=bearer(access))
    assert (r.status_code, r.json()["code"]) == (401, "session_revoked")
    assert _audit(superuser_engine, owner.tenant_id, "session_revoked")[0]["after"] == {"reason": "refresh_reused"}


@pytest.mark.parametrize("token", ["garbage", "0" * 32 + ".abc", "not-hex.abc"])
def test_bad_refresh_tokens_are_refused(http, token) -> None:
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert (r.status_code, r.json()["code"]) == (401, "invalid_refresh_token")


def test_refresh_token_of_one_company_cannot_be_relabelled_to_another(http) -> None:
    a, b = new_company(http), new_company(http)
    forged = b.tenant_id.replace("-", "") + "." + a.refresh_token.split(".", 1)[1]
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": forged})
    assert (r.status_code, r.json()["code"]) == (401, "invalid_refresh_token")


def test_logout_ends_the_session_at_once(http, superuser_engine) -> None:
    owner = new_company(http)
    other = session_of(login(http, owner.email).json(), owner.email)
    assert http.post("/api/v1/auth/logout", json={}, headers=owner.headers).status_code == 204
    r = http.get("/api/v1/auth/me", headers=owner.headers)
    assert (r.status_code, r.json()["code"]) == (401, "session_revoked")
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": owner.refresh_token})
    assert r.json()["code"] == "session_revoked"
    assert http.get("/api/v1/auth/me", headers=other.headers).status_code == 200
    assert http.post("/api/v1/auth/logout", json={"everywhere": True}, headers=other.headers).status_code == 204
    assert http.get("/api/v1/auth/me", headers=other.headers).status_code == 401
    assert len(_audit(superuser_engine, owner.tenant_id, "logout")) == 2


def test_successful_logins_are_audited(http, superuser_engine) -> None:
    owner = new_company(http)
    body = login(http, owner.email).json()
    logins = _audit(superuser_engine, owner.tenant_id, "login")
    assert logins[-1]["entity_id"] == body["session_id"] and str(logins[-1]["actor_id"]) == owner.user_id
