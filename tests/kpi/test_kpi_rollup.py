"""Roll-ups: sum the components, divide last; never average ratios."""

from datetime import UTC, date, datetime, time
from fractions import Fraction

from factoryos.kpi import (
    Interval,
    KpiTotals,
    MachineState,
    MachineWindow,
    ShiftPattern,
    StateInterval,
    compute_kpis,
    cycle_time,
    exact_kpis,
    machine_totals,
    resolve_shift,
    rollup,
)

S = 1_000_000
MIN = 60 * S
H = 60 * MIN
DOWN = MachineState.UNPLANNED_STOP


def at(h: int, m: int = 0) -> datetime:
    return datetime(2026, 6, 15, h, m, tzinfo=UTC)


def test_line_rollup_differs_from_the_average_of_ratios() -> None:
    # Fast machine: cycle 10 s, 8 h running, 2520 good.
    #   A = 1, P = 25 200 / 28 800 = 7/8, Q = 1, OEE = 7/8
    fast = machine_totals(MachineWindow(window=Interval(at(6), at(14)), ideal_cycle_time=cycle_time(10),
                                        good_count=2520))
    # Slow machine: cycle 60 s, down 4 h, 200 good + 40 rejects.
    #   A = 4/8 = 1/2, P = 60 x 240 / 14 400 = 1, Q = 200/240 = 5/6, OEE = 5/12
    slow = machine_totals(MachineWindow(window=Interval(at(6), at(14)), ideal_cycle_time=cycle_time(60),
                                        states=(StateInterval(at(8), at(12), DOWN),),
                                        good_count=200, reject_count=40))
    assert exact_kpis(fast).oee == Fraction(7, 8)
    assert exact_kpis(slow).oee == Fraction(5, 12)

    line = exact_kpis(rollup([fast, slow]))
    # Sums: planned busy 57 600 s, run 28 800 + 14 400 = 43 200 s,
    # ideal 25 200 + 14 400 = 39 600 s, good 2720, total 2760.
    # A = 43 200 / 57 600 = 3/4
    # P = 39 600 / 43 200 = 11/12   (average of P would be (7/8 + 1)/2 = 15/16)
    # Q = 2720 / 2760 = 68/69       (average of Q would be (1 + 5/6)/2 = 11/12)
    # OEE = 3/4 x 11/12 x 68/69 = 2244/3312 = 187/276 ≈ 0.6775
    assert line.availability == Fraction(3, 4)
    assert line.performance == Fraction(11, 12)
    assert line.quality == Fraction(68, 69)
    assert line.oee == Fraction(187, 276)
    # Averaging the machines' OEE gives (7/8 + 5/12) / 2 = 31/48 ≈ 0.6458: a different, wrong figure.
    average_of_ratios = (Fraction(7, 8) + Fraction(5, 12)) / 2
    assert average_of_ratios == Fraction(31, 48)
    assert line.oee != average_of_ratios
    assert (line.performance != (exact_kpis(fast).performance + exact_kpis(slow).performance) / 2)
    # MTBF/MTTR of the line: one failure (the slow machine's 4 h stop).
    k = compute_kpis(rollup([fast, slow]))
    assert (k.mtbf.total_seconds(), k.mttr.total_seconds()) == (43_200, 14_400)


def test_adjacent_windows_add_up_to_the_combined_window() -> None:
    # A 20-min stop 13:50-14:10 straddles the 14:00 shift change. Each side gets its time,
    # it stays a long stop on both sides, and it is counted once (where it began).
    stops = (StateInterval(at(13, 50), at(14, 10), DOWN), StateInterval(at(9, 0), at(9, 1), DOWN))

    def window(start: datetime, end: datetime, good: int) -> KpiTotals:
        return machine_totals(MachineWindow(window=Interval(start, end), ideal_cycle_time=cycle_time(30),
                                            states=stops, good_count=good))

    first, second = window(at(6), at(14), 800), window(at(14), at(22), 700)
    assert (first.unplanned_stop_us, first.failure_count) == (10 * MIN, 1)
    assert (second.unplanned_stop_us, second.failure_count) == (10 * MIN, 0)
    assert first.micro_stop_count == 1  # the 1-min stop at 09:00
    assert rollup([first, second]) == window(at(6), at(22), 1500)


def test_dst_day_rolls_up_to_its_real_length() -> None:
    # Three 8-h patterns on Berlin's autumn-back day: Early 8 h + Late 8 h + Night 9 h = 25 h.
    # A machine running flat out at 60 s/part through all three: 1500 parts = 90 000 s = 25 h.
    patterns = [ShiftPattern("Early", time(6), time(14)), ShiftPattern("Late", time(14), time(22)),
                ShiftPattern("Night", time(22), time(6))]
    shifts = [resolve_shift(p, date(2026, 10, 24), "Europe/Berlin") for p in patterns]
    per_shift = [
        machine_totals(MachineWindow.for_shift(s, ideal_cycle_time=cycle_time(60), good_count=c))
        for s, c in zip(shifts, (480, 480, 540), strict=True)
    ]
    day = rollup(per_shift)
    assert (day.calendar_us, day.run_us, day.ideal_us) == (25 * H, 25 * H, 25 * H)
    assert compute_kpis(day).oee == 1.0


def test_targets_roll_up_over_the_parts_that_have_one() -> None:
    # Machine A: 90 good against a target of 100; machine B has no target (its 500 good
    # do not inflate the attainment). Attainment = 90 / 100 = 0.9.
    a = KpiTotals(good_count=90, target_quantity=100, target_good_count=90)
    b = KpiTotals(good_count=500)
    assert compute_kpis(rollup([a, b])).target_attainment == 0.9
    assert compute_kpis(b).target_attainment is None


def test_rollup_of_nothing_is_all_undefined() -> None:
    empty = rollup([])
    assert empty == KpiTotals()
    k = compute_kpis(empty)
    assert (k.availability, k.performance, k.quality, k.oee, k.mtbf, k.mttr) == (None,) * 6


def test_sums_are_exact_integers_not_floats() -> None:
    # Ten windows of 0.1 s run time: float seconds would sum to 0.9999999999999999;
    # integer microseconds sum to exactly 1 s, and the ratio is exactly 1.
    tenth = KpiTotals(calendar_us=S // 10, ideal_us=S // 10, good_count=1)
    total = rollup([tenth] * 10)
    assert sum([0.1] * 10) != 1.0
    assert (total.run_us, total.to_dict()["run_us"]) == (S, S)
    assert compute_kpis(total).performance == 1.0
