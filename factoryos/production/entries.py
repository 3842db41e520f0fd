"""Production entries: good parts an operator reports for a machine over part of a shift.

Manual entries of one machine never overlap each other (a trigger enforces it) nor a
period the machine counted itself through its signals: either would count parts twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Connection, RowMapping

from factoryos.db.driver import compact, fetch_one
from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, FactoryOSError, ValidationFailed
from factoryos.plant.operators import not_site_operators
from factoryos.plant.records import MachineRecord
from factoryos.production.booking import (
    BOOKING_BY_ID,
    BOOKING_BY_PATTERN,
    BOOKING_RUNNING,
    Booking,
    book,
    booked,
    booking_ctes,
    booking_params,
)
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
# `b` is the booking (machine, site, shift instance, its start, the period's end): read in the
# same statement by the usual request (`_BOOKED_FACTS`), given by `book` otherwise (`_ENTRY_FACTS`).
_FACTS = """
    period as materialized (
      select coalesce(%(start)s::timestamptz,
                      greatest(b.shift_start,
                               (select e.ended_at from production_entries e
                                where e.tenant_id = %(tenant)s and e.machine_id = b.machine_id
                                  and e.started_at >= b.shift_start
                                  and e.shift_instance_id = b.instance_id
                                order by e.started_at desc limit 1))) as started_at
      from b
    )
    select {extra} p.started_at,
           exists(select 1 from site_operators so
                  join memberships mb on mb.tenant_id = so.tenant_id and mb.user_id = so.user_id
                  where so.tenant_id = %(tenant)s and so.site_id = b.site_id and so.user_id = %(operator)s) as is_operator,
           c.id as clash_id, c.started_at as clash_start, c.ended_at as clash_end, c.good_quantity as clash_good,
           k.first_minute, k.last_minute,
           coalesce(%(operation)s::uuid, r.operation_id) as operation_id,
           (%(operation)s::uuid is null
            or exists(select 1 from order_operations o where o.tenant_id = %(tenant)s and o.id = %(operation)s::uuid))
             as operation_known
    from b cross join period p {joins}
    left join lateral (
      select x.* from (
        (select e.id, e.started_at, e.ended_at, e.good_quantity from production_entries e
         where e.tenant_id = %(tenant)s and e.machine_id = b.machine_id and e.started_at <= p.started_at
         order by e.started_at desc limit 1)
        union all
        (select e.id, e.started_at, e.ended_at, e.good_quantity from production_entries e
         where e.tenant_id = %(tenant)s and e.machine_id = b.machine_id and e.started_at > p.started_at
           and e.started_at < b.end_at
         order by e.started_at limit 1)) x
      where x.started_at < b.end_at and x.ended_at > p.started_at
      order by x.started_at limit 1) c on true
    left join lateral (
      select min(k.minute) as first_minute, max(k.minute) as last_minute from machine_count_buckets k
      where k.tenant_id = %(tenant)s and k.machine_id = b.machine_id
        and k.minute > p.started_at - interval '1 minute' and k.minute < b.end_at) k on true
    left join lateral (
      select r.operation_id from operation_runs r
      where r.tenant_id = %(tenant)s and r.machine_id = b.machine_id and r.started_at <= p.started_at
        and (r.ended_at is null or r.ended_at > p.started_at)
      order by r.started_at desc limit 1) r on true
