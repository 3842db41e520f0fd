"""Database rows → `factoryos.kpi` inputs: one `MachineWindow` per machine and window.

A window is a shift instance clipped to the requested range and to now (time that has not
happened yet is neither planned nor run); for each machine also to when it came into being
(registered, or its earliest record if data was entered for before) and, when its signals
begin inside the window, to its first signal (time before monitoring began was not observed). A site without any shift pattern runs around the
clock: its window is the range itself. In a window still running, a machine that sends no
signals (entered by hand) counts only up to the last moment reported for it (entries,
downtime, rejections): time nobody has reported yet is not run time, or a shift in progress
would show 100 % availability at 0 % performance. Counts are summed in SQL per window (minute buckets
by their minute, entries by their start, rejections by when they occurred), and per order
operation run (`kpi_runs`): the parts a run counted are measured against its product's standard,
its changeover is setup. State intervals and downtime are passed as recorded, the engine clips
them and resolves overlaps.
The site's row gives the KPI policy: micro-stop threshold, setup and no-data treatment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, or_, select, text

from factoryos.kpi import (
    DowntimeEvent,
    Interval,
    KpiTotals,
    MachineState,
    MachineWindow,
    RatedCount,
    StateInterval,
    cycle_time,
    machine_totals,
)
from factoryos.plant.machines import machine_cycle
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.plant.sites import site_policy
from factoryos.production.downtime import setup_reason_ids
from factoryos.production.kpi_runs import Run, machine_runs, setup_states
from factoryos.production.records import ShiftInstanceRecord
from factoryos.production.shifts import kpi_instance
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import machine_state_intervals as msi
from factoryos.schema.production import production_plans as pp

# Records this far outside a window still matter: a stop that began earlier is one stop.
CONTEXT = timedelta(days=1)

_WINDOW_SUMS = """
select t.machine_id, w.idx, {run}, {sums}
from {table} t
join unnest(cast(:starts as timestamptz[]), cast(:ends as timestamptz[])) with ordinality as w(s, e, idx)
  on t.{time} >= w.s and t.{time} < w.e
{join}
where t.tenant_id = :tenant and t.machine_id = any(cast(:machines as uuid[]))
group by t.machine_id, w.idx{group}
"""
_SUMS = {
    "machine_count_buckets": ("minute", "sum(t.good), sum(t.reject), 0"),
    "production_entries": ("started_at", "sum(t.good_quantity), 0, sum(t.rework_quantity)"),
    "rejection_entries": ("occurred_at", "0, sum(t.quantity), 0"),
}
# A minute bucket belongs to the run on its machine whose span holds the minute's midpoint (the
# runs loaded for the span, passed as arrays: they never overlap, see `kpi_runs`).
_BUCKET_RUN = """left join unnest(cast(:run_ids as uuid[]), cast(:run_machines as uuid[]),
                 cast(:run_starts as timestamptz[]), cast(:run_ends as timestamptz[])) as r(id, m, s, e)
  on r.m = t.machine_id and t.minute + interval '30 seconds' >= r.s
     and (r.e is null or t.minute + interval '30 seconds' < r.e)"""
# An entry or rejection belongs to a run of its operation on its machine: the one holding its time
# (the latest begun before it), else the first begun after it.
_ENTRY_RUN = """left join lateral (
  select x.id, x.cycle_seconds, x.parts_per_cycle from operation_runs x
  where x.tenant_id = t.tenant_id and x.operation_id = t.operation_id and x.machine_id = t.machine_id
  order by x.started_at > t.{time}, abs(extract(epoch from t.{time} - x.started_at)) limit 1) r on true"""


@dataclass(frozen=True)
class Window:
    interval: Interval
    breaks: tuple[Interval, ...] = ()
    instance_id: UUID | None = None
    whole_instance: bool = False
    # The shift instance (stored or computed) the window was cut from, for labelling reports.
    instance: ShiftInstanceRecord | None = field(default=None, compare=False)


def shift_windows(instances: Sequence[ShiftInstanceRecord], start: datetime, end: datetime,
                  now: datetime) -> list[Window]:
    """Instances clipped to ``[start, min(end, now))``; empty ones dropped."""
    stop = min(end, now)
    out = []
    for row in instances:
        inst = kpi_instance(row)  # type: ignore[arg-type]
        lo, hi = max(inst.start, start), min(inst.end, stop)
        if lo < hi:
            whole = inst.start >= start and inst.end <= stop
            out.append(Window(Interval(lo, hi), inst.breaks, row.get("id"), whole, row))
    return out


@dataclass
class _Counts:
    good: int = 0
    reject: int = 0
    rework: int = 0
    # run id → [cycle seconds, parts per cycle, parts counted]: the parts made at a standard of their own
    rated: dict[UUID, list[Any]] = field(default_factory=dict)

    def rated_counts(self) -> tuple[RatedCount, ...]:
        return tuple(RatedCount(cycle_time(c), p, n) for c, p, n in self.rated.values() if n)


def _counts(
    conn: Connection, tenant_id: UUID, machine_ids: list[UUID], windows: list[Window], runs: dict[UUID, list[Run]]
) -> dict[tuple[UUID, int], _Counts]:
    """(machine, window index) → its counts, with those made in runs at their own standard."""
    out: dict[tuple[UUID, int], _Counts] = defaultdict(_Counts)
    params: dict[str, Any] = {"tenant": tenant_id, "machines": machine_ids,
                              "starts": [w.interval.start for w in windows], "ends": [w.interval.end for w in windows]}
    spans = [r for machine_runs_ in runs.values() for r in machine_runs_]
    by_id = {r.id: r for r in spans}
    if spans:
        params |= {"run_ids": [r.id for r in spans], "run_machines": [r.machine_id for r in spans],
                   "run_starts": [r.started_at for r in spans], "run_ends": [r.counts_until for r in spans]}
    for table, (column, sums) in _SUMS.items():
        if table == "machine_count_buckets":
            # No run in the span: no bucket can be in one, the query stays as it was without orders.
            run, join, group = ("r.id, null, null", _BUCKET_RUN, ", r.id") if spans else ("null, null, null", "", "")
        else:
            run, join, group = ("r.id, r.cycle_seconds, r.parts_per_cycle", _ENTRY_RUN.format(time=column),
                                ", r.id, r.cycle_seconds, r.parts_per_cycle")
        sql = _WINDOW_SUMS.format(table=table, time=column, sums=sums, run=run, join=join, group=group)
        for machine_id, idx, run_id, cycle, per_cycle, good, reject, rework in conn.execute(text(sql), params):
            acc = out[(machine_id, idx - 1)]
            acc.good += int(good)
            acc.reject += int(reject)
            acc.rework += int(rework)
            if run_id is not None and run_id in by_id:
                cycle, per_cycle = by_id[run_id].cycle_seconds, by_id[run_id].parts_per_cycle
            if run_id is not None and cycle is not None:
                rated = acc.rated.setdefault(run_id, [cycle, per_cycle, 0])
                rated[2] += int(good) + int(reject)
    return out


def _overlapping(table: Any, machine_ids: list[UUID], tenant_id: UUID, start: datetime, end: datetime) -> Any:
    return select(table).where(
        table.c.tenant_id == tenant_id, table.c.machine_id.in_(machine_ids), table.c.started_at < end,
        or_(table.c.ended_at.is_(None), table.c.ended_at > start),
    ).order_by(table.c.started_at)


def machine_totals_by_window(
    conn: Connection,
    tenant_id: UUID,
    site: SiteRecord,
    machine_rows: Sequence[MachineRecord],
    windows: list[Window],
    now: datetime,
) -> dict[UUID, KpiTotals]:
    """Each machine's KPI totals summed over `windows` (ratios are left to the caller)."""
    totals: dict[UUID, KpiTotals] = {m["id"]: KpiTotals() for m in machine_rows}
    for (machine_id, _), part in machine_window_totals(conn, tenant_id, site, machine_rows, windows, now).items():
        totals[machine_id] = totals[machine_id] + part
    return totals


