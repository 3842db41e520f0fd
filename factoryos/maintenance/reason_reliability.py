"""MTBF and MTTR of one machine asset per failure reason, from its downtime events.

A stop is a chain of downtime events that follow each other without a gap (maintenance work
splits a stop where it starts and ends, see `booking`): it is one failure, under the reason of
its first unplanned part, and all its unplanned parts are its repair time. When that first part
is the downtime a corrective work order booked, the failure's reason is that of the downtime the
order was raised from. As OEE counts failures (factoryos/kpi/accounting.py): a failure is a stop
that began inside the period's windows (the shifts, or the whole period) and lasts at least the
site's micro-stop threshold; its time is the part inside the windows, outside their breaks;
setup reasons are never failures. Per reason: MTTR = its time / its failures, MTBF = the
asset's run time / its failures (the mean run time between two failures of that kind).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, or_, select

from factoryos.kpi.intervals import Interval, intersect, merge, subtract, total
from factoryos.maintenance.models import ReasonReliability
from factoryos.production.downtime import setup_reason_ids
from factoryos.production.kpi_loader import Window
from factoryos.schema.maintenance import maintenance_work_orders as wo
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import loss_reasons as lr

NO_REASON = "No reason given yet"
# A chain's head may have begun up to this long before the period (its earlier parts are read too).
LOOKBACK = timedelta(days=1)


@dataclass
class _Stop:
    reason_id: UUID | None = None
    reason_set: bool = False
    parts: list[Interval] = field(default_factory=list)
    start: datetime | None = None


def _chains(events: Sequence[RowMapping], setups: set[UUID], corrective: dict[UUID, UUID | None],
            now: datetime) -> list[_Stop]:
    stops: list[_Stop] = []
    current: _Stop | None = None
    last_end: datetime | None = None
    for e in events:  # one machine's events, by start
        end = min(e["ended_at"] or now, now)
        if current is None or last_end != e["started_at"]:
            current = _Stop(start=e["started_at"])
            stops.append(current)
        last_end = e["ended_at"]
        if e["planned"] or e["reason_id"] in setups:
            continue
        if not current.reason_set:
            current.reason_id = corrective.get(e["id"], e["reason_id"])
            current.reason_set = True
        if end > e["started_at"]:
            current.parts.append(Interval(e["started_at"], end))
    return [s for s in stops if s.reason_set]


def _corrective_reasons(conn: Connection, tenant_id: UUID, event_ids: list[UUID]) -> dict[UUID, UUID | None]:
    """Booked downtime of corrective orders → the reason of the downtime each was raised from."""
    src = de.alias("src")
    rows = conn.execute(
        select(wo.c.booked_downtime_id, src.c.reason_id)
        .select_from(wo.join(src, and_(src.c.tenant_id == wo.c.tenant_id, src.c.id == wo.c.downtime_id)))
        .where(wo.c.tenant_id == tenant_id, wo.c.kind == "corrective", wo.c.booked_downtime_id.in_(event_ids),
               wo.c.booked_downtime_id != wo.c.downtime_id))
    return {r.booked_downtime_id: r.reason_id for r in rows if r.reason_id is not None}


def reasons_by_machine(conn: Connection, tenant_id: UUID, machine_ids: list[UUID], windows: list[Window],
                       threshold: timedelta, run_seconds: dict[UUID, float],
                       now: datetime) -> dict[UUID, list[ReasonReliability]]:
    """Each machine's failures by reason over `windows`, most stop time first."""
    out: dict[UUID, list[ReasonReliability]] = {m: [] for m in machine_ids}
    if not windows or not machine_ids:
        return out
    start = min(w.interval.start for w in windows)
    end = max(w.interval.end for w in windows)
    events = list(conn.execute(select(de).where(
        de.c.tenant_id == tenant_id, de.c.machine_id.in_(machine_ids), de.c.started_at < end,
        de.c.started_at < now, or_(de.c.ended_at.is_(None), de.c.ended_at >= start - LOOKBACK),
    ).order_by(de.c.machine_id, de.c.started_at)).mappings())
    setups = setup_reason_ids(conn, tenant_id)
    corrective = _corrective_reasons(conn, tenant_id, [e["id"] for e in events])
    spans = [(merge([w.interval]), merge(w.breaks)) for w in windows]
    per_machine: dict[UUID, list[RowMapping]] = defaultdict(list)
    for e in events:
        per_machine[e["machine_id"]].append(e)
    names: dict[UUID, tuple[str, str]] = {r.id: (r.code, r.name) for r in conn.execute(
        select(lr.c.id, lr.c.code, lr.c.name).where(lr.c.tenant_id == tenant_id))}
    for machine_id, rows in per_machine.items():
        failures: dict[UUID | None, int] = defaultdict(int)
        seconds: dict[UUID | None, float] = defaultdict(float)
        for stop in _chains(rows, setups, corrective, now):
            assert stop.start is not None
            began_inside = any(w.interval.start <= stop.start < w.interval.end for w in windows)
            if not began_inside or total(stop.parts) < threshold:
                continue
            parts = merge(stop.parts)
            charged = sum((total(subtract(intersect(parts, window), breaks)) for window, breaks in spans),
                          timedelta())
            failures[stop.reason_id] += 1
            seconds[stop.reason_id] += charged.total_seconds()
        run = run_seconds.get(machine_id, 0.0)
        found = [ReasonReliability(
            reason_id=reason_id, code=names[reason_id][0] if reason_id in names else None,
            name=names[reason_id][1] if reason_id in names else NO_REASON, failures=n,
            stop_seconds=seconds[reason_id], mtbf_seconds=run / n, mttr_seconds=seconds[reason_id] / n,
        ) for reason_id, n in failures.items()]
        out[machine_id] = sorted(found, key=lambda r: (-r.stop_seconds, r.code or "~"))
    return out
