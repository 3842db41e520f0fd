"""KPI totals of a period from the production KPI loader, grouped the ways reports need.

Every group is a sum of the loader's per machine-and-window `KpiTotals` (additive
components only); ratios are computed last, per row, by `sections.production_figures`.
The roll-up of all parts equals what `/api/v1/kpis/oee` reports for the same period.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from sqlalchemy import Connection, RowMapping

from factoryos.kpi import KpiTotals, rollup
from factoryos.production.kpi_loader import Window, machine_window_totals
from factoryos.reports.builders.period import Period

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class PeriodTotals:
    """The loader's totals per (machine id, window index) of one period."""

    period: Period
    parts: dict[tuple[UUID, int], KpiTotals]

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
    parts = machine_window_totals(conn, tenant_id, period.site, period.machines, period.windows, now)
    return PeriodTotals(period, parts)


def window_label(window: Window) -> tuple[datetime, str]:
    """(local start of the shift, its name); the window itself for sites without shifts."""
    if window.instance is None:
        return window.interval.start, "All day"
    return window.instance["starts_at"], str(window.instance["name"])


def machine_labels(machines: list[RowMapping]) -> dict[UUID, str]:
    """Names as people use them; the code is added where two machines share a name."""
    uses = Counter(m["name"] for m in machines)
    return {m["id"]: m["name"] if uses[m["name"]] == 1 else f"{m['name']} {m['code']}" for m in machines}
