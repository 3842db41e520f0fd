"""SSO mapping rules may limit a member to some sites (set at each sign-in), never widening a
limit an administrator set by hand. The provider is configured over HTTP; the sign-in's mapping
step (factoryos.sso.signin, where LDAP, OIDC, SAML and SCIM sign-ins all end) runs on the real
database as the app role."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from factoryos.sso.signin import ExternalIdentity, resolve_sign_in
from tests.accounts import Session, new_company
from tests.production import plant

CONFIG = {"urls": ["ldap://127.0.0.1:9"], "directory": "openldap", "bind": "service",
          "bind_dn": "cn=svc,dc=example,dc=org", "user_base": "ou=people,dc=example,dc=org",
          "user_filter": "(mail={email})", "subject_attribute": "entryUUID", "groups": "member_of"}


@pytest.fixture()
def http(live_server) -> httpx.Client:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def _provider(http: httpx.Client, owner: Session, domain: str, rules: list[dict[str, Any]]) -> httpx.Response:
    return http.post("/api/v1/sso/providers", headers=owner.headers, json={
        "kind": "ldap", "name": f"Plant AD {domain[:6]}", "email_domains": [domain], "config": CONFIG,
        "secret": "service password", "default_role": "read_only", "rules": rules})


def _sign_in(engine: Engine, owner: Session, provider_id: str, email: str, *groups: str) -> None:
    with tenant_transaction(engine, UUID(owner.tenant_id)) as conn:
        resolve_sign_in(conn, ExternalIdentity(UUID(owner.tenant_id), UUID(provider_id), f"sub-{email}", email,
                                               "Dir Person", groups))


def _sites_of(engine: Engine, owner: Session, email: str) -> list[str] | None:
    with engine.connect() as conn:
        value = conn.execute(text("select m.site_ids from memberships m join users u on u.id = m.user_id "
                                  "where m.tenant_id = :t and u.email = :e"), {"t": owner.tenant_id, "e": email}).scalar()
    return [str(s) for s in value] if value is not None else None


def test_a_rule_sets_the_sites_and_a_rule_without_sites_keeps_them(http, app_engine, superuser_engine) -> None:
    owner = new_company(http)
    north, south = plant.site(http, owner), plant.site(http, owner)
    domain = f"d{uuid.uuid4().hex[:8]}.example.org"
    rules = [{"group": "North operators", "role": "operator", "site_ids": [north["id"]]},
             {"group": "Everyone", "role": "supervisor"}]
    r = _provider(http, owner, domain, rules)
    assert r.status_code == 201, r.text
    assert [rule["site_ids"] for rule in r.json()["rules"]] == [[north["id"]], None]
    provider = r.json()["id"]
    email = f"ada@{domain}"
    _sign_in(app_engine, owner, provider, email, "cn=North operators,ou=groups,dc=example,dc=org")
    assert _sites_of(superuser_engine, owner, email) == [north["id"]]
    # A rule naming no sites leaves them as they are: signing in never widens a limit.
    _sign_in(app_engine, owner, provider, email, "Everyone")
    assert _sites_of(superuser_engine, owner, email) == [north["id"]]
    # Set by hand to the other site, the North rule puts them back at the next sign-in.
    user_id = next(m["id"] for m in http.get("/api/v1/users", params={"q": email}, headers=owner.headers).json()["items"])
    r = http.put(f"/api/v1/users/{user_id}/sites", json={"site_ids": [south["id"]]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    _sign_in(app_engine, owner, provider, email, "North operators")
    assert _sites_of(superuser_engine, owner, email) == [north["id"]]
    # A newcomer through a rule without sites sees every site.
    _sign_in(app_engine, owner, provider, f"bob@{domain}", "Everyone")
    assert _sites_of(superuser_engine, owner, f"bob@{domain}") is None


def test_a_rule_naming_an_unknown_site_is_refused_at_the_field(http) -> None:
    owner = new_company(http)
    stranger = plant.site(http, new_company(http))
    domain = f"d{uuid.uuid4().hex[:8]}.example.org"
    for bad in ([str(uuid.uuid4())], [stranger["id"]]):
        r = _provider(http, owner, domain, [{"group": "Everyone", "role": "operator"},
                                            {"group": "X", "role": "operator", "site_ids": bad}])
        assert r.status_code == 422, r.text
        assert (r.json()["code"], r.json()["field"]) == ("unknown_site", "rules[1].site_ids")