def machine_window_totals(
    conn: Connection,
    tenant_id: UUID,
    site: SiteRecord,
    machine_rows: Sequence[MachineRecord],
    windows: list[Window],
    now: datetime,
) -> dict[tuple[UUID, int], KpiTotals]:
    """KPI totals per (machine, index into `windows`): the parts reports group by shift or operator."""
    totals: dict[tuple[UUID, int], KpiTotals] = {}
    if not windows or not machine_rows:
        return totals
    machine_ids = [m["id"] for m in machine_rows]
    span_start = min(w.interval.start for w in windows) - CONTEXT
    span_end = min(max(w.interval.end for w in windows) + CONTEXT, now)
    states: dict[UUID, list[StateInterval]] = defaultdict(list)
    for r in conn.execute(_overlapping(msi, machine_ids, tenant_id, span_start, span_end)).mappings():
        if r["started_at"] < now:
            states[r["machine_id"]].append(StateInterval(r["started_at"], min(r["ended_at"] or now, now),
                                                          r["state"]))
    downtime: dict[UUID, list[DowntimeEvent]] = defaultdict(list)
    # Downtime booked to a setup reason is setup, as if the machine had signalled it: the site's
    # setup_is_planned decides planned time or setup loss, and it is never a failure. Kept apart
    # from `states`, whose first record says when monitoring began.
    setup_reasons = setup_reason_ids(conn, tenant_id)
    setups: dict[UUID, list[StateInterval]] = defaultdict(list)
    for r in conn.execute(_overlapping(de, machine_ids, tenant_id, span_start, span_end)).mappings():
        if r["started_at"] < now:
            end = min(r["ended_at"] or now, now)
            if r["reason_id"] in setup_reasons:
                setups[r["machine_id"]].append(StateInterval(r["started_at"], end, MachineState.SETUP))
            else:
                downtime[r["machine_id"]].append(DowntimeEvent(r["started_at"], end, r["planned"]))
    # Each order operation run opens with its changeover: setup, like a setup reason's downtime.
    runs = machine_runs(conn, tenant_id, machine_ids, span_start, span_end, now)
    for machine_id, machine_runs_ in runs.items():
        setups[machine_id].extend(setup_states(machine_runs_))
    counts = _counts(conn, tenant_id, machine_ids, windows, runs)
    targets = _targets(conn, tenant_id, machine_ids, windows)
    first_window = min(w.interval.start for w in windows)
    in_service = _in_service_from(conn, tenant_id, [m["id"] for m in machine_rows if m["created_at"] > first_window])
    policy = site_policy(site)
    running = [w.interval.start for w in windows if w.interval.end >= now]
    reported = last_reported(conn, tenant_id, [m for m in machine_ids if not states[m]], min(running), now) \
        if running else {}
    for machine_id, machine_runs_ in runs.items():
        # Starting, setting up and ending a run are reports too (a run still in setup: until now).
        latest = max(r.reported_at for r in machine_runs_)
        if running and not states[machine_id] and latest >= min(running):
            reported[machine_id] = max(reported.get(machine_id, latest), latest)
    for machine in machine_rows:
        cycle = machine_cycle(machine)
        first_signal = states[machine["id"]][0].start if states[machine["id"]] else None
        since = in_service.get(machine["id"])
        for idx, window in enumerate(windows):
            end = window.interval.end
            if end >= now and not states[machine["id"]]:
                end = max(window.interval.start, min(end, reported.get(machine["id"], window.interval.start)))
            near = Interval(window.interval.start - CONTEXT, window.interval.end + CONTEXT)
            count = counts.get((machine["id"], idx)) or _Counts()
            start = window.interval.start
            if since is not None and since > start:
                # Before the machine was registered, and before anything was recorded for it, it
                # was not there: that time is neither planned nor run.
                start = since
            if first_signal is not None and start < first_signal < window.interval.end:
                # Monitoring began inside this window: before its first signal the machine was not
                # observed either.
                start = first_signal
            if start >= end:
                totals[(machine["id"], idx)] = KpiTotals()
                continue
            data = MachineWindow(
                window=Interval(start, end),
                ideal_cycle_time=cycle,
                breaks=window.breaks,
                # Compared directly: building an Interval per record and window dominated month-long reports.
                states=tuple(s for s in states[machine["id"]] + setups[machine["id"]]
                             if s.start < near.end and near.start < s.end),
                downtime=tuple(d for d in downtime[machine["id"]] if d.start < near.end and near.start < d.end),
                good_count=count.good,
                reject_count=count.reject,
                rework_count=min(count.rework, count.good),
                rated_counts=count.rated_counts(),
                target_quantity=targets.get((machine["id"], window.instance_id)) if window.whole_instance else None,
            )
            totals[(machine["id"], idx)] = machine_totals(data, policy)
    return totals


