"""What a production record is booked against: an active machine, its site and a shift instance."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Connection, bindparam, select

from factoryos.errors import ValidationFailed
from factoryos.kpi import ShiftInstance, ShiftPattern, load_zone, resolve_shift
from factoryos.plant.operators import require_operators
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.production.loss_models import ShiftRef
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shifts import kpi_instance, kpi_pattern, resolve_instance
from factoryos.schema.plant import machines, sites
from factoryos.schema.production import shift_instances

# Machine and its site in one round trip (built once: every booking that `book` makes reads it).
_SITE_PREFIX = "site__"
_MACHINE_AND_SITE = (
    select(machines, *(c.label(_SITE_PREFIX + c.name) for c in sites.c))
    .join(sites, (sites.c.tenant_id == machines.c.tenant_id) & (sites.c.id == machines.c.site_id))
    .where(machines.c.tenant_id == bindparam("tenant"), machines.c.id == bindparam("machine"),
           sites.c.tenant_id == bindparam("tenant"))
)


@dataclass(frozen=True)
class Booking:
    machine: MachineRecord
    site: SiteRecord
    instance: ShiftInstanceRecord
    shift: ShiftInstance


def machine_and_site(conn: Connection, tenant_id: UUID, machine_id: UUID, *, field: str = "machine_id",
                     ) -> tuple[MachineRecord, SiteRecord]:
    """An active machine (422 naming `field` if unknown or retired) and its site."""
    row = conn.execute(_MACHINE_AND_SITE, {"tenant": tenant_id, "machine": machine_id}).mappings().first()
    if row is None:
        raise ValidationFailed(f"machine {machine_id} not found", code="machine_not_found", field=field)
    machine = cast(MachineRecord, {k: v for k, v in row.items() if not k.startswith(_SITE_PREFIX)})
    if machine["status"] != "active":
        raise ValidationFailed(f"machine {machine['code']} is retired: no new records can be made for it",
                               code="machine_retired", field=field)
    site = cast(SiteRecord, {k[len(_SITE_PREFIX):]: v for k, v in row.items() if k.startswith(_SITE_PREFIX)})
    return machine, site


def book(conn: Connection, tenant_id: UUID, machine_id: UUID, ref: ShiftRef, at: datetime | None,
         *, require_ref: bool = False) -> Booking:
    """Resolve machine, site and shift instance; without a shift reference, the shift running at `at`."""
    machine, site = machine_and_site(conn, tenant_id, machine_id)
    if require_ref and ref.shift_instance_id is None and ref.shift_id is None and ref.shift_date is None:
        raise ValidationFailed("give shift_instance_id, or shift_id and shift_date", code="shift_required",
                               field="shift_instance_id")
    instance = resolve_instance(conn, tenant_id, site, shift_instance_id=ref.shift_instance_id,
                                shift_id=ref.shift_id, shift_date=ref.shift_date, at=at)
    return Booking(machine, site, instance, kpi_instance(instance))


def operator_for(conn: Connection, tenant_id: UUID, booking: Booking, operator_id: UUID | None,
                 user_id: UUID | None) -> UUID:
    """The operator a record names (default: the caller), who must work at the machine's site."""
    operator = operator_id or user_id
    if operator is None:
        raise ValidationFailed("give operator_id", code="operator_required", field="operator_id")
    require_operators(conn, tenant_id, booking.site["id"], [operator], "operator_id")
    return operator


# -- the booking folded into a caller's statement ---------------------------------------------
#
# The entry path reads its booking and its checks in one round trip: these CTEs find the machine
# with its site (`m`) and the stored shift instance the request names (`i`), and `booked` turns
# the row back into a Booking. Only a stored instance can be found this way: a shift's first
# record stores (freezes) its instance, which `book` does; and the running shift is taken from
# here only when no shift that is merely computed from an active pattern would win over it (the
# patterns come along as `i_patterns`). Otherwise `booked` answers None and the caller uses
# `book`, which also says what is wrong with a request that names something unknown.
_M, _S, _I = "m__", "s__", "i__"
_COLUMNS = ", ".join([f"mc.{c.name} as {_M}{c.name}" for c in machines.c]
                     + [f"st.{c.name} as {_S}{c.name}" for c in sites.c])
_INSTANCE_COLUMNS = ", ".join(f"si.{c.name} as {_I}{c.name}" for c in shift_instances.c)
# (row key, record key) of each record, for `booked` (every entry turns a row into three records).
_MACHINE_KEYS = tuple((_M + c.name, c.name) for c in machines.c)
_SITE_KEYS = tuple((_S + c.name, c.name) for c in sites.c)
_INSTANCE_KEYS = tuple((_I + c.name, c.name) for c in shift_instances.c)
_MACHINE_CTE = f"""m as materialized (
      select {_COLUMNS} from machines mc
      join sites st on st.tenant_id = mc.tenant_id and st.id = mc.site_id
      where mc.tenant_id = %(tenant)s and mc.id = %(machine)s and st.tenant_id = %(tenant)s)"""
