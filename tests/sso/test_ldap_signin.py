"""Signing in with an LDAP directory (a real slapd over LDAPS): group → role mapping at every
sign-in, nested groups, just-in-time accounts, lost roles ending sessions, wrong passwords, an
unreachable directory with the break-glass owner, and the company's require-SSO / MFA options."""

from __future__ import annotations

import time

import httpx
import pyotp
from sqlalchemy import Engine, text

from tests.accounts import PASSWORD, bearer, join, login, new_company
from tests.sso.slapd import PEOPLE, Slapd
from tests.sso.support import plant_with_directory, sign_in


def _me(http: httpx.Client, token: str) -> httpx.Response:
    return http.get("/api/v1/auth/me", headers=bearer(token))


def _audit(engine: Engine, tenant: str, action: str, entity_type: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select * from audit_log where tenant_id = :t and action = :a and entity_type = :e order by seq"),
            {"t": tenant, "a": action, "e": entity_type}).mappings()]


def test_first_sign_in_makes_the_account_with_the_role_of_a_nested_group(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    # ada is in line-leads, which is in supervisors: the rule names supervisors.
    r = sign_in(http, plant.people.ada)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["company"]["id"] == plant.owner.tenant_id
    assert body["company"]["role"] == "supervisor"
    assert body["account"]["display_name"] == "Ada Lovelace"
    me = _me(http, body["access_token"]).json()
    assert me["role"] == "supervisor" and me["account"]["email"] == plant.people.ada
    # bob's rule adds a permission on top of the operator role.
    bob = sign_in(http, plant.people.bob).json()
    me = _me(http, bob["access_token"]).json()
    assert me["role"] == "operator" and me["granted"] == ["reports.export"] and "reports.export" in me["permissions"]

    logins = _audit(superuser_engine, plant.owner.tenant_id, "login", "session")
    assert [r["after"]["method"] for r in logins[-2:]] == ["sso:ldap", "sso:ldap"]
    created = _audit(superuser_engine, plant.owner.tenant_id, "create", "user")
    assert {r["after"]["email"] for r in created} == {plant.people.ada, plant.people.bob}
    assert all(r["after"]["just_in_time"] for r in created)
    links = _audit(superuser_engine, plant.owner.tenant_id, "create", "sso_identity")
    assert len(links) == 2
    # The second sign-in of the same person links nothing new and keeps the role.
    again = sign_in(http, plant.people.ada)
    assert again.status_code == 200 and again.json()["account"]["id"] == body["account"]["id"]
    assert len(_audit(superuser_engine, plant.owner.tenant_id, "create", "sso_identity")) == 2
    # A made-by-the-directory account has no password of its own.
    assert login(http, plant.people.ada, PASSWORD).status_code == 401


def test_wrong_password_and_unknown_person_answer_alike_and_are_audited(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    wrong = sign_in(http, plant.people.ada, "not-her-password")
    unknown = sign_in(http, f"nobody@{plant.people.domain}", "whatever-it-is")
    empty = http.post("/api/v1/auth/login", json={"email": plant.people.ada, "password": " "})
    for r in (wrong, unknown, empty):
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "invalid_credentials"
    failures = _audit(superuser_engine, plant.owner.tenant_id, "login_failed", "sso_provider")
    assert [f["after"]["reason"] for f in failures] == ["invalid_credentials"] * 3
    assert {f["after"]["email"] for f in failures} == {plant.people.ada, f"nobody@{plant.people.domain}"}


def test_a_person_in_no_rule_is_refused_unless_there_is_a_default_role(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    r = sign_in(http, plant.people.carl)
    assert r.status_code == 403 and r.json()["code"] == "sso_no_role", r.text
    assert plant.provider["name"] in r.json()["detail"]
    with superuser_engine.connect() as conn:  # refused before any account was made
        assert conn.execute(text("select count(*) from users where email = :e"),
                            {"e": plant.people.carl}).scalar() == 0
    patch = http.patch(f"/api/v1/sso/providers/{plant.provider['id']}", json={"default_role": "read_only"},
                       headers=plant.owner.headers)
    assert patch.status_code == 200, patch.text
    r = sign_in(http, plant.people.carl)
    assert r.status_code == 200 and r.json()["company"]["role"] == "read_only"


def test_losing_the_group_ends_the_role_and_the_sessions_at_the_next_sign_in(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    people = plant.people
    first = sign_in(http, people.bob).json()
    assert first["company"]["role"] == "operator"

    # Promoted in the directory: the supervisors rule comes first, so bob becomes a supervisor,
    # and the session opened as an operator ends.
    slapd.add_member(people.group("supervisors"), people.dn(people.bob))
    promoted = sign_in(http, people.bob).json()
    assert promoted["company"]["role"] == "supervisor"
    assert _me(http, first["access_token"]).status_code == 401
    stale = http.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert stale.status_code == 401 and stale.json()["code"] == "session_revoked"
    assert _me(http, promoted["access_token"]).json()["role"] == "supervisor"
    changes = _audit(superuser_engine, plant.owner.tenant_id, "update", "membership")
    assert changes[-1]["before"]["role"] == "operator" and changes[-1]["after"]["role"] == "supervisor"
    assert changes[-1]["after"]["sessions_ended"] == 1

    # Removed from every group: refused at the next sign-in, membership gone, sessions ended.
    slapd.remove_member(people.group("supervisors"), people.dn(people.bob))
    slapd.remove_member(people.group("operators"), people.dn(people.bob))
    r = sign_in(http, people.bob)
    assert r.status_code == 403 and r.json()["code"] == "sso_no_role"
    assert _me(http, promoted["access_token"]).status_code == 401
    members = http.get("/api/v1/users", headers=plant.owner.headers).json()
    assert people.bob not in str(members)
    removed = _audit(superuser_engine, plant.owner.tenant_id, "delete", "membership")
    assert removed[-1]["before"]["role"] == "supervisor" and removed[-1]["after"]["reason"] == "sso_no_role"


def test_unreachable_directory_is_named_and_the_break_glass_owner_still_signs_in(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    owner = plant.owner
    # The owner turns on TOTP: break-glass is password + code.
    secret = http.post("/api/v1/auth/mfa/enroll", headers=owner.headers).json()["secret"]
    assert http.post("/api/v1/auth/mfa/confirm", headers=owner.headers,
                     json={"code": pyotp.TOTP(secret).now()}).status_code == 200
    config = dict(plant.provider["config"], urls=["ldaps://127.0.0.1:9", "ldaps://localhost:10"])
    assert http.patch(f"/api/v1/sso/providers/{plant.provider['id']}", json={"config": config},
                      headers=owner.headers).status_code == 200

    r = sign_in(http, plant.people.ada)
    assert r.status_code == 503, r.text
    problem = r.json()
    assert problem["code"] == "sso_directory_unavailable"
    assert plant.provider["name"] in problem["detail"] and "127.0.0.1:9" in problem["detail"]
    assert "owner" in problem["detail"]
    failures = _audit(superuser_engine, owner.tenant_id, "login_failed", "sso_provider")
    assert failures[-1]["after"]["reason"] == "sso_directory_unavailable"

    assert login(http, owner.email).json()["code"] == "mfa_required"
    totp = pyotp.TOTP(secret)
    r = login(http, owner.email, totp_code=totp.at(time.time() + totp.interval))  # the confirm used this step's
    assert r.status_code == 200, r.text
    assert r.json()["company"]["role"] == "owner"


def test_require_sso_leaves_only_the_owner_a_local_password(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    owner = plant.owner
    local = join(http, owner, "operator")  # an example.com account, not in the directory
    r = http.patch("/api/v1/sso/settings", json={"require_sso": True}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["require_sso"] is True

    refused = login(http, local.email)
    assert refused.status_code == 403 and refused.json()["code"] == "sso_required", refused.text
    assert login(http, owner.email).status_code == 200
    assert sign_in(http, plant.people.ada).status_code == 200
    assert _audit(superuser_engine, owner.tenant_id, "login_failed", "user")[-1]["after"]["reason"] == "sso_required"
    settings = _audit(superuser_engine, owner.tenant_id, "update", "sso_settings")
    assert settings[-1]["before"]["require_sso"] is False and settings[-1]["after"]["require_sso"] is True


def test_require_mfa_for_local_accounts_needs_the_owners_totp_first(http: httpx.Client, slapd: Slapd) -> None:
    plant = plant_with_directory(http, slapd)
    owner = plant.owner
    local = join(http, owner, "supervisor")
    r = http.patch("/api/v1/sso/settings", json={"require_mfa_local": True}, headers=owner.headers)
    assert r.status_code == 403 and r.json()["code"] == "sso_owner_needs_mfa"
    secret = http.post("/api/v1/auth/mfa/enroll", headers=owner.headers).json()["secret"]
    http.post("/api/v1/auth/mfa/confirm", headers=owner.headers, json={"code": pyotp.TOTP(secret).now()})
    assert http.patch("/api/v1/sso/settings", json={"require_mfa_local": True},
                      headers=owner.headers).status_code == 200
    refused = login(http, local.email)
    assert refused.status_code == 403 and refused.json()["code"] == "mfa_setup_required"
    assert sign_in(http, plant.people.ada).status_code == 200  # the directory's people are not local


def test_an_account_outside_the_providers_domains_is_never_claimed(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    # A directory whose entry for mallory carries the email of another company's member: the
    # provider serves only its own domain, so that account is not linked nor given a membership.
    plant = plant_with_directory(http, slapd)
    config = dict(plant.provider["config"], user_filter="(uid={username})")
    assert http.patch(f"/api/v1/sso/providers/{plant.provider['id']}", json={"config": config},
                      headers=plant.owner.headers).status_code == 200
    victim = new_company(http)
    uid = f"mallory-{plant.people.tag}"
    slapd.add_person(uid, "Mallory Claim", "mallory-Claims-Everything-9", email=victim.email)
    slapd.add_member(plant.people.group("operators"), f"uid={uid},{PEOPLE}")
    r = http.post("/api/v1/auth/login", json={"email": f"{uid}@{plant.people.domain}",
                                               "password": "mallory-Claims-Everything-9"})
    assert r.status_code == 403 and r.json()["code"] == "sso_email_in_use", r.text
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select count(*) from memberships m join users u on u.id = m.user_id "
                                 "where u.email = :e"), {"e": victim.email}).scalar() == 1


def test_no_account_is_made_for_an_address_outside_the_providers_domains(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    config = dict(plant.provider["config"], user_filter="(uid={username})")
    http.patch(f"/api/v1/sso/providers/{plant.provider['id']}", json={"config": config}, headers=plant.owner.headers)
    uid = f"dora-{plant.people.tag}"
    foreign = f"{uid}@elsewhere-{plant.people.tag}.example.org"
    slapd.add_person(uid, "Dora Elsewhere", "dora-Elsewhere-Address-5", email=foreign)
    slapd.add_member(plant.people.group("operators"), f"uid={uid},{PEOPLE}")
    r = http.post("/api/v1/auth/login", json={"email": f"{uid}@{plant.people.domain}",
                                               "password": "dora-Elsewhere-Address-5"})
    assert r.status_code == 403 and r.json()["code"] == "sso_email_domain", r.text
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select count(*) from users where email = :e"), {"e": foreign}).scalar() == 0
    assert _audit(superuser_engine, plant.owner.tenant_id, "login_failed", "sso_provider")[-1]["after"]["reason"] \
        == "sso_email_domain"