_LAST_REPORTED = text("""
select x.machine_id, max(x.at) from (
  select machine_id, least(ended_at, :now) as at from production_entries
   where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and started_at < :now and ended_at > :start
  union all
  select machine_id, least(coalesce(ended_at, :now), :now) from downtime_events
   where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and started_at < :now
     and (ended_at is null or ended_at > :start)
  union all
  select machine_id, occurred_at from rejection_entries
   where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and occurred_at >= :start
     and occurred_at < :now
  union all  -- counts from the machine itself: it reports all the time, its window is not cut
  select machine_id, :now from machine_count_buckets
   where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and minute >= :start and minute < :now
) x group by x.machine_id
""")


def last_reported(conn: Connection, tenant_id: UUID, machine_ids: list[UUID], start: datetime,
                   now: datetime) -> dict[UUID, datetime]:
    """The last moment reported by hand for each machine since `start` (none: nothing yet)."""
    if not machine_ids:
        return {}
    params = {"tenant": tenant_id, "machines": machine_ids, "start": start, "now": now}
    return {row[0]: row[1] for row in conn.execute(_LAST_REPORTED, params)}


_IN_SERVICE = text(
    """
    select m.id, least(m.created_at,
      (select min(x.started_at) from machine_state_intervals x where x.tenant_id = m.tenant_id and x.machine_id = m.id),
      (select min(x.minute) from machine_count_buckets x where x.tenant_id = m.tenant_id and x.machine_id = m.id),
      (select min(x.started_at) from production_entries x where x.tenant_id = m.tenant_id and x.machine_id = m.id),
      (select min(x.occurred_at) from rejection_entries x where x.tenant_id = m.tenant_id and x.machine_id = m.id),
      (select min(x.started_at) from downtime_events x where x.tenant_id = m.tenant_id and x.machine_id = m.id),
      (select min(x.started_at) from operation_runs x where x.tenant_id = m.tenant_id and x.machine_id = m.id))
    from machines m where m.tenant_id = :tenant and m.id = any(cast(:machines as uuid[]))
    """
)


def _in_service_from(conn: Connection, tenant_id: UUID, machine_ids: list[UUID]) -> dict[UUID, datetime]:
    """When each machine came into being for the KPIs: its registration, or its earliest record
    when data was entered for the time before (a backfill). Asked only for machines registered
    after the first window began; each `min` is one step down a (tenant, machine, time) index."""
    if not machine_ids:
        return {}
    return {mid: since for mid, since in conn.execute(_IN_SERVICE, {"tenant": tenant_id, "machines": machine_ids})}


def _targets(
    conn: Connection, tenant_id: UUID, machine_ids: list[UUID], windows: list[Window]
) -> dict[tuple[UUID, UUID | None], int]:
    instance_ids = [w.instance_id for w in windows if w.whole_instance and w.instance_id is not None]
    if not instance_ids:
        return {}
    rows = conn.execute(
        select(pp.c.machine_id, pp.c.shift_instance_id, pp.c.target_quantity).where(
            and_(pp.c.tenant_id == tenant_id, pp.c.machine_id.in_(machine_ids),
                 pp.c.shift_instance_id.in_(instance_ids)))
    )
    return {(m, i): q for m, i, q in rows}
