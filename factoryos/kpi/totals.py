"""Additive KPI components: the only thing that is ever summed.

Roll-ups (line, site, day, week) add `KpiTotals` and compute ratios once, at the end, from
the sums (`factoryos.kpi.oee.compute_kpis`). Averaging ratios is wrong whenever the parts
differ in size, so no ratio is stored here. Times are exact integer microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class KpiTotals:
    """Summed time buckets (µs) and counts, in ISO 22400 terms.

    calendar_us        length of the window(s)
    break_us           scheduled breaks inside the window
    planned_stop_us    planned downtime outside breaks (and setup, where the site plans it)
    setup_us           setup/changeover counted as availability loss
    unplanned_stop_us  stops at least the micro-stop threshold long (incl. idle, offline)
    micro_stop_us      shorter stops: performance loss, still inside run time
    failure_count      stops behind `unplanned_stop_us` that began in the window
    micro_stop_count   stops behind `micro_stop_us` that began in the window
    ideal_us           Σ ideal cycle time × total count (per rated group: cycle ÷ parts per cycle)
    target_quantity    Σ targets of the parts that have one (None: no part has one)
    target_good_count  Σ good count of the parts that have a target
    no_data_us         time the machine could not be read (no stop or setup recorded over it),
                       reported as its own loss; where it is charged depends on the site:
    no_data_planned_us   the part of `no_data_us` taken out of planned busy time
    no_data_unplanned_us the part of `no_data_us` charged as availability loss
                       (the rest stays in run time, like micro-stops)
    no_data_count      no-data stretches behind `no_data_us` that began in the window
    """

    calendar_us: int = 0
    break_us: int = 0
    planned_stop_us: int = 0
    setup_us: int = 0
    unplanned_stop_us: int = 0
    micro_stop_us: int = 0
    failure_count: int = 0
    micro_stop_count: int = 0
    good_count: int = 0
    reject_count: int = 0
    rework_count: int = 0
    ideal_us: int = 0
    target_quantity: int | None = None
    target_good_count: int = 0
    no_data_us: int = 0
    no_data_planned_us: int = 0
    no_data_unplanned_us: int = 0
    no_data_count: int = 0

    @property
    def planned_busy_us(self) -> int:
        """Planned busy time (PBT): calendar − breaks − planned stops (− no data counted as planned)."""
        return self.calendar_us - self.break_us - self.planned_stop_us - self.no_data_planned_us

    @property
    def run_us(self) -> int:
        """Run time (actual production time): planned busy − unplanned stops − setup loss
        (− no data charged as unplanned)."""
        return self.planned_busy_us - self.unplanned_stop_us - self.setup_us - self.no_data_unplanned_us

    @property
    def total_count(self) -> int:
        return self.good_count + self.reject_count

    def __add__(self, other: KpiTotals) -> KpiTotals:
        if not isinstance(other, KpiTotals):
            return NotImplemented
        summed: dict[str, Any] = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            summed[f.name] = b if a is None else a if b is None else a + b
        return KpiTotals(**summed)

    def to_dict(self) -> dict[str, int | None]:
        """Stored and derived components, for JSON and report tables."""
        return asdict(self) | {
            "planned_busy_us": self.planned_busy_us,
            "run_us": self.run_us,
            "total_count": self.total_count,
        }


def rollup(parts: Iterable[KpiTotals]) -> KpiTotals:
    """The sum of `parts` (machines of a line, shifts of a day, …); empty gives zeros."""
    result = KpiTotals()
    for part in parts:
        result = result + part
    return result
