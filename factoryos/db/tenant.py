"""Tenant-scoped transactions: the only way request code reaches tenant tables.

`set_config(..., true)` is transaction-local, so a pooled connection never carries one
request's tenant into the next. It takes bound parameters, unlike `SET`.

A membership limited to some sites adds `app.site_ids` (see migration 0021): '' means every
site. The request's scope is set where the live membership is read (identity.access); setting
the tenant leaves it alone, so switching company for one audit row never widens a request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, text

from factoryos.db.driver import run_batch

SITE_SETTING = "app.site_ids"

_SET_TENANT = text(
    "select set_config('app.tenant_id', :tenant, true), set_config('app.user_id', :user, true)"
)
_SET_SITES = text("select set_config('app.site_ids', :sites, true)")
# psycopg parameters (run_batch): the company of the next statement of a batch.
_COMPANY = "select set_config('app.tenant_id', %(s)s, true)"
_GET_SITES = text("select nullif(current_setting('app.site_ids', true), '')::uuid[]")


def set_tenant(conn: Connection, tenant_id: UUID | None, user_id: UUID | None = None) -> None:
    conn.execute(
        _SET_TENANT,
        {"tenant": str(tenant_id) if tenant_id else "", "user": str(user_id) if user_id else ""},
    )


def site_scope_literal(site_ids: Sequence[UUID] | None) -> str:
    """The setting's value: '' for every site, else a PostgreSQL array literal of the ids."""
    if site_ids is None:
        return ""
    return "{" + ",".join(str(UUID(str(s))) for s in site_ids) + "}"


def set_site_scope(conn: Connection, site_ids: Sequence[UUID] | None) -> None:
    """Limit this transaction to these sites (None: every site). An empty list sees no site."""
    conn.execute(_SET_SITES, {"sites": site_scope_literal(site_ids)})


def current_site_scope(conn: Connection) -> tuple[UUID, ...] | None:
    """The sites this transaction is limited to, or None for every site."""
    value = conn.execute(_GET_SITES).scalar()
    return tuple(UUID(str(s)) for s in value) if value is not None else None


@contextmanager
def tenant_transaction(
    engine: Engine, tenant_id: UUID | None, user_id: UUID | None = None,
    site_ids: Sequence[UUID] | None = None,
) -> Iterator[Connection]:
    """One transaction with the tenant (and acting user, and site scope) set before anything else runs."""
    with engine.begin() as conn:
        set_tenant(conn, tenant_id, user_id)
        if site_ids is not None:
            set_site_scope(conn, site_ids)
        yield conn


def ask_each_company(conn: Connection, tenant_ids: Sequence[UUID], statement: str,
                     params: Callable[[UUID], Mapping[str, Any]]) -> list[list[dict[str, Any]]]:
    """`statement` (psycopg parameters) asked of every company in one round trip, the tenant set before
    each (RLS as for a request), and cleared after: each company's rows, in `tenant_ids` order. A duty's
    pass over many companies with nothing to do costs one round trip, not one each."""
    batch: list[tuple[str, Mapping[str, Any] | None]] = []
    for tenant_id in tenant_ids:
        batch += [(_COMPANY, {"s": str(tenant_id)}), (statement, params(tenant_id))]
    batch.append((_COMPANY, {"s": ""}))
    return run_batch(conn, batch)[1:-1:2]
