"""Downtime and rejections of a period grouped by reason (category = the reason tree's root).

Downtime events count for the time they overlap the period's shift windows outside
breaks; planned stops are marked `planned` (reports list them apart from the losses), and
downtime booked to a setup reason `setup`. Setup nobody booked (a machine's signalled setup, an
order run's changeover) has no event: `setup_stretches` counts it. Rejections count when they
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
from factoryos.kpi.inputs import MachineState
from factoryos.kpi.intervals import intersect, merge, subtract, total
from factoryos.production.downtime import setup_reason_ids
from factoryos.production.kpi_runs import machine_runs, setup_states
from factoryos.reports.builders.period import Period
from factoryos.reports.sections import ReasonFigures
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import loss_reasons as lr
from factoryos.schema.production import machine_state_intervals as msi

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


def _overlapping(table: Any, period: Period, tenant_id: UUID, covered: list[Interval]) -> Any:
    start, end = covered[0].start, covered[-1].end
    return (table.c.tenant_id == tenant_id, table.c.machine_id.in_([m["id"] for m in period.machines]),
            table.c.started_at < end, or_(table.c.ended_at.is_(None), table.c.ended_at > start))


def downtime_reasons(conn: Connection, tenant_id: UUID, period: Period, now: datetime,
                     tree: ReasonTree) -> list[ReasonFigures]:
    covered = covered_time(period)
    if not covered or not period.machines:
        return []
    rows = conn.execute(select(de.c.started_at, de.c.ended_at, de.c.planned, de.c.reason_id)
                        .where(*_overlapping(de, period, tenant_id, covered)))
    setup_reasons = setup_reason_ids(conn, tenant_id)
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
            out.append(ReasonFigures(tree.name(reason_id), tree.category(reason_id), count, duration, planned,
                                     setup=reason_id in setup_reasons))
        else:
            out.append(ReasonFigures(NO_REASON, "Planned stop" if planned else "Unplanned stop", count, duration,
                                     planned))
    return out


def setup_stretches(conn: Connection, tenant_id: UUID, period: Period, now: datetime) -> int:
    """How many setups nobody booked to a setup reason (signalled by the machine, or a run's
    changeover) reach into the period's shifts outside breaks: the count of the setup loss row."""
    covered = covered_time(period)
    if not covered or not period.machines:
        return 0
    spans: dict[UUID, list[Interval]] = defaultdict(list)
    booked: dict[UUID, list[Interval]] = defaultdict(list)
    for machine_id, started, ended in conn.execute(
            select(msi.c.machine_id, msi.c.started_at, msi.c.ended_at)
            .where(*_overlapping(msi, period, tenant_id, covered), msi.c.state == MachineState.SETUP.value)):
        spans[machine_id].append(_until_now(started, ended, now))
    setup_reasons = setup_reason_ids(conn, tenant_id)
    for machine_id, started, ended, reason_id in conn.execute(
            select(de.c.machine_id, de.c.started_at, de.c.ended_at, de.c.reason_id)
            .where(*_overlapping(de, period, tenant_id, covered))):
        if reason_id in setup_reasons:
            booked[machine_id].append(_until_now(started, ended, now))
    ids = [m["id"] for m in period.machines]
    for machine_id, runs in machine_runs(conn, tenant_id, ids, covered[0].start, covered[-1].end, now).items():
        spans[machine_id] += [Interval(s.start, s.end) for s in setup_states(runs)]
    return sum(1 for machine_id, found in spans.items() for stretch in merge(found)
               if intersect(subtract([stretch], merge(booked[machine_id])), covered))


def _until_now(started: datetime, ended: datetime | None, now: datetime) -> Interval:
    """A stored stretch cut at `now` (an open one runs until now; one not begun yet is empty)."""
    return Interval(started, max(started, min(ended or now, now)))


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
