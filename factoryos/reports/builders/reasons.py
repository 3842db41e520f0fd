"""Downtime and rejections of a period grouped by reason (category = the reason tree's root).

Downtime events count for the time they overlap the period's shift windows outside
breaks; planned stops are marked `planned` (reports list them apart from the losses). Rejections count when they
occurred inside a window, the rule the KPI loader applies; rejects a machine counted
itself carry no reason and are shown as one row, so the table adds up to the KPI figure.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, or_, select, text

from factoryos.kpi import Interval
from factoryos.kpi.intervals import intersect, merge, subtract, total
from factoryos.reports.builders.period import Period
from factoryos.reports.sections import ReasonFigures
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import loss_reasons as lr

NO_REASON = "No reason given"
MACHINE_COUNTED = "Counted by machine"

_REJECTIONS = text("""
select t.reason_id, sum(t.quantity)
from rejection_entries t
join unnest(cast(:starts as timestamptz[]), cast(:ends as timestamptz[])) as w(s, e)
  on t.occurred_at >= w.s and t.occurred_at < w.e
where t.tenant_id = :tenant and t.machine_id = any(cast(:machines as uuid[]))
group by t.reason_id
""")


class ReasonTree:
    """Each reason's name and its category (the root of its branch)."""

    def __init__(self, conn: Connection, tenant_id: UUID) -> None:
        rows = conn.execute(select(lr.c.id, lr.c.parent_id, lr.c.name).where(lr.c.tenant_id == tenant_id))
        self._nodes: dict[UUID, tuple[UUID | None, str]] = {r.id: (r.parent_id, r.name) for r in rows}

    def name(self, reason_id: UUID) -> str:
        return self._nodes[reason_id][1] if reason_id in self._nodes else NO_REASON

    def category(self, reason_id: UUID) -> str | None:
        node, seen = reason_id, set()
        while node in self._nodes and node not in seen:
            seen.add(node)
            parent = self._nodes[node][0]
            if parent is None:
                return self._nodes[node][1]
            node = parent
        return None


def covered_time(period: Period) -> list[Interval]:
    """The period's shift windows without their breaks (normal form)."""
    windows = merge(w.interval for w in period.windows)
    breaks = merge(b for w in period.windows for b in w.breaks)
    return subtract(windows, breaks)


def downtime_reasons(conn: Connection, tenant_id: UUID, period: Period, now: datetime,
                     tree: ReasonTree) -> list[ReasonFigures]:
    covered = covered_time(period)
    if not covered or not period.machines:
        return []
    start, end = covered[0].start, covered[-1].end
    rows = conn.execute(select(de.c.started_at, de.c.ended_at, de.c.planned, de.c.reason_id).where(
        de.c.tenant_id == tenant_id, de.c.machine_id.in_([m["id"] for m in period.machines]),
        de.c.started_at < end, or_(de.c.ended_at.is_(None), de.c.ended_at > start)))
    grouped: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, timedelta()])
    for started, ended, planned, reason_id in rows:
        stop = min(ended or now, now)
        if stop <= started:
            continue
        overlap = total(intersect([Interval(started, stop)], covered))
        if overlap <= timedelta():
            continue
        key = (reason_id, bool(planned))
        grouped[key][0] += 1
        grouped[key][1] += overlap
    out = []
    for (reason_id, planned), (count, duration) in grouped.items():
        if reason_id is not None:
            out.append(ReasonFigures(tree.name(reason_id), tree.category(reason_id), count, duration, planned))
        else:
            out.append(ReasonFigures(NO_REASON, "Planned stop" if planned else "Unplanned stop", count, duration,
                                     planned))
    return out


def rejection_reasons(conn: Connection, tenant_id: UUID, period: Period, reject_count: int,
                      tree: ReasonTree) -> list[ReasonFigures]:
    """Rejections booked per reason, plus the machine-counted rest of `reject_count`."""
    out: list[ReasonFigures] = []
    booked = 0
    if period.windows and period.machines:
        params = {"tenant": tenant_id, "machines": [m["id"] for m in period.machines],
                  "starts": [w.interval.start for w in period.windows],
                  "ends": [w.interval.end for w in period.windows]}
        for reason_id, quantity in conn.execute(_REJECTIONS, params):
            booked += int(quantity)
            out.append(ReasonFigures(tree.name(reason_id), tree.category(reason_id), int(quantity)))
    if reject_count > booked:
        out.append(ReasonFigures(MACHINE_COUNTED, NO_REASON, reject_count - booked))
    return out
