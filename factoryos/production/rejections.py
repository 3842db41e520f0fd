"""Rejections: scrapped parts of a machine in a shift, with a quality reason.

They add to the reject count (total = good + rejects): report good parts as good and
scrap here, never the same part in both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping, text

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import ValidationFailed
from factoryos.production.booking import book, operator_for
from factoryos.production.limits import check_quantity
from factoryos.production.loss_models import RejectionIn, RejectionQuery
from factoryos.production.reasons import require_reason
from factoryos.schema.production import rejection_entries as rj

LAST_INSTANT = timedelta(microseconds=1)


class Rejections(TenantRepository[RowMapping]):
    table = rj
    entity = "rejection"


def create_rejection(conn: Connection, tenant_id: UUID, user_id: UUID | None, data: RejectionIn,
                     now: datetime) -> RowMapping:
    b = book(conn, tenant_id, data.machine_id, data, data.occurred_at or now)
    reason = require_reason(conn, tenant_id, data.reason_id, "rejection")
    operator = operator_for(conn, tenant_id, b, data.operator_id, user_id)
    occurred = data.occurred_at or min(max(now, b.shift.start), b.shift.end - LAST_INSTANT)
    if not b.shift.contains(occurred):
        raise ValidationFailed(
            f"occurred_at {occurred.isoformat()} is outside shift {b.shift.name} "
            f"({b.shift.start.isoformat()} – {b.shift.end.isoformat()})",
            code="rejection_outside_shift", field="occurred_at")
    check_quantity(data.quantity, b.shift.length, b.machine, "quantity")
    return Rejections(conn, tenant_id).insert(
        machine_id=b.machine["id"], shift_instance_id=b.instance["id"], operator_id=operator, quantity=data.quantity,
        reason_id=reason["id"], occurred_at=occurred, note=data.note, created_by=user_id,
        operation_id=_operation(conn, tenant_id, b.machine["id"], data.operation_id, occurred),
    )


# The operation the scrap belongs to: the one named, else the one running on the machine then.
_OPERATION = text(
    """
    select case when cast(:given as uuid) is null then
             (select r.operation_id from operation_runs r
              where r.tenant_id = :tenant and r.machine_id = :machine and r.started_at <= :at
                and (r.ended_at is null or r.ended_at > :at)
              order by r.started_at desc limit 1)
           else (select o.id from order_operations o where o.tenant_id = :tenant and o.id = cast(:given as uuid))
           end
    """
)


def _operation(conn: Connection, tenant_id: UUID, machine_id: UUID, given: UUID | None, at: datetime) -> UUID | None:
    found = conn.execute(_OPERATION, {"tenant": tenant_id, "machine": machine_id, "given": given, "at": at}).scalar()
    if given is not None and found is None:
        raise ValidationFailed(f"operation {given} not found", code="operation_not_found", field="operation_id")
    return found


def list_rejections(conn: Connection, tenant_id: UUID, query: RejectionQuery) -> Page:
    clauses = [rj.c[name] == getattr(query, name)
               for name in ("machine_id", "shift_instance_id", "reason_id") if getattr(query, name) is not None]
    return Rejections(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("note",)
    )


def delete_rejection(conn: Connection, tenant_id: UUID, rejection_id: UUID) -> RowMapping:
    repo = Rejections(conn, tenant_id)
    before = repo.require(rejection_id, for_update=True)
    repo.delete(rejection_id)
    return before
