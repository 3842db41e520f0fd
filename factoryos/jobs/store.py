"""Reading jobs: one by id, or pages in due-date order (keyset on due date, number, id)."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, insert, or_, select, tuple_

from factoryos.db.repository import MAX_LIMIT, TenantRepository
from factoryos.errors import ValidationFailed
from factoryos.jobs.models import JobOut, JobPage, JobQuery
from factoryos.listing import like_pattern
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import order_operations
from factoryos.schema.plant import machines, sites


class Jobs(TenantRepository[RowMapping]):
    table = jobs
    entity = "job"


def _codes(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> tuple[dict[UUID, str], dict[UUID, str]]:
    site_ids = {r["site_id"] for r in rows if r["site_id"]}
    machine_ids = {r["machine_id"] for r in rows if r["machine_id"]}
    site_codes: dict[UUID, str] = {}
    machine_codes: dict[UUID, str] = {}
    if site_ids:
        stmt = select(sites.c.id, sites.c.code).where(sites.c.tenant_id == tenant_id, sites.c.id.in_(site_ids))
        site_codes = {r.id: r.code for r in conn.execute(stmt)}
    if machine_ids:
        stmt = select(machines.c.id, machines.c.code).where(
            machines.c.tenant_id == tenant_id, machines.c.id.in_(machine_ids))
        machine_codes = {r.id: r.code for r in conn.execute(stmt)}
    return site_codes, machine_codes


def jobs_out(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> list[JobOut]:
    site_codes, machine_codes = _codes(conn, tenant_id, rows)
    fields = ("id", "job_number", "product", "product_id", "quantity", "due_date", "customer", "site_id", "machine_id",
              "status",
              "notes", "import_id", "created_at", "created_by")
    return [JobOut(**{k: r[k] for k in fields}, site_code=site_codes.get(r["site_id"]),
                   machine_code=machine_codes.get(r["machine_id"])) for r in rows]


def get_job(conn: Connection, tenant_id: UUID, job_id: UUID) -> JobOut:
    return jobs_out(conn, tenant_id, [Jobs(conn, tenant_id).require(job_id)])[0]


def due_cursor(row: RowMapping) -> str:
    raw = json.dumps([row["due_date"].isoformat(), row["job_number"], str(row["id"])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_due_cursor(cursor: str) -> tuple[date, str, UUID]:
    try:
        due, number, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return date.fromisoformat(due), str(number), UUID(row_id)
    except (ValueError, TypeError):
        raise ValidationFailed("invalid pagination cursor", code="invalid_cursor", field="cursor") from None


def text_match(pattern: str) -> Any:
    """Job number, product text or customer matches `pattern` (from `factoryos.listing.like_pattern`)."""
    return or_(*(jobs.c[c].ilike(pattern, escape="\\") for c in ("job_number", "product", "customer")))


def due_page(conn: Connection, where: list[Any], cursor: str | None, limit: int) -> tuple[list[RowMapping], str | None]:
    """One page of the jobs matching `where`, due first (keyset on due date, number, id), and the
    cursor of the next page (None on the last)."""
    if cursor:
        where = [*where, tuple_(jobs.c.due_date, jobs.c.job_number, jobs.c.id) > tuple_(*parse_due_cursor(cursor))]
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = select(jobs).where(and_(*where)).order_by(jobs.c.due_date, jobs.c.job_number, jobs.c.id).limit(limit + 1)
    rows = list(conn.execute(stmt).mappings())
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], due_cursor(rows[limit - 1])


def list_jobs(conn: Connection, tenant_id: UUID, query: JobQuery) -> JobPage:
    """Jobs due first come first; `q` searches number, product and customer."""
    where: list[Any] = [jobs.c.tenant_id == tenant_id]
    for name in ("status", "site_id", "machine_id"):
        if getattr(query, name) is not None:
            where.append(jobs.c[name] == getattr(query, name))
    if query.q:
        where.append(text_match(like_pattern(query.q)))
    rows, cursor = due_page(conn, where, query.cursor, query.limit)
    return JobPage(items=jobs_out(conn, tenant_id, rows), next_cursor=cursor)


def insert_jobs(conn: Connection, tenant_id: UUID, values: list[dict[str, Any]], **common: Any) -> list[UUID]:
    """One multi-row insert (COPY is not allowed on RLS tables); the new ids in the order given."""
    if not values:
        return []
    rows = [{**v, **common, "tenant_id": tenant_id} for v in values]
    result = conn.execute(insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def insert_operations(conn: Connection, tenant_id: UUID, operations: list[dict[str, Any]]) -> None:
    """One batch of order operations, each as the routing gives it plus its job_id and status."""
    keys = ("job_id", "status", "seq", "name", "routing_operation_id", "quantity", "setup_seconds", "allowed",
            "machine_id")
    if operations:
        conn.execute(insert(order_operations), [{"tenant_id": tenant_id, **{k: op[k] for k in keys}}
                                                for op in operations])
