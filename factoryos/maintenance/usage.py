"""An asset's usage from production's own records: run hours from `running` state intervals,
cycles from the minute count buckets (good + reject), on the machines it was on.

A machine's asset counts on its machine always; a fixed sub-asset (spindle, robot) on its
parent's machine; a movable one (mould, tool) only on the machine and spans it was mounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection, RowMapping, select, text

from factoryos.schema.maintenance import maintenance_assets as ma
from factoryos.schema.maintenance import maintenance_mountings as mm

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Span:
    machine_id: UUID
    start: datetime
    end: datetime | None  # None: still there


def machine_of(conn: Connection, tenant_id: UUID, asset: RowMapping) -> UUID | None:
    """The machine an asset counts on now (None: a movable asset not mounted anywhere)."""
    spans = asset_spans(conn, tenant_id, asset)
    open_ = [s for s in spans if s.end is None]
    return open_[-1].machine_id if open_ else None


def asset_spans(conn: Connection, tenant_id: UUID, asset: RowMapping) -> list[Span]:
    seen: set[UUID] = set()
    while asset["machine_id"] is None and asset["parent_id"] is not None and asset["id"] not in seen:
        seen.add(asset["id"])
        asset = conn.execute(select(ma).where(ma.c.tenant_id == tenant_id, ma.c.id == asset["parent_id"])
                             ).mappings().one()
    if asset["machine_id"] is not None:
        return [Span(asset["machine_id"], EPOCH, None)]
    rows = conn.execute(select(mm).where(mm.c.tenant_id == tenant_id, mm.c.asset_id == asset["id"])
                        .order_by(mm.c.mounted_at)).mappings()
    return [Span(r["machine_id"], r["mounted_at"], r["unmounted_at"]) for r in rows]


_RUN = text("""
select coalesce(sum(extract(epoch from least(coalesce(i.ended_at, :now), s.e) - greatest(i.started_at, s.s))), 0)
from unnest(cast(:machines as uuid[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[])) as s(m, s, e)
join machine_state_intervals i
  on i.tenant_id = :tenant and i.machine_id = s.m and i.state = 'running'
 and i.started_at < s.e and coalesce(i.ended_at, :now) > s.s
""")
_CYCLES = text("""
select coalesce(sum(b.good + b.reject), 0)
from unnest(cast(:machines as uuid[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[])) as s(m, s, e)
join machine_count_buckets b on b.tenant_id = :tenant and b.machine_id = s.m and b.minute >= s.s and b.minute < s.e
""")


def _params(tenant_id: UUID, spans: list[Span], since: datetime, now: datetime) -> dict | None:
    clipped = [(s.machine_id, max(s.start, since), min(s.end or now, now)) for s in spans]
    clipped = [c for c in clipped if c[1] < c[2]]
    if not clipped:
        return None
    return {"tenant": tenant_id, "now": now, "machines": [c[0] for c in clipped],
            "starts": [c[1] for c in clipped], "ends": [c[2] for c in clipped]}


def run_seconds(conn: Connection, tenant_id: UUID, spans: list[Span], since: datetime, now: datetime) -> float:
    params = _params(tenant_id, spans, since, now)
    return float(conn.execute(_RUN, params).scalar_one()) if params else 0.0


def cycles(conn: Connection, tenant_id: UUID, spans: list[Span], since: datetime, now: datetime) -> int:
    params = _params(tenant_id, spans, since, now)
    return int(conn.execute(_CYCLES, params).scalar_one()) if params else 0


@dataclass(frozen=True)
class Totals:
    run_hours: float
    cycles: int


def totals(conn: Connection, tenant_id: UUID, asset: RowMapping, now: datetime,
           spans: list[Span] | None = None) -> Totals:
    """The asset's counters now: its offsets plus everything recorded."""
    spans = asset_spans(conn, tenant_id, asset) if spans is None else spans
    hours = float(Decimal(asset["run_hours_offset"])) + run_seconds(conn, tenant_id, spans, EPOCH, now) / 3600
    return Totals(hours, int(asset["cycles_offset"]) + cycles(conn, tenant_id, spans, EPOCH, now))
