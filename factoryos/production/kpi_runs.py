"""Order operations run on machines, as the KPI loader needs them: changeovers and standards.

A run opens with its changeover: setup from `started_at` until `setup_ended_at`, or, when the
operator did not say, until the first minute that counted parts in the run (a machine's minute
bucket whose midpoint lies in the run, or the start of a production entry booked to the run's
operation on that machine), or until the run ended (or now). The counts of a run are measured
against its standard (`cycle_seconds` ÷ `parts_per_cycle`); a run without a standard of its
own (cycle null) runs at the machine's ideal cycle time, like counts outside any run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection, text

from factoryos.kpi import MachineState, StateInterval

_RUNS = text("""
select r.id, r.machine_id, r.operation_id, r.started_at, r.setup_ended_at, r.ended_at, r.cycle_seconds,
       r.parts_per_cycle,
       case when r.setup_ended_at is null then least(
         (select min(b.minute) from machine_count_buckets b
           where b.tenant_id = r.tenant_id and b.machine_id = r.machine_id and b.good + b.reject > 0
             and b.minute >= r.started_at - interval '30 seconds'
             and b.minute < least(coalesce(r.ended_at, :now), :now) - interval '30 seconds'),
         (select min(e.started_at) from production_entries e
           where e.tenant_id = r.tenant_id and e.machine_id = r.machine_id and e.operation_id = r.operation_id
             and e.good_quantity > 0 and e.started_at >= r.started_at
             and e.started_at < least(coalesce(r.ended_at, :now), :now)))
       end as first_count
from operation_runs r
where r.tenant_id = :tenant and r.machine_id = any(cast(:machines as uuid[]))
  and r.started_at < :end and (r.ended_at is null or r.ended_at > :start)
order by r.machine_id, r.started_at
""")


@dataclass(frozen=True)
class Run:
    id: UUID
    machine_id: UUID
    started_at: datetime
    # Where its minute buckets stop: its end, or the next run's start should two overlap; None: open.
    counts_until: datetime | None
    setup_until: datetime
    cycle_seconds: Decimal | None
    parts_per_cycle: int
    reported_at: datetime  # the latest moment the run tells about (now while it is still in setup)


def machine_runs(conn: Connection, tenant_id: UUID, machine_ids: list[UUID], start: datetime, end: datetime,
                 now: datetime) -> dict[UUID, list[Run]]:
    """Each machine's runs overlapping ``[start, end)`` that began before `now`, in order."""
    out: dict[UUID, list[Run]] = defaultdict(list)
    if not machine_ids:
        return out
    params = {"tenant": tenant_id, "machines": machine_ids, "start": start, "end": end, "now": now}
    for r in conn.execute(_RUNS, params).mappings():
        if r["started_at"] >= now:
            continue
        runs = out[r["machine_id"]]
        if runs and (runs[-1].counts_until is None or runs[-1].counts_until > r["started_at"]):
            # Never two runs at once on a machine: a minute belongs to the later one.
            runs[-1] = _replace_until(runs[-1], r["started_at"])
        stop = min(r["ended_at"] or now, now)
        setup = r["setup_ended_at"] or (max(r["first_count"], r["started_at"]) if r["first_count"] else stop)
        moments = [r["started_at"], r["setup_ended_at"] or r["started_at"], r["ended_at"] or r["started_at"]]
        in_setup = r["ended_at"] is None and r["setup_ended_at"] is None and r["first_count"] is None
        runs.append(Run(r["id"], r["machine_id"], r["started_at"], r["ended_at"], min(setup, stop),
                        r["cycle_seconds"], r["parts_per_cycle"], now if in_setup else min(max(moments), now)))
    return out


def _replace_until(run: Run, until: datetime) -> Run:
    return Run(run.id, run.machine_id, run.started_at, until, min(run.setup_until, until), run.cycle_seconds,
               run.parts_per_cycle, run.reported_at)


def setup_states(runs: list[Run]) -> list[StateInterval]:
    """The changeover each run opens with, as `setup` states."""
    return [StateInterval(r.started_at, r.setup_until, MachineState.SETUP) for r in runs
            if r.setup_until > r.started_at]
