"""One row per sso tenant table for the isolation matrix (tests/tenancy_seed.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _provider_id(conn: Connection, tenant: UUID) -> UUID:
    return conn.execute(text("select id from sso_providers where tenant_id = :t limit 1"), {"t": tenant}).scalar_one()


def _provider(conn: Connection, tenant: UUID, tag: str) -> None:
    # Disabled with its domain unique per seed: the domain directory trigger has nothing to route.
    conn.execute(
        text("insert into sso_providers (tenant_id, kind, name, enabled, email_domains, config) "
             "values (:t, 'ldap', :n, false, array[:d], '{}')"),
        {"t": tenant, "n": f"Directory {tag}", "d": f"seed-{uuid.uuid4().hex[:8]}.example.com"},
    )


def _rule(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into sso_mapping_rules (tenant_id, provider_id, position, group_name, role) "
             "values (:t, :p, 1, :g, 'operator')"),
        {"t": tenant, "p": _provider_id(conn, tenant), "g": f"operators-{tag}"},
    )


def _identity(conn: Connection, tenant: UUID, tag: str) -> None:
    user = conn.execute(text("select user_id from memberships where tenant_id = :t limit 1"), {"t": tenant}).scalar_one()
    conn.execute(
        text("insert into sso_identities (tenant_id, provider_id, subject, user_id, email) "
             "values (:t, :p, :s, :u, :e)"),
        {"t": tenant, "p": _provider_id(conn, tenant), "s": f"subject-{tag}", "u": user, "e": f"{tag}@example.com"},
    )


def _settings(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(text("insert into sso_settings (tenant_id, require_sso) values (:t, false)"), {"t": tenant})


SSO_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "sso_providers": _provider,
    "sso_mapping_rules": _rule,
    "sso_identities": _identity,
    "sso_settings": _settings,
}
