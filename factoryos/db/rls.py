"""Row-level security helpers used by migrations.

Every tenant table gets ENABLE + FORCE RLS and one policy with USING and WITH CHECK on
the transaction-local `app.tenant_id` setting: no tenant set ⇒ no rows. Adding a tenant
table in a migration is one call to `create_tenant_table` (or `enable_tenant_rls` for a
table created another way), so none is forgotten; tests enumerate the catalog to prove it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa

from factoryos.db.roles import APP_ROLE

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"
TENANT_PREDICATE = "tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)"
POLICY_NAME = "tenant_isolation"
DML = "SELECT, INSERT, UPDATE, DELETE"

# Tables without tenant_id. Anything else in the schema must be a tenant table.
GLOBAL_TABLES: set[str] = {
    "alembic_version",
    # identity: accounts span companies; the directories are readable only by their owner
    "users",
    "login_throttle",
    "membership_directory",
    "invite_directory",
    "catalog_entries",  # machine models and materials shared by all companies; author-only writes
    "connection_directory",  # connectivity: which companies have connected machines; owner-only
    "webhook_directory",  # integrations: which companies have webhook endpoints; owner-only
    "mqtt_publish_directory",  # integrations: which companies publish to an MQTT broker; owner-only
    "sso_domain_directory",  # sso: which company routes an email domain; owner-only
}

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def enable_tenant_rls(op: Any, table: str, *, grants: str = DML) -> None:
    t = _ident(table)
    op.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {POLICY_NAME} ON {t} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )
    if grants:
        op.execute(f"GRANT {grants} ON {t} TO {APP_ROLE}")


def tenant_column(*, primary_key: bool = False) -> sa.Column[uuid.UUID]:
    return sa.Column(
        "tenant_id",
        sa.Uuid,
        sa.ForeignKey("companies.tenant_id", ondelete="RESTRICT"),
        nullable=False,
        primary_key=primary_key,
    )


def create_tenant_table(op: Any, name: str, *columns: Any, grants: str = DML, **kw: Any) -> None:
    """op.create_table with a leading tenant_id column, its index and RLS."""
    op.create_table(_ident(name), tenant_column(), *columns, **kw)
    op.create_index(f"ix_{name}_tenant", name, ["tenant_id"])
    enable_tenant_rls(op, name, grants=grants)


def grant_global(op: Any, table: str, privileges: str = "SELECT") -> None:
    """Global (non-tenant) tables: list them in GLOBAL_TABLES and grant explicitly."""
    op.execute(f"GRANT {privileges} ON {_ident(table)} TO {APP_ROLE}")
