"""Frozen helpers for the revisions 0001–0011: never edit this file.

A revision must create the same schema forever, so it may not call live code that can
change (`factoryos.db.rls`, `factoryos.db.roles`). These are copies of those helpers as they
were when the revisions were written. A revision that needs different helpers imports a
new `helpers_v2.py` (copied from the live code then); this one stays as it is.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa

APP_ROLE = "factoryos_app"
TENANT_PREDICATE = "tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::uuid)"
POLICY_NAME = "tenant_isolation"
DML = "SELECT, INSERT, UPDATE, DELETE"

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
    op.execute(f"GRANT {privileges} ON {_ident(table)} TO {APP_ROLE}")