_BY_ID = "si.tenant_id = %(tenant)s and si.id = %(shift_instance_id)s::uuid"
_BY_PATTERN = ("si.tenant_id = %(tenant)s and si.pattern_id = %(shift_id)s::uuid "
               "and si.local_date = %(shift_date)s::date")
# A shift lasts at most a day (25 hours on a DST day): the index on (tenant, site, starts_at)
# is read over two days back from `at`, however long the site's history.
_RUNNING = ("si.tenant_id = %(tenant)s and si.site_id = m.s__id and si.starts_at <= %(at)s::timestamptz "
            "and si.starts_at > %(at)s::timestamptz - interval '2 days' and si.ends_at > %(at)s::timestamptz")
# As JSON text: a site's patterns rarely change, so `_pattern_shifts` parses each text once.
_PATTERNS = """(select coalesce(json_agg(sp order by sp.start_time, sp.name), '[]')::text from shift_patterns sp
                where sp.tenant_id = %(tenant)s and sp.site_id = m.s__id and sp.active)"""


def _instance_cte(where: str, patterns: str) -> str:
    return f"""i as materialized (
      select {_INSTANCE_COLUMNS}, {patterns} as i_patterns, count(*) over (partition by si.starts_at) as i_ties
      from shift_instances si, m
      where {where}
      order by si.starts_at desc limit 1)"""


BOOKING_BY_ID = f"{_MACHINE_CTE}, {_instance_cte(_BY_ID, 'null::text')}"
BOOKING_BY_PATTERN = f"{_MACHINE_CTE}, {_instance_cte(_BY_PATTERN, 'null::text')}"
BOOKING_RUNNING = f"{_MACHINE_CTE}, {_instance_cte(_RUNNING, _PATTERNS)}"


def booking_ctes(ref: ShiftRef) -> str | None:
    """The CTEs `m` and `i` for this reference, or None for one only `book` can judge (incomplete)."""
    if ref.shift_instance_id is not None:
        return BOOKING_BY_ID
    if ref.shift_id is not None and ref.shift_date is not None:
        return BOOKING_BY_PATTERN
    if ref.shift_id is None and ref.shift_date is None:
        return BOOKING_RUNNING
    return None


def booking_params(ref: ShiftRef, at: datetime) -> dict[str, Any]:
    return {"shift_instance_id": ref.shift_instance_id, "shift_id": ref.shift_id, "shift_date": ref.shift_date,
            "at": at}


def booked(row: Mapping[str, Any], at: datetime) -> Booking | None:
    """The Booking a row of `m` and `i` holds, or None when `book` must decide (see above)."""
    machine = cast(MachineRecord, {name: row[key] for key, name in _MACHINE_KEYS})
    site = cast(SiteRecord, {name: row[key] for key, name in _SITE_KEYS})
    instance = cast(ShiftInstanceRecord, {name: row[key] for key, name in _INSTANCE_KEYS})
    if machine["status"] != "active" or instance["site_id"] != site["id"]:
        return None  # `book` says why
    if row["i_ties"] > 1:
        return None  # shifts that started together: `book` takes the one its order names
    patterns = row["i_patterns"]
    if patterns is not None and _computed_shift_wins(patterns, instance, site["timezone"], at):
        return None
    return Booking(machine, site, instance, kpi_instance(instance))


def _computed_shift_wins(patterns: str, stored: ShiftInstanceRecord, timezone: str, at: datetime) -> bool:
    """Whether a shift of an active pattern (`patterns`: their rows as JSON text), not stored, holds
    `at` and started after `stored` (or as late, later by name): `running_instance`'s choice over the
    same days, which then is not `stored`. (Its own stored instance, if frozen with another window,
    may be that shift: then `book` decides, rightly.)"""
    local = at.astimezone(load_zone(timezone)).date()
    for pattern_id, day, shift in _pattern_shifts(patterns, timezone, local):
        if (pattern_id, day) == (stored["pattern_id"], stored["local_date"]):
            continue
        if shift.start <= at < shift.end and (shift.start, shift.name) > (stored["starts_at"], stored["name"]):
            return True
    return False


@lru_cache(maxsize=256)
def _pattern_shifts(patterns: str, timezone: str, local: date) -> tuple[tuple[UUID, date, ShiftInstance], ...]:
    """The shifts the patterns run on the local day before `local` and on `local` (pattern, day, shift).

    Cached: every entry of a site asks again with the same patterns, zone and day; a changed
    pattern is other text, and a new day another key."""
    shifts = []
    for pattern in json.loads(patterns):
        shape: ShiftPattern = kpi_pattern(pattern)  # type: ignore[arg-type]  # a JSON row: pydantic parses it
        for day in (local - timedelta(days=1), local):
            if shape.runs_on(day):
                shifts.append((UUID(pattern["id"]), day, resolve_shift(shape, day, timezone)))
    return tuple(shifts)
