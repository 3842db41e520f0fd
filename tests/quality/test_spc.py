"""SPC figures against worked examples: a textbook's and small ones computed by hand here."""

from __future__ import annotations

import math

import pytest

from factoryos.quality import spc


def test_textbook_piston_rings_xbar_r_limits_and_capability() -> None:
    # Montgomery, Introduction to Statistical Quality Control, Example 6.1 (piston-ring inside
    # diameter, 25 subgroups of n = 5): x̿ = 74.001 mm, R̄ = 0.023 mm. The book gives
    # X̄ chart UCL = 74.001 + 0.577 × 0.023 = 74.014, LCL = 73.988; R chart UCL = 2.114 × 0.023
    # = 0.049, LCL = 0; σ̂ = R̄/d2 = 0.023/2.326 = 0.0099 and, for specifications 74.000 ± 0.05,
    # Cp = 0.10 / (6 × 0.0099) = 1.68.
    x, r = spc.xbar_r_limits(74.001, 0.023, 5)
    assert round(x.upper, 3) == 74.014 and round(x.lower, 3) == 73.988 and x.centre == 74.001
    assert round(r.upper, 3) == 0.049 and r.lower == 0 and r.centre == 0.023
    sigma = 0.023 / spc.CONSTANTS[5][3]
    assert round(sigma, 4) == 0.0099
    # The book rounds σ̂ to 0.0099 before dividing; unrounded, Cp = 0.10/(6 × 0.0098882) = 1.6855.
    assert round(spc.capability([74.001], 0.0099, 73.95, 74.05, 25).cp, 2) == 1.68
    assert spc.capability([74.001], sigma, 73.95, 74.05, 25).cp == pytest.approx(1.6855, abs=1e-4)


def test_xbar_r_chart_computed_by_hand() -> None:
    # Five subgroups of n = 3, specification 5 … 17:
    #   means 11, 12, 10, 12, 12 → x̿ = 57/5 = 11.4;  ranges 2, 2, 2, 0, 4 → R̄ = 10/5 = 2.0
    #   X̄ limits: 11.4 ± A2·R̄ = 11.4 ± 1.023 × 2 = 13.446 / 9.354
    #   R limits: D4·R̄ = 2.574 × 2 = 5.148, D3·R̄ = 0
    #   σ within = R̄/d2 = 2/1.693 = 1.181335;  Cp = 12/(6σ) = 1.693;  Cpk = (17 − 11.4)/(3σ)
    #     = 5.6 × 1.693/6 = 1.580133 (the upper side is nearer: 5.6 < 6.4)
    #   overall: 15 values, Σ(x − 11.4)² = 2.48 + 3.08 + 7.88 + 1.08 + 9.08 = 23.6,
    #     s = √(23.6/14) = 1.298351;  Pp = 12/(6s) = 1.540416;  Ppk = 5.6/(3s) = 1.437722
    groups = [[10, 12, 11], [11, 13, 12], [9, 11, 10], [12, 12, 12], [10, 14, 12]]
    c = spc.chart(groups, lsl=5, usl=17)
    assert (c.kind, c.n) == ("xbar_r", 3)
    assert [p.value for p in c.points] == [11, 12, 10, 12, 12]
    assert [p.spread for p in c.points] == [2, 2, 2, 0, 4]
    assert c.location.centre == pytest.approx(11.4)
    assert (c.location.upper, c.location.lower) == (pytest.approx(13.446), pytest.approx(9.354))
    assert (c.spread.centre, c.spread.upper, c.spread.lower) == (2.0, pytest.approx(5.148), 0)
    cap = c.capability
    assert (cap.values, cap.subgroups) == (15, 5)
    assert cap.sigma_within == pytest.approx(1.181335, abs=1e-6)
    assert cap.cp == pytest.approx(1.693, abs=1e-6)
    assert cap.cpk == pytest.approx(1.580133, abs=1e-6)
    assert cap.sigma_overall == pytest.approx(1.298351, abs=1e-6)
    assert cap.pp == pytest.approx(1.540416, abs=1e-6)
    assert cap.ppk == pytest.approx(1.437722, abs=1e-6)
    assert c.violations == 0


