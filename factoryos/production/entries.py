"""Production entries: good parts an operator reports for a machine over part of a shift.

Manual entries of one machine never overlap each other (a trigger enforces it) nor a
period the machine counted itself through its signals: either would count parts twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, text
from sqlalchemy.exc import IntegrityError

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.plant.constraints import constraint_name
from factoryos.plant.operators import not_site_operators
from factoryos.plant.records import MachineRecord
from factoryos.production.booking import book
from factoryos.production.entry_models import EntryIn, EntryQuery
from factoryos.production.limits import check_quantity
from factoryos.schema.production import production_entries as pe

# Terminal clocks drift; an entry may end this far after the server's now.
CLOCK_SKEW = timedelta(minutes=5)


class ProductionEntries(TenantRepository[RowMapping]):
    table = pe
    entity = "production entry"


# What an entry is checked against, in one round trip (built once: the hot path of every terminal):
# whether the operator works at the site, where the period starts by default (the end of the
# machine's last entry in the shift, else the shift's start), the first entry it would overlap
# and the minutes the machine counted itself in it. Every probe of the machine's entries is a
# bounded step of its (tenant, machine, started_at) index, so the cost stays flat as its history
# grows: a machine's entries never overlap, so the first one overlapping the period is either the
# last to start at or before the period's start (if it reaches past it) or the first to start
# inside the period; and its last entry in the shift is the one that started last since the shift
# started (scripts/bench/overlap.py measures both against the scans they replace).
_ENTRY_FACTS = text(
    """
    with period as materialized (
      select coalesce(cast(:start as timestamptz),
                      greatest(cast(:shift_start as timestamptz),
                               (select e.ended_at from production_entries e
                                where e.tenant_id = :tenant and e.machine_id = :machine
                                  and e.started_at >= cast(:shift_start as timestamptz)
                                  and e.shift_instance_id = :instance
                                order by e.started_at desc limit 1))) as started_at
    )
    select p.started_at,
           exists(select 1 from site_operators so
                  join memberships mb on mb.tenant_id = so.tenant_id and mb.user_id = so.user_id
                  where so.tenant_id = :tenant and so.site_id = :site and so.user_id = :operator) as is_operator,
           c.id as clash_id, c.started_at as clash_start, c.ended_at as clash_end, c.good_quantity as clash_good,
           k.first_minute, k.last_minute,
           coalesce(cast(:operation as uuid), r.operation_id) as operation_id,
           (cast(:operation as uuid) is null
            or exists(select 1 from order_operations o where o.tenant_id = :tenant and o.id = cast(:operation as uuid)))
             as operation_known
    from period p
    left join lateral (
      select x.* from (
        (select e.id, e.started_at, e.ended_at, e.good_quantity from production_entries e
         where e.tenant_id = :tenant and e.machine_id = :machine and e.started_at <= p.started_at
         order by e.started_at desc limit 1)
        union all
        (select e.id, e.started_at, e.ended_at, e.good_quantity from production_entries e
         where e.tenant_id = :tenant and e.machine_id = :machine and e.started_at > p.started_at
           and e.started_at < cast(:end as timestamptz)
         order by e.started_at limit 1)) x
      where x.started_at < cast(:end as timestamptz) and x.ended_at > p.started_at
      order by x.started_at limit 1) c on true
    left join lateral (
      select min(b.minute) as first_minute, max(b.minute) as last_minute from machine_count_buckets b
      where b.tenant_id = :tenant and b.machine_id = :machine
        and b.minute > p.started_at - interval '1 minute' and b.minute < cast(:end as timestamptz)) k on true
    left join lateral (  -- the operation running on the machine when the period starts
      select r.operation_id from operation_runs r
      where r.tenant_id = :tenant and r.machine_id = :machine and r.started_at <= p.started_at
        and (r.ended_at is null or r.ended_at > p.started_at)
      order by r.started_at desc limit 1) r on true
    """
)
_INSERT_ENTRY = insert(pe).returning(pe)


def create_entry(conn: Connection, tenant_id: UUID, user_id: UUID | None, data: EntryIn, now: datetime) -> RowMapping:
    # The end instant belongs to the next shift at a handover, so look a microsecond earlier.
    at = data.started_at or (data.ended_at - timedelta(microseconds=1) if data.ended_at else now)
    b = book(conn, tenant_id, data.machine_id, data, at)
    operator = data.operator_id or user_id
    if operator is None:
        raise ValidationFailed("give operator_id", code="operator_required", field="operator_id")
    end = data.ended_at or min(now, b.shift.end)
    facts = conn.execute(_ENTRY_FACTS, {
        "tenant": tenant_id, "machine": b.machine["id"], "instance": b.instance["id"], "site": b.site["id"],
        "operator": operator, "start": data.started_at, "shift_start": b.instance["starts_at"], "end": end,
        "operation": data.operation_id,
    }).mappings().one()
    if not facts["operation_known"]:
        raise ValidationFailed(f"operation {data.operation_id} not found", code="operation_not_found",
                               field="operation_id")
    if not facts["is_operator"]:
        raise not_site_operators([operator], "operator_id")
    start = data.started_at or facts["started_at"]
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
    _check_no_overlap(b.machine, facts)
    values = {"tenant_id": tenant_id, "machine_id": b.machine["id"], "shift_instance_id": b.instance["id"],
              "operator_id": operator, "good_quantity": data.good_quantity, "rework_quantity": data.rework_quantity,
              "started_at": start, "ended_at": end, "job_ref": data.job_ref, "note": data.note, "created_by": user_id,
              "operation_id": facts["operation_id"]}
    try:
        # No savepoint: an error here fails the whole request, whose transaction then rolls back.
        return conn.execute(_INSERT_ENTRY, values).mappings().one()
    except IntegrityError as exc:
        if constraint_name(exc) == "production_entries_no_overlap":  # a concurrent entry won the race
            raise Conflict(f"machine {b.machine['code']} already has a production entry overlapping this period",
                           code="entry_overlap", field="started_at") from None
        raise


def _check_no_overlap(machine: MachineRecord, facts: RowMapping) -> None:
    if facts["clash_id"] is not None:
        raise Conflict(
            f"machine {machine['code']} already has an entry for {facts['clash_start'].isoformat()} – "
            f"{facts['clash_end'].isoformat()} ({facts['clash_good']} good) overlapping this period",
            code="entry_overlap", field="started_at", extra={"conflicting_id": str(facts["clash_id"])},
        )
    if facts["first_minute"] is not None:
        raise Conflict(
            f"machine {machine['code']} counted its own parts between {facts['first_minute'].isoformat()} and "
            f"{(facts['last_minute'] + timedelta(minutes=1)).isoformat()}: a manual entry would count them twice",
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
