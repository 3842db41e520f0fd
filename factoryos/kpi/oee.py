"""OEE and related KPIs (ISO 22400 vocabulary), computed from `KpiTotals`.

    availability      = run time / planned busy time
    performance       = Σ(ideal cycle × total count) / run time   (may exceed 1)
    quality           = good / total count
    OEE               = availability × performance × quality
    MTBF              = run time / failures
    MTTR              = unplanned stop time / failures
    first-pass yield  = (good − reworked) / total count
    scrap rate        = rejects / total count
    target attainment = good / target   (over the parts that have a target)

Ratios are exact fractions of the integer sums, turned into a float once, at the end.
A ratio whose denominator is zero is None, never a made-up 0 or 1. OEE is None only when
there is no planned busy time; otherwise a zero factor makes it 0 even if a later factor is
undefined (a machine that never ran, or ran and made nothing, has an OEE of 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction

from factoryos.kpi.accounting import machine_totals
from factoryos.kpi.inputs import KpiPolicy, MachineWindow
from factoryos.kpi.totals import KpiTotals


@dataclass(frozen=True)
class Kpis:
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    mtbf: timedelta | None
    mttr: timedelta | None
    first_pass_yield: float | None
    scrap_rate: float | None
    target_attainment: float | None


@dataclass(frozen=True)
class ExactKpis:
    """The ratios as exact fractions (for audits and reference tests)."""

    availability: Fraction | None
    performance: Fraction | None
    quality: Fraction | None
    oee: Fraction | None
    mtbf_us: Fraction | None
    mttr_us: Fraction | None
    first_pass_yield: Fraction | None
    scrap_rate: Fraction | None
    target_attainment: Fraction | None


def _ratio(numerator: int, denominator: int | None) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def exact_kpis(t: KpiTotals) -> ExactKpis:
    availability = _ratio(t.run_us, t.planned_busy_us)
    performance = _ratio(t.ideal_us, t.run_us)
    quality = _ratio(t.good_count, t.total_count)
    if availability is None:
        oee = None
    elif performance is None or quality is None:
        oee = Fraction(0)  # no run time, or nothing made: nothing valuable happened
    else:
        oee = availability * performance * quality
    return ExactKpis(
        availability=availability,
        performance=performance,
        quality=quality,
        oee=oee,
        mtbf_us=_ratio(t.run_us, t.failure_count),
        mttr_us=_ratio(t.unplanned_stop_us, t.failure_count),
        first_pass_yield=_ratio(t.good_count - t.rework_count, t.total_count),
        scrap_rate=_ratio(t.reject_count, t.total_count),
        target_attainment=_ratio(t.target_good_count, t.target_quantity),
    )


def compute_kpis(totals: KpiTotals) -> Kpis:
    """The KPIs of one machine-window or of any roll-up of them."""
    e = exact_kpis(totals)
    return Kpis(
        availability=_float(e.availability),
        performance=_float(e.performance),
        quality=_float(e.quality),
        oee=_float(e.oee),
        mtbf=_duration(e.mtbf_us),
        mttr=_duration(e.mttr_us),
        first_pass_yield=_float(e.first_pass_yield),
        scrap_rate=_float(e.scrap_rate),
        target_attainment=_float(e.target_attainment),
    )


def machine_kpis(data: MachineWindow, policy: KpiPolicy | None = None) -> Kpis:
    """Shortcut: `compute_kpis(machine_totals(data, policy))`."""
    return compute_kpis(machine_totals(data, policy))


def display_ratio(value: float | None, *, cap: bool = True, digits: int = 1) -> str:
    """A ratio as a percentage for people, e.g. ``"87.5 %"``; ``"–"`` when undefined.

    Capped at 100 % by default (performance and OEE above 1 mean a wrong ideal cycle time,
    not a better machine); pass ``cap=False`` for target attainment, which may exceed it.
    """
    if value is None:
        return "–"
    if cap:
        value = min(value, 1.0)
    return f"{value * 100:.{digits}f} %"


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _duration(us: Fraction | None) -> timedelta | None:
    return None if us is None else timedelta(microseconds=round(us))