def test_individuals_moving_range_by_hand() -> None:
    # x = 5, 7, 6, 8, 9: x̄ = 7; moving ranges 2, 1, 2, 1 → MR̄ = 1.5
    #   I limits: 7 ± 3 × 1.5/1.128 = 7 ± 3.989362;  MR UCL = 3.267 × 1.5 = 4.9005
    #   σ within = 1.5/1.128 = 1.329787; only an upper limit of 12: Cpk = (12 − 7)/(3σ) = 1.253333, no Cp
    c = spc.chart([[5], [7], [6], [8], [9]], usl=12)
    assert c.kind == "i_mr"
    assert [p.spread for p in c.points] == [None, 2, 1, 2, 1]
    assert c.location.upper == pytest.approx(10.989362, abs=1e-6)
    assert c.location.lower == pytest.approx(3.010638, abs=1e-6)
    assert c.spread.upper == pytest.approx(4.9005)
    assert c.capability.cp is None and c.capability.pp is None
    assert c.capability.cpk == pytest.approx(1.253333, abs=1e-6)


def test_rules_beyond_limits_run_of_eight_and_trend_of_six() -> None:
    limits = spc.Limits(centre=10, upper=13, lower=7)
    # Points 0–7 all above 10: the 8th (index 7) completes the run, index 8 continues it.
    run = [11, 12, 11, 11.5, 10.5, 12, 11, 11, 12, 9]
    rules = spc.run_rules(run, limits)
    assert [i for i, r in enumerate(rules) if spc.RUN in r] == [7, 8]
    # Seven above then one on the centre line: the run breaks, nothing flagged.
    assert not any(spc.RUN in r for r in spc.run_rules([11] * 7 + [10, 11], limits))
    # 8, 8.5, 9, 9.5, 10.5, 11 rise six times in a row (five steps): index 5 completes the trend.
    trend = [9, 8, 8.5, 9, 9.5, 10.5, 11, 10]
    rules = spc.run_rules(trend, limits)
    assert [i for i, r in enumerate(rules) if spc.TRENDING in r] == [6]
    # A falling trend counts too; a flat step breaks it.
    assert [i for i, r in enumerate(spc.run_rules([12, 11, 10.5, 10, 9, 8], limits)) if spc.TRENDING in r] == [5]
    assert not any(spc.TRENDING in r for r in spc.run_rules([12, 11, 11, 10, 9, 8], limits))
    # Beyond: above the upper or below the lower limit, not on it.
    rules = spc.run_rules([13, 13.01, 6.99, 7], limits)
    assert [bool(r) for r in rules] == [False, True, True, False]


def test_a_shifted_process_is_flagged_on_the_chart() -> None:
    # Twelve stable subgroups, then one far off: it lies beyond the limits computed from all.
    groups = [[10.0, 10.2], [9.9, 10.1], [10.1, 10.0], [10.0, 9.8]] * 3 + [[14.0, 14.1]]
    c = spc.chart(groups, lsl=9, usl=11)
    assert spc.BEYOND in c.points[-1].rules
    assert c.violations >= 1


def test_bad_subgroups_refused() -> None:
    with pytest.raises(ValueError):
        spc.chart([])
    with pytest.raises(ValueError):
        spc.chart([[1, 2], [1]])
    with pytest.raises(ValueError):
        spc.chart([[1.0] * 11])
    assert math.isclose(spc.CONSTANTS[2][0], 1.880)


def test_the_constants_for_n_2_to_10_agree_with_their_definitions() -> None:
    # Independent of the table's typing: A2 = 3 / (d2 · √n); D3 = 1 − 3·d3/d2 and D4 = 1 + 3·d3/d2, so
    # D3 + D4 = 2 wherever D3 is not cut off at 0 (n ≥ 7), and D3 = 0 below.
    assert sorted(spc.CONSTANTS) == list(range(2, 11))
    for n, (a2, d3, d4, d2) in spc.CONSTANTS.items():
        assert a2 == pytest.approx(3 / (d2 * math.sqrt(n)), abs=0.0015), n
        if n >= 7:
            assert d3 + d4 == pytest.approx(2.0, abs=0.0005), n
        else:
            assert d3 == 0.0 and d4 > 2.0, n
