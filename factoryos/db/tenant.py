"""Tenant-scoped transactions: the only way request code reaches tenant tables.

`set_config(..., true)` is transaction-local, so a pooled connection never carries one
request's tenant into the next. It takes bound parameters, unlike `SET`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import Connection, Engine, text

_SET_TENANT = text(
    "select set_config('app.tenant_id', :tenant, true), set_config('app.user_id', :user, true)"
)


def set_tenant(conn: Connection, tenant_id: UUID | None, user_id: UUID | None = None) -> None:
    conn.execute(
        _SET_TENANT,
        {"tenant": str(tenant_id) if tenant_id else "", "user": str(user_id) if user_id else ""},
    )


@contextmanager
def tenant_transaction(
    engine: Engine, tenant_id: UUID | None, user_id: UUID | None = None
) -> Iterator[Connection]:
    """One transaction with the tenant (and acting user) set before anything else runs."""
    with engine.begin() as conn:
        set_tenant(conn, tenant_id, user_id)
        yield conn
