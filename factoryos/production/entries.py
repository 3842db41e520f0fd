"""Production entries: good parts an operator reports for a machine over part of a shift.

Manual entries of one machine never overlap each other (a trigger enforces it) nor a
period the machine counted itself through its signals: either would count parts twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.plant.constraints import constraint_errors
from factoryos.production.booking import book, operator_for
from factoryos.production.entry_models import EntryIn, EntryQuery
from factoryos.production.limits import check_quantity
from factoryos.schema.production import machine_count_buckets as mcb
from factoryos.schema.production import production_entries as pe

# Terminal clocks drift; an entry may end this far after the server's now.
CLOCK_SKEW = timedelta(minutes=5)


class ProductionEntries(TenantRepository):
    table = pe
    entity = "production entry"


def _default_start(conn: Connection, tenant_id: UUID, machine_id: UUID, instance: RowMapping) -> datetime:
    last_end = conn.execute(
        select(func.max(pe.c.ended_at)).where(pe.c.tenant_id == tenant_id, pe.c.machine_id == machine_id,
                                              pe.c.shift_instance_id == instance["id"])
    ).scalar()
    return max(instance["starts_at"], last_end) if last_end else instance["starts_at"]


def create_entry(conn: Connection, tenant_id: UUID, user_id: UUID | None, data: EntryIn, now: datetime) -> RowMapping:
    # The end instant belongs to the next shift at a handover, so look a microsecond earlier.
    at = data.started_at or (data.ended_at - timedelta(microseconds=1) if data.ended_at else now)
    b = book(conn, tenant_id, data.machine_id, data, at)
    operator = operator_for(conn, tenant_id, b, data.operator_id, user_id)
    start = data.started_at or _default_start(conn, tenant_id, b.machine["id"], b.instance)
    end = data.ended_at or min(now, b.shift.end)
    if start < b.shift.start:
        raise ValidationFailed(
            f"started_at {start.isoformat()} is before shift {b.shift.name} starts ({b.shift.start.isoformat()})",
            code="entry_outside_shift", field="started_at")
    if end > b.shift.end:
        raise ValidationFailed(
            f"ended_at {end.isoformat()} is after shift {b.shift.name} ends ({b.shift.end.isoformat()})",
            code="entry_outside_shift", field="ended_at")
    if end <= start:
        raise ValidationFailed(f"the period must end after it starts ({start.isoformat()})", code="invalid_period",
                               field="ended_at")
    if end > now + CLOCK_SKEW:
        raise ValidationFailed("production cannot be reported for the future", code="entry_in_future", field="ended_at")
    check_quantity(data.good_quantity, end - start, b.machine, "good_quantity")
    if data.rework_quantity > data.good_quantity:
        raise ValidationFailed("rework_quantity counts reworked good parts: it cannot exceed good_quantity",
                               code="invalid_count", field="rework_quantity")
    _check_no_overlap(conn, tenant_id, b.machine, start, end)
    overlap = Conflict(f"machine {b.machine['code']} already has a production entry overlapping this period",
                       code="entry_overlap", field="started_at")
    with constraint_errors(conn, {"production_entries_no_overlap": overlap}):
        return ProductionEntries(conn, tenant_id).insert(
            machine_id=b.machine["id"], shift_instance_id=b.instance["id"], operator_id=operator,
            good_quantity=data.good_quantity, rework_quantity=data.rework_quantity, started_at=start, ended_at=end,
            job_ref=data.job_ref, note=data.note, created_by=user_id,
        )


def _check_no_overlap(conn: Connection, tenant_id: UUID, machine: RowMapping, start: datetime, end: datetime) -> None:
    clash = conn.execute(
        select(pe).where(pe.c.tenant_id == tenant_id, pe.c.machine_id == machine["id"], pe.c.started_at < end,
                         pe.c.ended_at > start).order_by(pe.c.started_at).limit(1)
    ).mappings().first()
    if clash is not None:
        raise Conflict(
            f"machine {machine['code']} already has an entry for {clash['started_at'].isoformat()} – "
            f"{clash['ended_at'].isoformat()} ({clash['good_quantity']} good) overlapping this period",
            code="entry_overlap", field="started_at", extra={"conflicting_id": str(clash["id"])},
        )
    counted = conn.execute(
        select(func.min(mcb.c.minute), func.max(mcb.c.minute)).where(
            mcb.c.tenant_id == tenant_id, mcb.c.machine_id == machine["id"],
            mcb.c.minute > start - timedelta(minutes=1), mcb.c.minute < end)
    ).one()
    if counted[0] is not None:
        raise Conflict(
            f"machine {machine['code']} counted its own parts between {counted[0].isoformat()} and "
            f"{(counted[1] + timedelta(minutes=1)).isoformat()}: a manual entry would count them twice",
            code="entry_overlaps_machine_counts", field="started_at",
        )


def list_entries(conn: Connection, tenant_id: UUID, query: EntryQuery) -> Page:
    clauses = [pe.c[name] == getattr(query, name)
               for name in ("machine_id", "shift_instance_id", "operator_id") if getattr(query, name) is not None]
    return ProductionEntries(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("job_ref", "note")
    )


def delete_entry(conn: Connection, tenant_id: UUID, entry_id: UUID) -> RowMapping:
    repo = ProductionEntries(conn, tenant_id)
    before = repo.require(entry_id, for_update=True)
    repo.delete(entry_id)
    return before
