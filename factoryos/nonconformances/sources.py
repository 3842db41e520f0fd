"""Where an NC comes from: what an out-of-spec inspection, a rejection or counted scrap already knows.

Opening an NC from either takes one key at the terminal, so the NC is filled from its source (machine,
product, order, how many, what is wrong); what the caller sends wins. By hand, machine, quantity and
description are required.

Scrap a machine counted (the reject counter, in `machine_count_buckets`) is not a rejection entry:
`machine_scrap` groups it per machine, hour of the machine's site's clock and the order whose run held the
minutes, ready to be offered next to the booked rejections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, select, text

from factoryos.errors import NotFound, ValidationFailed
from factoryos.nonconformances.nc_models import TEXT_MAX, NcIn
from factoryos.quality.inspections import get_inspection
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import order_operations
from factoryos.schema.production import loss_reasons, rejection_entries
from factoryos.site_time import site_clock

REQUIRED_BY_HAND = ("machine_id", "quantity", "description")
HOUR = timedelta(hours=1)

# A minute belongs to the run that holds its midpoint, as the machine's counts do. The hour is the machine's
# site's: truncated in the site's zone, which keeps the instant's offset, so a site at +05:30 gets hours
# starting at :30 UTC and the hour repeated when summer time ends is two hours (CEST, then CET). The minutes
# are summed per quarter hour first (every zone's hours start on a quarter hour of UTC: offsets are whole
# quarter hours), the zones come as parameters from one lookup: joining and truncating each minute made a
# day of 40 machines 20 times slower than the UTC hours were; this way it is faster than they were.
_MACHINE_SCRAP = """
with quarters as (
  select b.machine_id, date_bin('15 minutes', b.minute, timestamptz '2000-01-01 00:00Z') as quarter, o.job_id,
    j.product_id, sum(b.reject) as parts
  from machine_count_buckets b
  left join operation_runs r on r.tenant_id = b.tenant_id and r.machine_id = b.machine_id
    and r.started_at <= b.minute + interval '30 seconds'
    and (r.ended_at is null or r.ended_at > b.minute + interval '30 seconds')
  left join order_operations o on o.tenant_id = r.tenant_id and o.id = r.operation_id
  left join jobs j on j.tenant_id = o.tenant_id and j.id = o.job_id
  where b.tenant_id = :tenant and b.minute >= :since and b.minute < :until and b.reject > 0
    and (cast(:machine as uuid) is null or b.machine_id = cast(:machine as uuid))
  group by 1, 2, 3, 4)
select q.machine_id, date_trunc('hour', q.quarter, coalesce(z.zone, 'UTC')) as hour, q.job_id, q.product_id,
  sum(q.parts) as parts
from quarters q
left join unnest(cast(:machines as uuid[]), cast(:zones as text[])) as z(machine_id, zone)
  on z.machine_id = q.machine_id