"""
_ENTRY_FACTS = compact("""
    with b as (
      select %(machine)s::uuid as machine_id, %(site)s::uuid as site_id,
             %(instance)s::uuid as instance_id, %(shift_start)s::timestamptz as shift_start,
             %(end)s::timestamptz as end_at
    ), """ + _FACTS.format(extra="", joins=""))
# No row when the machine or the stored shift instance is not found (then `book` says why).
_BOOKED = """
    , b as (
      select m.m__id as machine_id, m.s__id as site_id, i.i__id as instance_id, i.i__starts_at as shift_start,
             coalesce(%(ended_at)s::timestamptz, least(%(now)s::timestamptz, i.i__ends_at)) as end_at
      from m, i
    ), """ + _FACTS.format(extra="m.*, i.*,", joins="cross join m cross join i")
_BOOKED_FACTS = {ctes: compact("with " + ctes + _BOOKED) for ctes in (BOOKING_BY_ID, BOOKING_BY_PATTERN, BOOKING_RUNNING)}
# The row as `new_entry` gives it, written with the request's commit (see server.api's
# `Context.write_at_commit`): the checks above ran in this transaction, and the overlap trigger
# still has the last word.
_INSERT_COLUMNS = ("id", "tenant_id", "machine_id", "shift_instance_id", "operator_id", "good_quantity",
                   "rework_quantity", "started_at", "ended_at", "job_ref", "note", "created_by", "created_at",
                   "operation_id")
INSERT_ENTRY = compact(f"insert into production_entries ({', '.join(_INSERT_COLUMNS)}) "
                       f"values ({', '.join(f'%({c})s' for c in _INSERT_COLUMNS)})")


@dataclass(frozen=True)
class NewEntry:
    """A checked entry: its row as it will be stored (id and creation time included) and how to
    answer when a concurrent entry of the machine wins the race at the insert."""

    values: dict[str, Any]
    machine_code: str

    def refusal(self, exc: Exception) -> FactoryOSError | None:
        """The domain's answer to the insert's database error, if it is the overlap trigger's."""
        if getattr(getattr(exc, "diag", None), "constraint_name", None) == "production_entries_no_overlap":
            return Conflict(f"machine {self.machine_code} already has a production entry overlapping this period",
                            code="entry_overlap", field="started_at")
        return None


def new_entry(conn: Connection, tenant_id: UUID, user_id: UUID | None, data: EntryIn, now: datetime) -> NewEntry:
    """Check an entry (booking, period, operator, quantity, overlaps) without writing it: INSERT_ENTRY
    with its values writes it."""
    # The end instant belongs to the next shift at a handover, so look a microsecond earlier.
    at = data.started_at or (data.ended_at - timedelta(microseconds=1) if data.ended_at else now)
    operator = data.operator_id or user_id
    if operator is None:
        book(conn, tenant_id, data.machine_id, data, at)  # an unknown machine or shift is said first
        raise ValidationFailed("give operator_id", code="operator_required", field="operator_id")
    found = _booked_facts(conn, tenant_id, data, at, now, operator)
    if found is not None:
        b, facts = found
    else:
        b = book(conn, tenant_id, data.machine_id, data, at)
        found_facts = fetch_one(conn, _ENTRY_FACTS, {
            "tenant": tenant_id, "machine": b.machine["id"], "instance": b.instance["id"], "site": b.site["id"],
            "operator": operator, "start": data.started_at, "shift_start": b.instance["starts_at"],
            "end": data.ended_at or min(now, b.shift.end), "operation": data.operation_id,
        })
        assert found_facts is not None  # one row by construction
        facts = found_facts
    end = data.ended_at or min(now, b.shift.end)
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
    # Instants in UTC, as the database hands them back.
    values = {"id": uuid4(), "tenant_id": tenant_id, "machine_id": b.machine["id"],
              "shift_instance_id": b.instance["id"], "operator_id": operator, "good_quantity": data.good_quantity,
              "rework_quantity": data.rework_quantity, "started_at": start.astimezone(UTC),
              "ended_at": end.astimezone(UTC), "job_ref": data.job_ref, "note": data.note, "created_by": user_id,
              "created_at": now.astimezone(UTC), "operation_id": facts["operation_id"]}
    return NewEntry(values, b.machine["code"])


def _booked_facts(conn: Connection, tenant_id: UUID, data: EntryIn, at: datetime, now: datetime,
                  operator: UUID) -> tuple[Booking, dict[str, Any]] | None:
    """Booking and checks in one round trip, when the stored instance settles the booking (else None)."""
    ctes = booking_ctes(data)
    if ctes is None:
        return None
    row = fetch_one(conn, _BOOKED_FACTS[ctes], {
        **booking_params(data, at), "tenant": tenant_id, "machine": data.machine_id, "operator": operator,
        "start": data.started_at, "ended_at": data.ended_at, "now": now, "operation": data.operation_id,
    })
    if row is None:
        return None
    b = booked(row, at)
    return (b, row) if b is not None else None


def _check_no_overlap(machine: MachineRecord, facts: Mapping[str, Any]) -> None:
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
