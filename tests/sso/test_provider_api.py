"""The provider admin API: CRUD with validation naming the field, secrets never returned nor
logged nor audited, domains routed by one company only, the Test button in words, the public
sign-in config, and `admin.system` required."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.accounts import join, new_company
from tests.sso.slapd import PASSWORDS, SERVICE_PW, Slapd
from tests.sso.support import plant_with_directory, provider_body, sign_in


def test_a_provider_round_trips_without_its_secret(
        http: httpx.Client, slapd: Slapd, superuser_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    plant = plant_with_directory(http, slapd)
    p = plant.provider
    assert p["has_secret"] is True and "secret" not in p
    assert p["rules"][0] == {"position": 1, "group": plant.people.group("supervisors"), "role": "supervisor",
                             "granted": [], "denied": [], "site_ids": None}
    assert p["config"]["urls"] == [slapd.ldaps_url] and p["default_role"] is None
    listed = http.get("/api/v1/sso/providers", headers=plant.owner.headers)
    assert [x["id"] for x in listed.json()["items"]] == [p["id"]]
    # Test, sign-in and a secret change: the secret appears in no answer, audit row or log line.
    tested = http.post(f"/api/v1/sso/providers/{p['id']}/test", headers=plant.owner.headers,
                       json={"username": plant.people.ada})
    assert sign_in(http, plant.people.ada).status_code == 200
    changed = http.patch(f"/api/v1/sso/providers/{p['id']}", headers=plant.owner.headers,
                         json={"secret": "a-new-service-secret"})
    assert changed.status_code == 200 and changed.json()["has_secret"] is True
    for r in (listed, tested, changed):
        assert SERVICE_PW not in r.text and "a-new-service-secret" not in r.text
    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select coalesce(before::text, '') || coalesce(after::text, '') from audit_log "
                                 "where tenant_id = :t"), {"t": plant.owner.tenant_id}).scalars().all()
        stored = conn.execute(text("select secret_encrypted from sso_providers where id = :p"),
                              {"p": p["id"]}).scalar_one()
    assert rows and not any(SERVICE_PW in r or "a-new-service-secret" in r or PASSWORDS["ada"] in r for r in rows)
    assert "a-new-service-secret" not in stored
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SERVICE_PW not in logged and PASSWORDS["ada"] not in logged
    update = [r for r in rows if "secret_changed" in r]
    assert len(update) == 1


def test_the_test_button_says_what_it_found(http: httpx.Client, slapd: Slapd) -> None:
    plant = plant_with_directory(http, slapd)
    url = f"/api/v1/sso/providers/{plant.provider['id']}/test"
    r = http.post(url, headers=plant.owner.headers, json={"username": plant.people.ada})
    body = r.json()
    assert body["ok"] is True and body["role"] == "supervisor"
    assert "Ada Lovelace" in body["summary"] and plant.people.group("supervisors") in body["summary"]
    assert [s["step"] for s in body["steps"]] == ["connect", "service bind", "find user", "groups"]
    assert body["user"]["email"] == plant.people.ada
    # With the password: checked by binding as her.
    r = http.post(url, headers=plant.owner.headers, json={"username": plant.people.ada, "password": "wrong"})
    assert r.json()["ok"] is False and "password is not correct" in r.json()["summary"]
    # Nobody given: connection and service account only.
    assert "service account signs in" in http.post(url, headers=plant.owner.headers, json={}).json()["summary"]
    # A wrong service password: said in words, not an error page.
    http.patch(f"/api/v1/sso/providers/{plant.provider['id']}", headers=plant.owner.headers, json={"secret": "nope"})
    r = http.post(url, headers=plant.owner.headers, json={"username": plant.people.ada})
    assert r.status_code == 200 and r.json()["ok"] is False and "service account" in r.json()["summary"]


def test_bad_settings_name_the_field(http: httpx.Client, slapd: Slapd) -> None:
    owner = new_company(http)
    plant = plant_with_directory(http, slapd)
    cases = [
        ({"config": {"urls": ["https://dc1"], "user_base": "dc=x", "bind_dn": "cn=s"}}, 422, "sso_config_invalid",
         "config.urls"),
        ({"config": {"urls": ["ldaps://dc1"], "user_base": "dc=x"}}, 422, "sso_config_invalid", "config"),
        ({"email_domains": ["not a domain"]}, 422, "sso_domain_invalid", "email_domains[0]"),
        ({"email_domains": [plant.people.domain]}, 409, "sso_domain_taken", "email_domains"),
        ({"rules": [{"group": "x", "role": "operator", "granted": ["fly.planes"]}]}, 422, "unknown_permission",
         "rules[0].granted"),
        ({"kind": "saml", "config": {"idp_metadata_xml": "<not-metadata/>"}}, 422, "saml_metadata_invalid",
         "config.idp_metadata_xml"),
    ]
    for over, status, code, field in cases:
        body = provider_body(slapd, plant.people, email_domains=[f"x{len(over)}-{owner.tenant_id[:8]}.example.com"])
        body.update(over)
        r = http.post("/api/v1/sso/providers", json=body, headers=owner.headers)
        assert (r.status_code, r.json().get("code"), r.json().get("field")) == (status, code, field), (over, r.text)
    r = http.post("/api/v1/sso/providers", json=provider_body(slapd, plant.people, email_domains=[]),
                  headers=plant.owner.headers)
    assert r.status_code == 409 and r.json()["code"] == "sso_provider_name_taken"
    assert http.get("/api/v1/sso/providers/00000000-0000-0000-0000-000000000000",
                    headers=owner.headers).json()["code"] == "sso_provider_not_found"
    # Another company cannot see or change this company's provider.
    assert http.get(f"/api/v1/sso/providers/{plant.provider['id']}", headers=owner.headers).status_code == 404


def test_only_admin_system_manages_providers(http: httpx.Client, slapd: Slapd) -> None:
    plant = plant_with_directory(http, slapd)
    supervisor = join(http, plant.owner, "plant_manager")
    for method, path in (("GET", "/api/v1/sso/providers"), ("GET", "/api/v1/sso/settings"),
                         ("DELETE", f"/api/v1/sso/providers/{plant.provider['id']}")):
        r = http.request(method, path, headers=supervisor.headers)
        assert r.status_code == 403 and r.json()["code"] == "permission_denied", r.text


def test_require_sso_needs_an_enabled_provider(http: httpx.Client) -> None:
    owner = new_company(http)
    r = http.patch("/api/v1/sso/settings", json={"require_sso": True}, headers=owner.headers)
    assert r.status_code == 422 and r.json()["code"] == "sso_no_provider"


def test_sign_in_config_routes_an_email_to_its_companys_provider(http: httpx.Client, slapd: Slapd) -> None:
    plant = plant_with_directory(http, slapd)
    r = http.get("/api/v1/auth/config", params={"email": plant.people.ada})
    body = r.json()
    assert body["installation"] == "multi_company" and body["self_registration"] is True
    assert body["email_domain"] == plant.people.domain and body["company_name"]
    assert body["methods"] == [{"kind": "ldap", "provider_id": plant.provider["id"], "name": plant.provider["name"],
                                "device_flow": False}]
    assert plant.provider["name"] in body["password_note"]
    other = http.get("/api/v1/auth/config", params={"email": "someone@elsewhere.example.org"}).json()
    assert [m["kind"] for m in other["methods"]] == ["password"] and other["company_name"] is None
    assert [m["kind"] for m in http.get("/api/v1/auth/config").json()["methods"]] == ["password"]
    # A disabled provider is not offered, and its people go back to local passwords.
    http.patch(f"/api/v1/sso/providers/{plant.provider['id']}", json={"enabled": False}, headers=plant.owner.headers)
    body = http.get("/api/v1/auth/config", params={"email": plant.people.ada}).json()
    assert [m["kind"] for m in body["methods"]] == ["password"]
    assert sign_in(http, plant.people.ada).json()["code"] == "invalid_credentials"


def test_deleting_a_provider_keeps_the_accounts(http: httpx.Client, slapd: Slapd, superuser_engine: Engine) -> None:
    plant = plant_with_directory(http, slapd)
    ada = sign_in(http, plant.people.ada).json()
    r = http.delete(f"/api/v1/sso/providers/{plant.provider['id']}", headers=plant.owner.headers)
    assert r.status_code == 204
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select count(*) from sso_identities where provider_id = :p"),
                            {"p": plant.provider["id"]}).scalar() == 0
        assert conn.execute(text("select role from memberships where user_id = :u"),
                            {"u": ada["account"]["id"]}).scalar() == "supervisor"
    # The domain is free again for another company.
    other = new_company(http)
    body = provider_body(slapd, plant.people)
    assert http.post("/api/v1/sso/providers", json=body, headers=other.headers).status_code == 201
