"""Statistical process control, pure: control charts, run rules and capability from numbers.

X̄-R charts for subgroups of 2…10 values, individuals and moving range (span 2) for one
value per inspection. Limits come from the data (phase I): the grand mean ± 3σ̂, σ̂ from the
average range. Rules after Western Electric / Nelson as used on the floor: a point beyond
the 3σ limits, 8 in a row on one side of the centre line, 6 in a row steadily rising or
falling. Capability: Cp/Cpk from the within-subgroup σ̂ = R̄/d2, Pp/Ppk from the overall
sample standard deviation (n − 1), each with the number of values it rests on.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

# Factors for control charts for variables: subgroup size n → (A2, D3, D4, d2).
# Source: ASTM STP-15D, Manual on Presentation of Data and Control Chart Analysis (1976), as
# tabulated in D. C. Montgomery, Introduction to Statistical Quality Control, Appendix VI.
# n = 2 is also the moving range of span 2 of an individuals chart (E2 = 3/d2 = 2.660).
CONSTANTS: dict[int, tuple[float, float, float, float]] = {
    2: (1.880, 0.0, 3.267, 1.128),
    3: (1.023, 0.0, 2.574, 1.693),
    4: (0.729, 0.0, 2.282, 2.059),
    5: (0.577, 0.0, 2.114, 2.326),
    6: (0.483, 0.0, 2.004, 2.534),
    7: (0.419, 0.076, 1.924, 2.704),
    8: (0.373, 0.136, 1.864, 2.847),
    9: (0.337, 0.184, 1.816, 2.970),
    10: (0.308, 0.223, 1.777, 3.078),
}
MAX_N = 10
RUN_ONE_SIDE = 8
TREND = 6

BEYOND = "beyond_limits"
RUN = "run_one_side"
TRENDING = "trend"
RULE_TEXT = {
    BEYOND: "beyond the 3σ control limits",
    RUN: f"{RUN_ONE_SIDE} in a row on one side of the centre line",
    TRENDING: f"{TREND} in a row steadily rising or falling",
}


@dataclass(frozen=True)
class Limits:
    centre: float
    upper: float
    lower: float


@dataclass(frozen=True)
class Point:
    index: int
    value: float  # the subgroup mean (X̄) or the individual value (I)
    spread: float | None  # the subgroup range (R), or the moving range (MR; none for the first point)
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Capability:
    mean: float
    sigma_within: float | None
    sigma_overall: float | None
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    values: int  # individual values the figures rest on
    subgroups: int


@dataclass(frozen=True)
class Chart:
    kind: str  # "xbar_r" | "i_mr"
    n: int
    location: Limits  # X̄ or I chart
    spread: Limits  # R or MR chart
    points: list[Point]
    capability: Capability
    violations: int = field(default=0)


def xbar_r_limits(grand_mean: float, r_bar: float, n: int) -> tuple[Limits, Limits]:
    """X̄ chart: x̿ ± A2·R̄; R chart: D3·R̄ … D4·R̄ (constants for subgroups of n)."""
    a2, d3, d4, _ = CONSTANTS[n]
    return (Limits(grand_mean, grand_mean + a2 * r_bar, grand_mean - a2 * r_bar),
            Limits(r_bar, d4 * r_bar, d3 * r_bar))


def i_mr_limits(mean: float, mr_bar: float) -> tuple[Limits, Limits]:
    """I chart: x̄ ± 3·MR̄/d2 (d2 = 1.128 for a moving range of 2); MR chart: 0 … D4·MR̄."""
    _, d3, d4, d2 = CONSTANTS[2]
    half = 3 * mr_bar / d2
    return Limits(mean, mean + half, mean - half), Limits(mr_bar, d4 * mr_bar, d3 * mr_bar)


def run_rules(values: Sequence[float], limits: Limits) -> list[tuple[str, ...]]:
    """For each point, the rules it breaks (the point that completes a run or a trend, and each after it)."""
    out: list[list[str]] = [[] for _ in values]
    side_run, side = 0, 0
    trend_run, direction = 1, 0
    for i, v in enumerate(values):
        if v > limits.upper or v < limits.lower:
            out[i].append(BEYOND)
        s = (v > limits.centre) - (v < limits.centre)
        side_run = side_run + 1 if s != 0 and s == side else (1 if s != 0 else 0)
        side = s
        if side_run >= RUN_ONE_SIDE:
            out[i].append(RUN)
        if i > 0:
            d = (v > values[i - 1]) - (v < values[i - 1])
            trend_run = trend_run + 1 if d != 0 and d == direction else (2 if d != 0 else 1)
            direction = d
            if trend_run >= TREND:
                out[i].append(TRENDING)
    return [tuple(r) for r in out]


def capability(values: Sequence[float], sigma_within: float | None, lsl: float | None, usl: float | None,
               subgroups: int) -> Capability:
    """Cp, Cpk from σ within; Pp, Ppk from the overall sample σ. One-sided limits give Cpk/Ppk only."""
    mean = statistics.fmean(values)
    sigma_overall = statistics.stdev(values) if len(values) > 1 else None

    def indices(sigma: float | None) -> tuple[float | None, float | None]:
        if sigma is None or sigma <= 0:
            return None, None
        both = lsl is not None and usl is not None
        p = (usl - lsl) / (6 * sigma) if both else None  # type: ignore[operator]
        sides = [(usl - mean) / (3 * sigma)] if usl is not None else []
        sides += [(mean - lsl) / (3 * sigma)] if lsl is not None else []
        return p, (min(sides) if sides else None)

    cp, cpk = indices(sigma_within)
    pp, ppk = indices(sigma_overall)
    return Capability(mean, sigma_within, sigma_overall, cp, cpk, pp, ppk, len(values), subgroups)


def chart(subgroups: Sequence[Sequence[float]], lsl: float | None = None, usl: float | None = None) -> Chart:
    """The control chart of subgroups of one size n (1: individuals-moving range; 2…10: X̄-R)."""
    if not subgroups:
        raise ValueError("no subgroups")
    n = len(subgroups[0])
    if any(len(g) != n for g in subgroups) or not 1 <= n <= MAX_N:
        raise ValueError("subgroups must all hold the same number of values, 1 to 10")
    values = [float(v) for g in subgroups for v in g]
    if n == 1:
        xs = values
        mrs = [abs(b - a) for a, b in zip(xs, xs[1:])]
        mr_bar = statistics.fmean(mrs) if mrs else 0.0
        location, spread = i_mr_limits(statistics.fmean(xs), mr_bar)
        spreads: list[float | None] = [None, *mrs]
        sigma = mr_bar / CONSTANTS[2][3] if mrs else None
        kind = "i_mr"
    else:
        xs = [statistics.fmean(g) for g in subgroups]
        ranges = [max(g) - min(g) for g in subgroups]
        r_bar = statistics.fmean(ranges)
        location, spread = xbar_r_limits(statistics.fmean(xs), r_bar, n)
        spreads = list(ranges)
        sigma = r_bar / CONSTANTS[n][3]
        kind = "xbar_r"
    rules = run_rules(xs, location)
    points = []
    for i, (x, r, broken) in enumerate(zip(xs, spreads, rules)):
        if r is not None and (r > spread.upper or r < spread.lower) and BEYOND not in broken:
            broken = (*broken, BEYOND)
        points.append(Point(i, x, r, broken))
    cap = capability(values, sigma, lsl, usl, len(subgroups))
    return Chart(kind, n, location, spread, points, cap, sum(1 for p in points if p.rules))


def finite(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) or math.isinf(x) else x
