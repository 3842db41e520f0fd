"""One machine over a period: its state intervals and its counts per hour of the site's clock.

Read-only, for a machine's drill-down. Counts follow the KPI rules so the hours add up to the
shift's figures: minute buckets by their minute, production entries by their start,
rejections by when they occurred.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, or_, select, text

from factoryos.plant.machines import require_machine
from factoryos.plant.sites import require_site
from factoryos.production.timeline_models import HourCounts, MachineTimeline, StateSpan, TimelineQuery
from factoryos.schema.production import machine_state_intervals as msi

HOUR = timedelta(hours=1)

_HOUR_SUMS = """
select w.idx, coalesce(sum(c.good), 0), coalesce(sum(c.reject), 0)
from unnest(cast(:starts as timestamptz[]), cast(:ends as timestamptz[])) with ordinality as w(s, e, idx)
join (
  select minute as at, good, reject from machine_count_buckets
   where tenant_id = :tenant and machine_id = :machine and minute >= :lo and minute < :hi
  union all
  select started_at, good_quantity, 0 from production_entries
   where tenant_id = :tenant and machine_id = :machine and started_at >= :lo and started_at < :hi
  union all
  select occurred_at, 0, quantity from rejection_entries
   where tenant_id = :tenant and machine_id = :machine and occurred_at >= :lo and occurred_at < :hi
) c on c.at >= w.s and c.at < w.e
group by w.idx
"""


def hour_bounds(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The site's local hours that overlap [start, end), clipped to it."""
    local = start.astimezone(zone)
    # The local hour's start, then steps of one real hour: DST moves clocks by whole hours (bar Lord Howe).
    at = local.replace(minute=0, second=0, microsecond=0).astimezone(start.tzinfo)
    out = []
    while at < end:
        out.append((max(at, start), min(at + HOUR, end)))
        at += HOUR
    return out


def machine_timeline(conn: Connection, tenant_id: UUID, query: TimelineQuery) -> MachineTimeline:
    machine = require_machine(conn, tenant_id, query.machine_id)
    site = require_site(conn, tenant_id, machine["site_id"])
    start, end = query.from_, query.to
    rows = conn.execute(select(msi.c.state, msi.c.started_at, msi.c.ended_at).where(
        msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"], msi.c.started_at < end,
        or_(msi.c.ended_at.is_(None), msi.c.ended_at > start),
    ).order_by(msi.c.started_at)).mappings()
    states = [StateSpan(state=r["state"], started_at=max(r["started_at"], start),
                        ended_at=None if r["ended_at"] is None else min(r["ended_at"], end)) for r in rows]
    bounds = hour_bounds(start, end, ZoneInfo(site["timezone"]))
    sums = {idx: (int(good), int(reject)) for idx, good, reject in conn.execute(text(_HOUR_SUMS), {
        "tenant": tenant_id, "machine": machine["id"], "lo": start, "hi": end,
        "starts": [b[0] for b in bounds], "ends": [b[1] for b in bounds]})}
    hours = [HourCounts(start=lo, end=hi, good=sums.get(i, (0, 0))[0], reject=sums.get(i, (0, 0))[1])
             for i, (lo, hi) in enumerate(bounds, start=1)]
    return MachineTimeline(machine_id=machine["id"], start=start, end=end, states=states, hours=hours)
