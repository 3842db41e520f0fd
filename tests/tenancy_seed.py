"""One valid row per tenant table, for the isolation matrix.

Every table with a tenant_id column must have a seeder here: the matrix fails on a table
it cannot seed, so a new tenant table cannot slip through untested. Seeders run as the
superuser (no RLS) and may rely on tables seeded before them (dict order).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text

from tests.connectivity.tenancy_seed import CONNECTIVITY_SEEDERS
from tests.edge.tenancy_seed import EDGE_SEEDERS
from tests.integrations.tenancy_seed import INTEGRATIONS_SEEDERS
from tests.maintenance.tenancy_seed import MAINTENANCE_SEEDERS
from tests.materials.tenancy_seed import MATERIALS_SEEDERS
from tests.nonconformances.tenancy_seed import NONCONFORMANCES_SEEDERS
from tests.onboarding.tenancy_seed import ONBOARDING_SEEDERS
from tests.orders.tenancy_seed import ORDERS_SEEDERS
from tests.production.tenancy_seed import PRODUCTION_SEEDERS
from tests.quality.tenancy_seed import QUALITY_SEEDERS
from tests.reports.tenancy_seed import REPORTS_SEEDERS
from tests.sso.tenancy_seed import SSO_SEEDERS


def _anchor(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into audit_anchors (tenant_id, seq, row_hash, signed_at, key_id, signature) "
             "values (:t, 1, repeat('a', 64), now(), 'seed', 'c2VlZA==')"),
        {"t": tenant},
    )


def _company(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(text("insert into companies (tenant_id, name) values (:t, :n)"), {"t": tenant, "n": f"Company {tag}"})


def _site(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into sites (tenant_id, name, code, timezone) values (:t, :n, :c, 'Europe/Berlin')"),
        {"t": tenant, "n": f"Site {tag}", "c": f"S-{tag}"},
    )


def _idempotency_key(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into idempotency_keys (tenant_id, key, request_hash, status_code) values (:t, :k, 'h', 200)"),
        {"t": tenant, "k": f"key-{tag}-{uuid.uuid4().hex}"},
    )


def _audit(conn: Connection, tenant: UUID, tag: str) -> None:
    from factoryos.audit.writer import AuditEvent, record

    record(conn, AuditEvent(tenant_id=tenant, action="create", entity_type="site", entity_id=f"S-{tag}", after={"tag": tag}))


def _company_profile(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into company_profiles (tenant_id, industry, company_size, city, default_currency) "
             "values (:t, 'Metalworking', '11-50', 'Linz', 'EUR')"),
        {"t": tenant},
    )


def _membership(conn: Connection, tenant: UUID, tag: str) -> None:
    user = conn.execute(
        text("insert into users (email, display_name, password_hash) values (:e, :n, 'x') returning id"),
        {"e": f"seed-{tag}-{uuid.uuid4().hex[:8]}@example.com", "n": f"Seed {tag}"},
    ).scalar_one()
    conn.execute(text("insert into memberships (tenant_id, user_id, role) values (:t, :u, 'owner')"), {"t": tenant, "u": user})


def _seed_user(conn: Connection, tenant: UUID) -> UUID:
    return conn.execute(text("select user_id from memberships where tenant_id = :t limit 1"), {"t": tenant}).scalar_one()


def _invite(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into invites (tenant_id, code_hash, code_prefix, role, created_by, expires_at) "
             "values (:t, :h, 'K7MX', 'operator', :u, now() + interval '1 day')"),
        {"t": tenant, "h": uuid.uuid4().hex * 2, "u": _seed_user(conn, tenant)},
    )


def _auth_session(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into auth_sessions (tenant_id, user_id, expires_at) values (:t, :u, now() + interval '1 day')"),
        {"t": tenant, "u": _seed_user(conn, tenant)},
    )


def _refresh_token(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into refresh_tokens (tenant_id, session_id, token_hash) "
             "select tenant_id, id, :h from auth_sessions where tenant_id = :t limit 1"),
        {"t": tenant, "h": uuid.uuid4().hex * 2},
    )


SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "companies": _company,
    "sites": _site,
    "idempotency_keys": _idempotency_key,
    "audit_log": _audit,  # also advances audit_chain_heads
    "audit_chain_heads": _audit,
    "audit_anchors": _anchor,
    "company_profiles": _company_profile,
    "memberships": _membership,
    "invites": _invite,
    "auth_sessions": _auth_session,
    "refresh_tokens": _refresh_token,
}
SEEDERS.update(PRODUCTION_SEEDERS)
SEEDERS.update(CONNECTIVITY_SEEDERS)
SEEDERS.update(ONBOARDING_SEEDERS)
SEEDERS.update(ORDERS_SEEDERS)
SEEDERS.update(REPORTS_SEEDERS)
SEEDERS.update(NONCONFORMANCES_SEEDERS)
SEEDERS.update(QUALITY_SEEDERS)
SEEDERS.update(MAINTENANCE_SEEDERS)
SEEDERS.update(MATERIALS_SEEDERS)
SEEDERS.update(SSO_SEEDERS)
SEEDERS.update(INTEGRATIONS_SEEDERS)
SEEDERS.update(EDGE_SEEDERS)


def seed_tenant(conn: Connection, tenant: UUID, tag: str) -> None:
    for seeder in SEEDERS.values():
        seeder(conn, tenant, tag)
