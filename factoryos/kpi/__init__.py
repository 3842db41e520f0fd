"""Pure shift resolution and OEE/KPI engine: no database, no I/O, deterministic.

Typical use for one machine and one shift::

    pattern = ShiftPattern("Early", time(6), time(14), breaks=((time(10), time(10, 30)),))
    shift = resolve_shift(pattern, date(2026, 3, 29), "Europe/Berlin")
    data = MachineWindow.for_shift(shift, ideal_cycle_time=cycle_time(30), states=..., good_count=...)
    totals = machine_totals(data, KpiPolicy())       # additive: sum these for roll-ups
    kpis = compute_kpis(rollup([totals, ...]))      # ratios only at the end
"""

from factoryos.kpi.accounting import machine_totals
from factoryos.kpi.inputs import (
    DEFAULT_MICRO_STOP_THRESHOLD,
    DowntimeEvent,
    KpiPolicy,
    MachineState,
    MachineWindow,
    NoDataPolicy,
    RatedCount,
    StateInterval,
    cycle_time,
    cycle_time_from_rate,
)
from factoryos.kpi.intervals import Interval
from factoryos.kpi.oee import ExactKpis, Kpis, compute_kpis, display_ratio, exact_kpis, machine_kpis
from factoryos.kpi.shifts import ShiftInstance, ShiftPattern, instance_at, resolve_shift, shift_instances
from factoryos.kpi.timezones import load_zone, local_to_utc
from factoryos.kpi.totals import KpiTotals, rollup

__all__ = [
    "DEFAULT_MICRO_STOP_THRESHOLD",
    "DowntimeEvent",
    "ExactKpis",
    "Interval",
    "KpiPolicy",
    "KpiTotals",
    "Kpis",
    "MachineState",
    "MachineWindow",
    "NoDataPolicy",
    "RatedCount",
    "ShiftInstance",
    "ShiftPattern",
    "StateInterval",
    "compute_kpis",
    "cycle_time",
    "cycle_time_from_rate",
    "display_ratio",
    "exact_kpis",
    "instance_at",
    "load_zone",
    "local_to_utc",
    "machine_kpis",
    "machine_totals",
    "resolve_shift",
    "rollup",
    "shift_instances",
]
