"""Performance against the standard of each part made: rated counts (order operations run in the
window) at their own cycle time and parts per cycle, the rest at the machine's ideal cycle time."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from factoryos.errors import ValidationFailed
from factoryos.kpi import (
    Interval,
    KpiPolicy,
    MachineState,
    MachineWindow,
    RatedCount,
    StateInterval,
    compute_kpis,
    cycle_time,
    machine_totals,
    rollup,
)

S = 1_000_000  # microseconds per second


def at(h: int, m: int = 0) -> datetime:
    return datetime(2026, 6, 15, h, m, tzinfo=UTC)


SHIFT = Interval(at(6), at(14))  # 28 800 s


def window(**fields: object) -> MachineWindow:
    return MachineWindow(window=SHIFT, **{"ideal_cycle_time": cycle_time(20)} | fields)  # type: ignore[arg-type]


def test_two_products_in_one_shift_are_each_measured_against_their_standard() -> None:
    # 30 parts outside any run at the machine's 20 s (600 s), 1 100 of X at 10 s (11 000 s),
    # 600 of Y at 30 s (18 000 s): ideal 29 600 s. Changeover 06:00–07:00 is setup (3 600 s):
    # run 25 200 s, P = 29 600 / 25 200 = 74/63 (the standards say it ran faster than they allow).
    data = window(good_count=1700, reject_count=30, states=(StateInterval(at(6), at(7), MachineState.SETUP),),
                  rated_counts=((cycle_time(10), 1, 1100), RatedCount(cycle_time(30), 1, 600)))
    t = machine_totals(data)
    assert (t.ideal_us, t.setup_us, t.run_us) == (29600 * S, 3600 * S, 25200 * S)
    assert compute_kpis(t).performance == float(Fraction(74, 63))
    # Planned setup: the same ideal time, out of planned busy time instead.
    planned = machine_totals(data, KpiPolicy(setup_is_planned=True))
    assert (planned.ideal_us, planned.planned_stop_us, planned.setup_us) == (29600 * S, 3600 * S, 0)


def test_a_two_cavity_mould_counts_two_parts_per_cycle() -> None:
    # 1 000 parts at 40 s a cycle, two parts a cycle: 500 cycles, 20 000 s.
    t = machine_totals(window(good_count=1000, rated_counts=((cycle_time(40), 2, 1000),)))
    assert t.ideal_us == 20000 * S
    assert compute_kpis(t).performance == float(Fraction(20000, 28800))


@pytest.mark.parametrize(("count", "ideal"), [(1, 2), (3, 4), (5, 8), (4, 6)])
def test_each_group_is_rounded_half_even_to_the_microsecond_once(count: int, ideal: int) -> None:
    # 3 µs a cycle, two parts a cycle: 1 part 1.5 → 2 µs, 3 parts 4.5 → 4, 5 parts 7.5 → 8, 4 parts 6.
    assert RatedCount(timedelta(microseconds=3), 2, count).ideal_us == ideal
    # The rest of the parts at the machine's own figure, exactly.
    data = window(good_count=count + 7, rated_counts=((timedelta(microseconds=3), 2, count),))
    assert data.ideal_us == ideal + 7 * 20 * S


def test_without_rated_counts_every_part_is_at_the_machines_ideal_cycle() -> None:
    assert machine_totals(window(good_count=100, reject_count=5)).ideal_us == 105 * 20 * S
    # A rated group at the machine's own standard changes nothing.
    assert machine_totals(window(good_count=100, reject_count=5,
                                 rated_counts=((cycle_time(20), 1, 60),))).ideal_us == 105 * 20 * S


def test_roll_ups_sum_ideal_times_then_divide() -> None:
    # Press: 1 100 parts at 10 s + 600 at 30 s = 29 000 s ideal, run 28 800 s.
    # Mould: 1 000 parts at 40 s ÷ 2 = 20 000 s ideal, an hour's changeover: run 25 200 s.
    press = machine_totals(window(good_count=1700, rated_counts=((cycle_time(10), 1, 1100), (cycle_time(30), 1, 600))))
    mould = machine_totals(window(good_count=1000, rated_counts=((cycle_time(40), 2, 1000),),
                                  states=(StateInterval(at(6), at(7), MachineState.SETUP),)))
    line = rollup([press, mould])
    # P = 49 000 / 54 000 = 49/54 (0.907…), not the mean of 29 000/28 800 and 20 000/25 200 (0.900…).
    assert (line.ideal_us, line.run_us) == (49000 * S, 54000 * S)
    assert compute_kpis(line).performance == float(Fraction(49, 54))
    mean = (compute_kpis(press).performance + compute_kpis(mould).performance) / 2
    assert compute_kpis(line).performance != pytest.approx(mean, rel=1e-6)


@pytest.mark.parametrize(
    ("rated", "code"),
    [
        (((cycle_time(10), 1, 11),), "invalid_count"),  # more rated parts than counted (10)
        (((cycle_time(10), 0, 5),), "invalid_count"),  # zero parts per cycle
        (((cycle_time(10), 1, -1),), "invalid_count"),
        (((cycle_time(10), True, 5),), "invalid_count"),
        (((timedelta(0), 1, 5),), "invalid_cycle_time"),
        (((10, 1, 5),), "invalid_cycle_time"),  # seconds, not a duration
        (((cycle_time(10), 1),), "invalid_input"),
        ((object(),), "invalid_input"),
        (None, "invalid_input"),
    ],
)
def test_bad_rated_counts_are_refused_with_the_field_named(rated: tuple, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        window(good_count=8, reject_count=2, rated_counts=rated)
    assert (err.value.code, err.value.field) == (code, "rated_counts")
