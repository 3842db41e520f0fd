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


def _scim_token(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into scim_tokens (tenant_id, provider_id, token_hash, token_hint) values (:t, :p, :h, 'scim_seed')"),
        {"t": tenant, "p": _provider_id(conn, tenant), "h": uuid.uuid4().hex * 2},
    )


def _scim_user(conn: Connection, tenant: UUID, tag: str) -> None:
    user = conn.execute(text("select user_id from memberships where tenant_id = :t limit 1"), {"t": tenant}).scalar_one()
    conn.execute(text("insert into scim_users (tenant_id, user_id, user_name) values (:t, :u, :n)"),
                 {"t": tenant, "u": user, "n": f"scim-{tag}@example.com"})


def _scim_group(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(text("insert into scim_groups (tenant_id, display_name) values (:t, :n)"),
                 {"t": tenant, "n": f"Operators {tag}"})


def _scim_member(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into scim_group_members (tenant_id, group_id, scim_user_id) "
             "select :t, g.id, u.id from scim_groups g, scim_users u where g.tenant_id = :t and u.tenant_id = :t "
             "limit 1"),
        {"t": tenant},
    )


def _saml_assertion(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into saml_assertions_used (tenant_id, provider_id, assertion_id, expires_at) "
             "values (:t, :p, :a, now() + interval '5 minutes')"),
        {"t": tenant, "p": _provider_id(conn, tenant), "a": f"assertion-{tag}"},
    )


def _saml_handoff(conn: Connection, tenant: UUID, tag: str) -> None:
    conn.execute(
        text("insert into sso_handoffs (tenant_id, provider_id, purpose, channel, user_code, expires_at) "
             "values (:t, :p, 'sign_in', 'device', :c, now() + interval '5 minutes')"),
        {"t": tenant, "p": _provider_id(conn, tenant), "c": uuid.uuid4().hex[:9].upper()},
    )


SSO_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "sso_providers": _provider,
    "sso_mapping_rules": _rule,
    "sso_identities": _identity,
    "sso_settings": _settings,
    "saml_assertions_used": _saml_assertion,
    "sso_handoffs": _saml_handoff,
    "scim_tokens": _scim_token,
    "scim_users": _scim_user,
    "scim_groups": _scim_group,
    "scim_group_members": _scim_member,
}
