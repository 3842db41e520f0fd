"""KPI totals of a period from the production KPI loader, grouped the ways reports need.

Every group is a sum of the loader's per machine-and-window `KpiTotals` (additive
components only); ratios are computed last, per row, by `sections.production_figures`.
The roll-up of all parts equals what `/api/v1/kpis/oee` reports for the same period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Connection, text

from factoryos.kpi import KpiTotals, rollup
from factoryos.plant.records import MachineRecord
from factoryos.production.kpi_loader import Window, last_reported, machine_window_totals
from factoryos.reports.builders.period import Period

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class PeriodTotals:
    """The loader's totals per (machine id, window index) of one period."""

    period: Period
    parts: dict[tuple[UUID, int], KpiTotals]
    # Hand-entered machines in a running shift: counted up to this moment (see `reported_until`).
    reported: dict[UUID, datetime] = field(default_factory=dict)

    @property
    def total(self) -> KpiTotals:
        return rollup(self.parts.values())

    def by(self, key: Callable[[UUID, int], K]) -> dict[K, KpiTotals]:
        """Parts summed per `key(machine_id, window_index)`, in first-seen order."""
        out: dict[K, KpiTotals] = defaultdict(KpiTotals)
        for (machine_id, idx), part in self.parts.items():
            k = key(machine_id, idx)
            out[k] = out[k] + part
        return out

    def by_machine(self) -> dict[UUID, KpiTotals]:
        found = self.by(lambda machine_id, _: machine_id)
        return {m["id"]: found.get(m["id"], KpiTotals()) for m in self.period.machines}

    def by_window(self) -> dict[int, KpiTotals]:
        return self.by(lambda _, idx: idx)


def load_totals(conn: Connection, tenant_id: UUID, period: Period, now: datetime) -> PeriodTotals:
    # In a running shift the KPI loader counts hand-entered machines only up to their last report
    # (as /kpis/oee and the live view do); `reported` names those moments for the report's note.
    parts = machine_window_totals(conn, tenant_id, period.site, period.machines, period.windows, now)
    return PeriodTotals(period, parts, reported_until(conn, tenant_id, period, now))


def _running(window: Window, now: datetime) -> bool:
    return not window.whole_instance and window.interval.end >= now


_SIGNALLED = text("""
select distinct machine_id from machine_state_intervals
 where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and started_at < :now
   and (ended_at is null or ended_at > :start)
union
select distinct machine_id from machine_count_buckets
 where tenant_id = :tenant and machine_id = any(cast(:machines as uuid[])) and minute >= :start and minute < :now
""")


def reported_until(conn: Connection, tenant_id: UUID, period: Period, now: datetime) -> dict[UUID, datetime]:
    """For a period with a running shift: each hand-entered machine's last reported moment in
    it (its start when nothing is reported yet). Machines that send signals report all the
    time and are left out, as is every machine when no shift is running."""
    running = [w for w in period.windows if _running(w, now)]
    if not running or not period.machines:
        return {}
    start = min(w.interval.start for w in running)
    params = {"tenant": tenant_id, "machines": [m["id"] for m in period.machines], "start": start, "now": now}
    signalled = set(conn.execute(_SIGNALLED, params).scalars())
    manual = [m["id"] for m in period.machines if m["id"] not in signalled]
    last = last_reported(conn, tenant_id, manual, start, now)
    return {m: max(start, last.get(m) or start) for m in manual}


def window_label(window: Window) -> tuple[datetime, str]:
    """(local start of the shift, its name); the window itself for sites without shifts.
    A shift the period cuts (or that is still running) is marked partial."""
    if window.instance is None:
        return window.interval.start, "All day"
    name = str(window.instance["name"])
    return window.instance["starts_at"], name if window.whole_instance else f"{name} (partial)"


def machine_labels(machines: Sequence[MachineRecord]) -> dict[UUID, str]:
    """Names as people use them; the code is added where two machines share a name."""
    uses = Counter(m["name"] for m in machines)
    return {m["id"]: m["name"] if uses[m["name"]] == 1 else f"{m['name']} {m['code']}" for m in machines}
