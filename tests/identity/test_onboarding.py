"""Register, owner setup (one transaction, validation naming the field), idempotent setup, /me."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from factoryos.identity.permissions import PERMISSIONS
from tests.accounts import PASSWORD, bearer, login, new_company, new_email, owner_body, register


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_owner_setup_creates_company_profile_and_owner_membership(http, superuser_engine) -> None:
    owner = new_company(http, company_name="Steelworks Nord", timezone="Europe/Berlin", default_currency="usd")
    me = http.get("/api/v1/auth/me", headers=owner.headers).json()
    assert me["account"]["display_name"] == "Olga Owner"
    assert me["company"] == {
        "id": owner.tenant_id,
        "name": "Steelworks Nord",
        "industry": "Metalworking",
        "company_size": "11-50",
        "city": "Linz",
        "default_currency": "USD",
        "timezone": "Europe/Berlin",
    }
    assert me["role"] == "owner" and me["role_title"] == "Owner"
    assert sorted(me["permissions"]) == sorted(PERMISSIONS)  # the owner holds every one
    with superuser_engine.connect() as conn:
        actions = (
            conn.execute(
                text("select action || ':' || entity_type from audit_log where tenant_id = :t order by seq"),
                {"t": owner.tenant_id},
            )
            .scalars()
            .all()
        )
    assert actions == ["create:company", "create:membership", "login:session"]


@pytest.mark.parametrize(
    ("override", "field", "code"),
    [
        ({"display_name": " x "}, "display_name", "display_name_too_short"),
        ({"company_name": "  "}, "company_name", "required"),
        ({"industry": ""}, "industry", "required"),
        ({"company_size": ""}, "company_size", "required"),
        ({"company_size": "huge"}, "company_size", "invalid_company_size"),
        ({"city": ""}, "city", "required"),
        ({"default_currency": "EURO"}, "default_currency", "invalid_currency"),
        ({"default_currency": "XQQ"}, "default_currency", "invalid_currency"),
        ({"timezone": "Mars/Olympus"}, "timezone", "invalid_timezone"),
    ],
)
def test_owner_setup_rejects_bad_fields_naming_them(http, superuser_engine, override, field, code) -> None:
    account = register(http)
    body = owner_body(**override)
    name = body["company_name"]
    r = http.post("/api/v1/setup/owner", json=body, headers=bearer(account["access_token"]))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert (r.json()["field"], r.json()["code"]) == (field, code)
    # Atomic: nothing of the half-made company is left behind.
    assert _count(superuser_engine, "select count(*) from companies where name = :n", n=name) == 0


def test_missing_field_is_named(http) -> None:
    account = register(http)
    body = owner_body()
    del body["city"]
    r = http.post("/api/v1/setup/owner", json=body, headers=bearer(account["access_token"]))
    assert (r.status_code, r.json()["field"]) == (422, "city")


def test_timezone_is_optional(http) -> None:
    owner = new_company(http, timezone=None)
    assert http.get("/api/v1/auth/me", headers=owner.headers).json()["company"]["timezone"] is None


def test_registration_does_not_tell_whether_an_email_has_an_account(http, superuser_engine) -> None:
    owner = new_company(http)
    with superuser_engine.connect() as conn:
        chain = conn.execute(text("select count(*) from audit_log where tenant_id = :t"), {"t": owner.tenant_id}).scalar()
    taken = http.post("/api/v1/auth/register", json={"email": owner.email.upper(), "password": "another long passphrase 7"})
    fresh = http.post("/api/v1/auth/register", json={"email": new_email(), "password": "another long passphrase 7"})
    assert taken.status_code == fresh.status_code == 202
    assert taken.json() == fresh.json() and taken.json()["status"] == "accepted"
    # The existing account got nothing it did not ask for: same password, nothing in its company's log.
    assert login(http, owner.email, PASSWORD).status_code == 200
    r = login(http, owner.email, "another long passphrase 7")
    assert (r.status_code, r.json()["code"]) == (401, "invalid_credentials")
    with superuser_engine.connect() as conn:
        rows = conn.execute(text("select action from audit_log where tenant_id = :t order by seq offset :n"),
                            {"t": owner.tenant_id, "n": chain}).scalars().all()
    assert "create" not in rows and all(a in ("login", "login_failed") for a in rows), rows


def test_register_validates_email_and_password(http) -> None:
    r = http.post("/api/v1/auth/register", json={"email": "not-an-email", "password": PASSWORD})
    assert (r.status_code, r.json()["field"], r.json()["code"]) == (422, "email", "invalid_email")
    r = http.post("/api/v1/auth/register", json={"email": new_email(), "password": "short"})
    assert (r.status_code, r.json()["field"], r.json()["code"]) == (422, "password", "weak_password")


def test_same_owner_cannot_create_two_companies_with_one_name(http, superuser_engine) -> None:
    owner = new_company(http, company_name="Twin Forge")
    r = http.post("/api/v1/setup/owner", json=owner_body(company_name="twin forge"), headers=owner.headers)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (409, "company_name_taken", "company_name")
    # Another owner may use the name, and the first owner may own a differently named company.
    assert new_company(http, company_name="Twin Forge").tenant_id != owner.tenant_id
    r = http.post("/api/v1/setup/owner", json=owner_body(company_name="Twin Forge II"), headers=owner.headers)
    assert r.status_code == 201
    assert _count(superuser_engine, "select count(*) from companies where name = 'Twin Forge'") == 2


def test_setup_is_idempotent(http) -> None:
    email = new_email()
    account = register(http, email)
    headers = bearer(account["access_token"])
    r = http.post("/api/v1/setup", json={}, headers=headers)
    assert (r.status_code, r.json()["field"]) == (422, "display_name")
    first = http.post("/api/v1/setup", json={"display_name": "Pat Planner"}, headers=headers)
    again = http.post("/api/v1/setup", json={"display_name": "Someone Else"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["account"]["display_name"] == "Pat Planner"
    assert first.json()["setup_required"] is True and first.json()["companies"] == []


def test_setup_needs_a_valid_token(http) -> None:
    r = http.post("/api/v1/setup", json={})
    assert (r.status_code, r.json()["code"]) == (401, "missing_token")


def test_account_token_opens_no_company_route(http) -> None:
    account = register(http)
    r = http.get("/api/v1/auth/me", headers=bearer(account["access_token"]))
    assert (r.status_code, r.json()["code"]) == (401, "company_required")
    assert account["refresh_token"] is None and account["company"] is None
