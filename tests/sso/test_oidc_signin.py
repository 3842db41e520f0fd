"""OIDC sign-in through the real API against a real OpenID Provider (oidc-provider under Node):
a terminal's device handoff and a browser's code flow with PKCE end in a FactoryOS session with
the mapped role, and every refusal is answered with its code and audited."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from factoryos.db.tenant import set_tenant
from tests.accounts import bearer, new_company
from tests.conftest import free_port
from tests.sso.oidc_support import BRIEF_CLIENT, USERS, Person, add_provider

pytestmark = pytest.mark.slow
def approve(link: str, user: str, *, allow: bool = True) -> str:
    person = Person(user)
    try:
        return person.visit(link, allow=allow)
    finally:
        person.close()


def audit_rows(superuser_engine, tenant_id: str, action: str, since: int = 0) -> list[dict[str, Any]]:
    with superuser_engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select * from audit_log where tenant_id = :t and action = :a and seq > :s order by seq"),
            {"t": tenant_id, "a": action, "s": since},
        ).mappings()]


def head(superuser_engine, tenant_id: str) -> int:
    with superuser_engine.connect() as conn:
        return conn.execute(text("select coalesce(max(seq), 0) from audit_log where tenant_id = :t"),
                            {"t": tenant_id}).scalar_one()


def test_terminal_signs_in_with_a_code_entered_on_a_phone(http, plant, superuser_engine):
    start = http.post("/api/v1/auth/sso/device", json={"email": USERS["sam"]["email"]})
    assert start.status_code == 200, start.text
    s = start.json()
    assert s["provider_name"] == "Acme Keycloak" and s["provider_id"] == plant["provider_id"]
    assert s["user_code"] in s["verification_uri_complete"] and s["interval"] >= 1
    assert "device_code" not in start.text
    pending = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert pending.status_code == 200 and pending.json()["status"] == "pending"

    assert "Sign-in Success" in approve(s["verification_uri_complete"], "sam")

    done = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["status"] == "signed_in"
    signin = answer["sign_in"]
    assert signin["account"]["email"] == USERS["sam"]["email"]
    assert signin["company"]["id"] == plant["owner"].tenant_id and signin["refresh_token"]
    me = http.get("/api/v1/auth/me", headers=bearer(signin["access_token"])).json()
    assert me["role"] == "supervisor"  # mes-supervisors → supervisor; the account was made just now
    logins = [r for r in audit_rows(superuser_engine, plant["owner"].tenant_id, "login")
              if r["actor_id"] == uuid.UUID(signin["account"]["id"])]
    assert logins and logins[-1]["after"]["method"] == "sso:oidc"

    # The same handle again: the provider refuses the used device code; refused and audited.
    since = head(superuser_engine, plant["owner"].tenant_id)
    again = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert again.status_code == 409 and again.json()["code"] == "sso_device_code_used"
    failed = audit_rows(superuser_engine, plant["owner"].tenant_id, "login_failed", since)
    assert [r["after"]["reason"] for r in failed] == ["sso_device_code_used"]
    assert failed[0]["entity_id"] == plant["provider_id"]


def test_operator_signs_in_by_company_and_provider(http, plant):
    s = http.post("/api/v1/auth/sso/device", json={"company_id": plant["owner"].tenant_id,
                                                   "provider_id": plant["provider_id"]}).json()
    approve(s["verification_uri_complete"], "ana")
    signin = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]}).json()["sign_in"]
    assert http.get("/api/v1/auth/me", headers=bearer(signin["access_token"])).json()["role"] == "operator"


def test_person_in_no_mapped_group_is_refused(http, plant):
    s = http.post("/api/v1/auth/sso/device", json={"email": USERS["zoe"]["email"]}).json()
    approve(s["verification_uri_complete"], "zoe")
    refused = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert refused.status_code == 403 and refused.json()["code"] == "sso_no_role"


def test_declined_at_the_provider(http, plant, superuser_engine):
    s = http.post("/api/v1/auth/sso/device", json={"email": USERS["ana"]["email"]}).json()
    approve(s["verification_uri_complete"], "ana", allow=False)
    since = head(superuser_engine, plant["owner"].tenant_id)
    denied = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert denied.status_code == 403
    body = denied.json()
    assert body["code"] == "sso_access_denied" and "Acme Keycloak" in body["detail"]
    assert [r["after"]["reason"] for r in audit_rows(superuser_engine, plant["owner"].tenant_id, "login_failed",
                                                     since)] == ["sso_access_denied"]


def test_expired_device_code_is_refused(http, live_server, app_engine, authenticator, oidc_op, superuser_engine):
    with httpx.Client(base_url=live_server.url, timeout=30) as h:
        owner = new_company(h)
    pid = add_provider(app_engine, authenticator, owner.tenant_id, oidc_op.issuer, client_id=BRIEF_CLIENT)
    s = http.post("/api/v1/auth/sso/device", json={"company_id": owner.tenant_id, "provider_id": pid}).json()
    assert s["expires_in"] <= 3
    time.sleep(s["expires_in"] + 1)
    expired = http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})
    assert expired.status_code == 410 and expired.json()["code"] == "sso_device_expired"
    assert audit_rows(superuser_engine, owner.tenant_id, "login_failed")[-1]["after"]["reason"] == "sso_device_expired"


def test_provider_down_is_named_and_password_still_works(http, live_server, app_engine, authenticator,
                                                        superuser_engine):
    with httpx.Client(base_url=live_server.url, timeout=30) as h:
        owner = new_company(h)
    pid = add_provider(app_engine, authenticator, owner.tenant_id, f"http://127.0.0.1:{free_port()}",
                       name="Plant Keycloak")
    down = http.post("/api/v1/auth/sso/device", json={"company_id": owner.tenant_id, "provider_id": pid})
    assert down.status_code == 503
    body = down.json()
    assert body["code"] == "sso_provider_unreachable" and body["detail"].startswith("Plant Keycloak:")
    assert audit_rows(superuser_engine, owner.tenant_id, "login_failed")[-1]["after"]["reason"] == \
        "sso_provider_unreachable"
    # The local break-glass owner still signs in with the password.
    assert http.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password}).status_code == 200


def test_unknown_or_tampered_handle(http, plant):
    s = http.post("/api/v1/auth/sso/device", json={"email": USERS["ana"]["email"]}).json()
    forged = s["handle"][:-6] + ("AAAAAA" if not s["handle"].endswith("AAAAAA") else "BBBBBB")
    bad = http.post("/api/v1/auth/sso/device/poll", json={"handle": forged})
    assert bad.status_code == 422 and bad.json()["code"] == "sso_flow_invalid" and bad.json()["field"] == "handle"
    nobody = http.post("/api/v1/auth/sso/device", json={"email": "someone@elsewhere.example.com"})
    assert nobody.status_code == 404 and nobody.json()["code"] == "sso_no_provider"


# -- the browser: authorization code with PKCE, following the real redirects -----------------


def browser_sign_in(live_server, plant, user: str) -> tuple[Person, httpx.Response, str]:
    """The person's browser: FactoryOS start → provider's login and consent → FactoryOS callback."""
    person = Person(user)
    start = f"{live_server.url}/api/v1/auth/sso/oidc/{plant['provider_id']}/start?email={USERS[user]['email']}"
    back = person.visit(start, stop_at=live_server.url + "/api/v1/auth/sso/oidc/callback")
    cookie = person.browser.cookies.get("factoryos_oidc")
    answer = person.browser.get(back)
    return person, answer, cookie


def test_browser_sign_in_with_pkce(live_server, plant, http):
    person, answer, cookie = browser_sign_in(live_server, plant, "ana")
    assert cookie
    try:
        assert answer.status_code == 200, answer.text
        signin = answer.json()
        assert signin["account"]["email"] == USERS["ana"]["email"]
        me = http.get("/api/v1/auth/me", headers=bearer(signin["access_token"])).json()
        assert me["role"] == "operator"
        # The callback URL again: its binding cookie is gone after the sign-in...
        replay = person.browser.get(str(answer.url))
        assert replay.status_code == 400 and replay.json()["code"] == "sso_state_mismatch"
        # ...and with the cookie put back, the provider refuses its code a second time.
        person.browser.cookies.set("factoryos_oidc", cookie, domain="127.0.0.1", path="/api/v1/auth/sso/oidc")
        replay = person.browser.get(str(answer.url))
        assert replay.status_code == 401 and replay.json()["code"] == "sso_code_rejected"
    finally:
        person.close()


def test_callback_from_another_browser_is_refused(live_server, plant):
    """Login CSRF: a callback URL carried to another browser (without the start's cookie) fails."""
    person = Person("ana")
    try:
        start = f"{live_server.url}/api/v1/auth/sso/oidc/{plant['provider_id']}/start?email={USERS['ana']['email']}"
        back = person.visit(start, stop_at=live_server.url + "/api/v1/auth/sso/oidc/callback")
    finally:
        person.close()
    with httpx.Client(timeout=15) as victim:
        refused = victim.get(back)
    assert refused.status_code == 400 and refused.json()["code"] == "sso_state_mismatch"


def device_sign_in(http, email: str, user: str) -> httpx.Response:
    s = http.post("/api/v1/auth/sso/device", json={"email": email}).json()
    approve(s["verification_uri_complete"], user)
    return http.post("/api/v1/auth/sso/device/poll", json={"handle": s["handle"]})


def test_losing_the_group_ends_the_role_at_the_next_sign_in(http, plant, app_engine):
    first = device_sign_in(http, USERS["sam"]["email"], "sam").json()["sign_in"]
    assert http.get("/api/v1/auth/me", headers=bearer(first["access_token"])).json()["role"] == "supervisor"

    def rename(old: str, new: str) -> None:
        with app_engine.begin() as conn:
            set_tenant(conn, uuid.UUID(plant["owner"].tenant_id))
            conn.execute(text("update sso_mapping_rules set group_name = :new where provider_id = :p "
                              "and group_name = :old"), {"new": new, "old": old, "p": plant["provider_id"]})

    rename("mes-supervisors", "former-supervisors")  # the directory's group no longer gives the role
    try:
        refused = device_sign_in(http, USERS["sam"]["email"], "sam")
        assert refused.status_code == 403 and refused.json()["code"] == "sso_no_role"
        # ...and the session opened before is over.
        assert http.get("/api/v1/auth/me", headers=bearer(first["access_token"])).status_code == 401
        assert http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401
    finally:
        rename("former-supervisors", "mes-supervisors")
