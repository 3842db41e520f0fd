"""Company isolation for identity: cross-company 404s, one owner, narrow cross-tenant lookups."""

from __future__ import annotations

import re
import threading
import uuid

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import text

from factoryos.db.roles import libpq_url
from factoryos.db.tenant import tenant_transaction
from factoryos.errors import Conflict
from factoryos.identity.accounts import user_companies
from factoryos.identity.memberships import add_member
from server.app import all_endpoints
from tests.accounts import invite, join, make_installation_admin, new_company

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")

# Valid bodies, so a 404 is about the id and not about input validation.
BODIES = {("PATCH", "/api/v1/users/{user_id:uuid}/permissions"): {"granted": []},
          ("PUT", "/api/v1/users/{user_id:uuid}/sites"): {"site_ids": None},
          ("PUT", "/api/v1/users/{user_id:uuid}/machines"): {"machine_ids": None}}


def _own_format(ep) -> bool:
    """Browser pages and SAML metadata (a company's public sign-in documents) and SCIM (its own error
    bodies and token): their isolation is tested in tests/sso, not by a problem+json 404 here."""
    return bool({"text/html", "application/samlmetadata+xml"} & set(ep.response_media_types)) or (
        ep.path.startswith("/scim/"))


def test_every_id_taking_route_answers_404_for_another_companys_ids(http, app_engine) -> None:
    a = new_company(http)
    a_staff = join(http, a, "operator")
    a_invite = invite(http, a, "operator")
    b = new_company(http)  # the owner of B holds every permission, so only tenancy can stop them
    make_installation_admin(app_engine, b.email)  # the installation-wide ones too
    # Real ids of company A by path parameter. Other domains: add yours here to make your
    # routes' check strict; until then they get a random id and may fail validation first.
    ids = {"user_id": a_staff.user_id, "invite_id": a_invite["id"]}
    strict = []
    for ep in all_endpoints():
        names = _PARAM.findall(ep.path)
        if not names or _own_format(ep):
            continue
        path = _PARAM.sub(lambda m: ids.get(m.group(1), str(uuid.uuid4())), ep.path)
        r = http.request(ep.method, path, headers=b.headers, json=BODIES.get((ep.method, ep.path), {}))
        assert r.headers["content-type"] == "application/problem+json", (ep.method, ep.path, r.text)
        if all(n in ids for n in names):
            assert r.status_code == 404, (ep.method, ep.path, r.status_code, r.text)
            strict.append((ep.method, ep.path))
        else:
            assert r.status_code in (404, 422), (ep.method, ep.path, r.status_code, r.text)
    assert len(strict) >= 4
    # And A's rows are untouched.
    assert http.get(f"/api/v1/users/{a_staff.user_id}", headers=a.headers).status_code == 200
    assert [i["id"] for i in http.get("/api/v1/invites", headers=a.headers).json()["items"]] == [a_invite["id"]]


def test_tokens_never_choose_their_tenant_from_the_request(http) -> None:
    a, b = new_company(http), new_company(http)
    r = http.get("/api/v1/users", headers={**b.headers, "X-Tenant-Id": a.tenant_id}, params={"tenant_id": a.tenant_id})
    assert {m["id"] for m in r.json()["items"]} == {b.user_id}


def test_one_owner_per_company_under_concurrent_attempts(http, app_engine, superuser_engine) -> None:
    owner = new_company(http)
    tenant = uuid.UUID(owner.tenant_id)
    contenders = []
    with superuser_engine.begin() as conn:
        for i in range(4):
            contenders.append(
                conn.execute(
                    text(
                        "insert into users (email, display_name, password_hash) values (:e, 'Would Be', 'x') returning id"
                    ),
                    {"e": f"would-be-{i}-{uuid.uuid4().hex[:6]}@example.com"},
                ).scalar_one()
            )
        conn.execute(text("delete from memberships where tenant_id = :t"), {"t": tenant})
    barrier = threading.Barrier(len(contenders))
    outcomes: list[str] = []

    def attempt(user_id: uuid.UUID) -> None:
        try:
            with tenant_transaction(app_engine, tenant, user_id) as conn:
                barrier.wait()
                add_member(conn, tenant, user_id, "owner")
            outcomes.append("owner")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(u,)) for u in contenders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["owner"] + ["owner_exists"] * (len(contenders) - 1)
    with superuser_engine.connect() as conn:
        owners = conn.execute(
            text("select count(*) from memberships where tenant_id = :t and role = 'owner'"), {"t": tenant}
        ).scalar()
    assert owners == 1


def test_the_database_refuses_a_second_owner_even_as_superuser(http, superuser_engine) -> None:
    owner = new_company(http)
    with superuser_engine.connect() as conn:
        user = conn.execute(
            text("insert into users (email, password_hash) values (:e, 'x') returning id"),
            {"e": f"second-{uuid.uuid4().hex[:6]}@example.com"},
        ).scalar_one()
        with pytest.raises(Exception, match="uq_memberships_one_owner"):
            conn.execute(
                text("insert into memberships (tenant_id, user_id, role) values (:t, :u, 'owner')"),
                {"t": owner.tenant_id, "u": user},
            )
        conn.rollback()


def test_directories_are_invisible_to_the_app_role(db_urls) -> None:
    with psycopg.connect(libpq_url(db_urls.app)) as conn:
        for table in ("membership_directory", "invite_directory"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"select * from {table}")
            conn.rollback()


def test_user_companies_reads_only_one_users_rows_and_restores_the_tenant(http, app_engine) -> None:
    a, b = new_company(http), new_company(http)
    staff = join(http, a, "operator")
    with tenant_transaction(app_engine, uuid.UUID(b.tenant_id)) as conn:
        mine = user_companies(conn, uuid.UUID(staff.user_id))
        assert conn.execute(text("select current_setting('app.tenant_id')")).scalar() == b.tenant_id
        assert {str(c.tenant_id) for c in conn.execute(text("select tenant_id from memberships")).all()} <= {
            b.tenant_id
        }
    assert [(str(c.tenant_id), c.role) for c in mine] == [(a.tenant_id, "operator")]