group by 1, 2, 3, 4
order by 2 desc, 1, 3 nulls first
"""

_MACHINE_ZONES = """
select m.id, s.timezone from machines m join sites s on s.tenant_id = m.tenant_id and s.id = m.site_id
where m.tenant_id = :tenant and (cast(:machine as uuid) is null or m.id = cast(:machine as uuid))
"""

# The hour of the machine's site's clock that holds an instant, and that clock's zone.
_SITE_HOUR = """
select date_trunc('hour', cast(:at as timestamptz), s.timezone), s.timezone
from machines m join sites s on s.tenant_id = m.tenant_id and s.id = m.site_id
where m.tenant_id = :tenant and m.id = :machine
"""


@dataclass(frozen=True, slots=True)
class MachineScrap:
    """Rejects a machine's counter counted in one hour of its site's clock [start, end), under one order
    (or none)."""

    machine_id: UUID
    start: datetime
    end: datetime
    quantity: int
    order_id: UUID | None
    product_id: UUID | None


def machine_scrap(conn: Connection, tenant_id: UUID, since: datetime, until: datetime,
                  machine_id: UUID | None = None) -> list[MachineScrap]:
    """Machine-counted scrap in [since, until), per hour of each machine's site, newest hour first; booked
    rejections are not in it."""
    zones = conn.execute(text(_MACHINE_ZONES), {"tenant": tenant_id, "machine": machine_id}).all()
    rows = conn.execute(text(_MACHINE_SCRAP), {"tenant": tenant_id, "since": since, "until": until,
                                               "machine": machine_id, "machines": [z[0] for z in zones],
                                               "zones": [z[1] for z in zones]})
    return [MachineScrap(machine, hour, hour + HOUR, int(parts), order, product)
            for machine, hour, order, product, parts in rows]


def _from_inspection(conn: Connection, tenant_id: UUID, inspection_id: UUID) -> dict[str, Any]:
    try:
        found = get_inspection(conn, tenant_id, inspection_id)
    except NotFound:
        raise ValidationFailed(f"no inspection {inspection_id} in this company", code="inspection_not_found",
                               field="source_id") from None
    bad = [r for r in found.results if r.out_of_spec]
    if not bad:
        raise ValidationFailed(f"the inspection of {found.machine_code} ({found.plan_name} v{found.version}) is in "
                               "specification: open the NC by hand", code="inspection_in_spec", field="source_id")
    # Parts out of spec: the most of any one characteristic (a failed pass/fail check is one part).
    parts = max(sum(1 for v in r.values if _outside(v, r.lsl, r.usl)) if r.values else 1 for r in bad)
    words = "; ".join(f"{r.name}: {r.message or 'out of specification'}" for r in bad)
    return {"machine_id": found.machine_id, "product_id": found.product_id, "order_id": found.job_id,
            "quantity": Decimal(max(parts, 1)),
            "description": f"Inspection {found.plan_name} v{found.version}: {words}"[:TEXT_MAX]}


def _outside(value: Decimal, lsl: Decimal | None, usl: Decimal | None) -> bool:
    return (lsl is not None and value < lsl) or (usl is not None and value > usl)


def _from_rejection(conn: Connection, tenant_id: UUID, rejection_id: UUID) -> dict[str, Any]:
    row = conn.execute(
        select(rejection_entries.c.machine_id, rejection_entries.c.quantity, rejection_entries.c.note,
               loss_reasons.c.name.label("reason"), jobs.c.id.label("order_id"), jobs.c.product_id)
        .select_from(rejection_entries
                     .join(loss_reasons, and_(loss_reasons.c.tenant_id == rejection_entries.c.tenant_id,
                                              loss_reasons.c.id == rejection_entries.c.reason_id))
                     .outerjoin(order_operations, and_(order_operations.c.tenant_id == rejection_entries.c.tenant_id,
                                                       order_operations.c.id == rejection_entries.c.operation_id))
                     .outerjoin(jobs, and_(jobs.c.tenant_id == order_operations.c.tenant_id,
                                           jobs.c.id == order_operations.c.job_id)))
        .where(rejection_entries.c.tenant_id == tenant_id, rejection_entries.c.id == rejection_id)).mappings().first()
    if row is None:
        raise ValidationFailed(f"no rejection {rejection_id} in this company", code="rejection_not_found",
                               field="source_id")
    note = f" ({row['note']})" if row["note"] else ""
    return {"machine_id": row["machine_id"], "product_id": row["product_id"], "order_id": row["order_id"],
            "quantity": Decimal(row["quantity"]), "description": f"Rejected: {row['reason']}{note}"[:TEXT_MAX]}


def _from_machine_count(conn: Connection, tenant_id: UUID, body: NcIn) -> tuple[dict[str, Any], datetime]:
    """The hour of scrap `body.machine_id`'s reject counter counted around `body.source_at`; with its
    order and product when one order ran through it. Returns what it knows and the hour's start."""
    if body.machine_id is None:
        raise ValidationFailed("name the machine whose counted scrap the NC comes from", code="required",
                               field="machine_id")
    if body.source_at is None:
        raise ValidationFailed("name the hour of counted scrap the NC comes from", code="required", field="source_at")
    if body.source_at.tzinfo is None:
        raise ValidationFailed("source_at needs a timezone", code="validation_failed", field="source_at")
    site_hour = conn.execute(text(_SITE_HOUR), {"at": body.source_at, "tenant": tenant_id,
                                                 "machine": body.machine_id}).first()
    start, zone = site_hour or (body.source_at, "UTC")  # no row: not this company's machine, none found below
    found = machine_scrap(conn, tenant_id, start, start + HOUR, body.machine_id)
    if not found:
        raise ValidationFailed("the machine counted no scrap in that hour", code="machine_scrap_not_found",
                               field="source_at")
    clock = ZoneInfo(zone)
    orders = {(f.order_id, f.product_id) for f in found}
    order, product = next(iter(orders)) if len(orders) == 1 else (None, None)
    quantity = sum(f.quantity for f in found)
    return {"machine_id": body.machine_id, "order_id": order, "product_id": product, "quantity": Decimal(quantity),
            "description": f"Rejects counted by the machine {site_clock(start, clock, '%Y-%m-%d %H:%M')}–"
                           f"{site_clock(start + HOUR, clock, '%H:%M')} ({zone})"}, start



def completed(conn: Connection, tenant_id: UUID, body: NcIn) -> NcIn:
    """The NC to open: `body` with what its source knows filled in; every required field present."""
    if body.source != "machine_count" and body.source_at is not None:
        raise ValidationFailed("source_at names an hour of counted scrap: only with source machine_count",
                               code="validation_failed", field="source_at")
    if body.source == "manual":
        if body.source_id is not None:
            raise ValidationFailed("an NC opened by hand has no source_id: name its source", code="validation_failed",
                                   field="source")
        known: dict[str, Any] = {}
    elif body.source == "machine_count":
        if body.source_id is not None:
            raise ValidationFailed("counted scrap has no record id: name the machine and the hour (source_at)",
                                   code="validation_failed", field="source_id")
        known, hour = _from_machine_count(conn, tenant_id, body)
        body = body.model_copy(update={"source_at": hour})
    elif body.source_id is None:
        raise ValidationFailed(f"name the {body.source} the NC comes from", code="required", field="source_id")
    elif body.source == "inspection":
        known = _from_inspection(conn, tenant_id, body.source_id)
    else:
        known = _from_rejection(conn, tenant_id, body.source_id)
    sent = body.model_dump(exclude_unset=True, exclude_none=True)
    merged = body.model_copy(update={**{k: v for k, v in known.items() if v is not None}, **sent})
    for name in REQUIRED_BY_HAND:
        if getattr(merged, name) is None:
            raise ValidationFailed(f"{name.replace('_id', '').replace('_', ' ')} is required", code="required",
                                   field=name)
    if known and merged.machine_id != known["machine_id"]:
        raise ValidationFailed(f"the {body.source} was on another machine", code="validation_failed",
                               field="machine_id")
    return merged
