"""OEE and related KPIs of one machine over one window, computed by hand in the comments."""

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

import pytest

from factoryos.errors import ValidationFailed
from factoryos.kpi import (
    DowntimeEvent,
    Interval,
    KpiPolicy,
    MachineState,
    MachineWindow,
    ShiftPattern,
    StateInterval,
    compute_kpis,
    cycle_time,
    cycle_time_from_rate,
    display_ratio,
    exact_kpis,
    machine_kpis,
    machine_totals,
    resolve_shift,
)

S = 1_000_000  # microseconds per second
MIN = 60 * S
RUN, IDLE, OFF = MachineState.RUNNING, MachineState.IDLE, MachineState.OFFLINE
DOWN, SETUP, PLANNED = MachineState.UNPLANNED_STOP, MachineState.SETUP, MachineState.PLANNED_STOP


def at(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 6, 15, h, m, s, tzinfo=UTC)


def state(kind: MachineState, start: datetime, end: datetime) -> StateInterval:
    return StateInterval(start, end, kind)


def hour_window(**fields: object) -> MachineWindow:
    """08:00-09:00 UTC, ideal cycle 10 s, unless overridden."""
    base = {"window": Interval(at(8), at(9)), "ideal_cycle_time": cycle_time(10)}
    return MachineWindow(**(base | fields))  # type: ignore[arg-type]


def test_plain_day_shift() -> None:
    # 8 h = 28 800 s running, no breaks or stops: run = planned busy = 28 800 s.
    # 900 parts at 30 s ideal = 27 000 s ideal time.
    # availability 1, performance 27 000 / 28 800 = 0.9375, quality 1, OEE 0.9375.
    data = MachineWindow(
        window=Interval(at(6), at(14)),
        ideal_cycle_time=cycle_time(30),
        states=(state(RUN, at(6), at(14)),),
        good_count=900,
    )
    k = machine_kpis(data)
    assert (k.availability, k.performance, k.quality, k.oee) == (1.0, 0.9375, 1.0, 0.9375)
    assert (k.mtbf, k.mttr) == (None, None)  # no failure to divide by


def _shift_with_losses(policy: KpiPolicy | None = None):  # noqa: ANN202 - returns totals
    # Early shift Berlin 06:00-14:00 CEST = 04:00-12:00 UTC on 2026-06-15,
    # breaks 07:00-07:15 and 10:00-10:30 UTC (45 min).
    shift = resolve_shift(
        ShiftPattern("Early", time(6), time(14), breaks=((time(9), time(9, 15)), (time(12), time(12, 30)))),
        date(2026, 6, 15),
        "Europe/Berlin",
    )
    data = MachineWindow.for_shift(
        shift,
        ideal_cycle_time=cycle_time(24),
        states=(
            state(RUN, at(4), at(12)),  # lowest precedence: every stop below overrides it
            state(DOWN, at(5), at(5, 20)),  # 20 min: a long stop
            state(IDLE, at(6), at(6, 1, 30)),  # 90 s: micro-stop
            state(DOWN, at(8), at(8, 0, 45)),  # 45 s: micro-stop
            state(SETUP, at(11, 30), at(11, 50)),  # 20 min changeover
        ),
        # Maintenance 10:15-10:45 started inside the 10:00-10:30 break: only 10:30-10:45 counts.
        downtime=(DowntimeEvent(at(10, 15), at(10, 45), planned=True),),
        good_count=760,
        reject_count=40,
    )
    return machine_totals(data, policy)


def test_shift_with_breaks_planned_stop_setup_and_stops() -> None:
    t = _shift_with_losses()
    # calendar 480 min; breaks 45; planned 15 (not 30: the break part is not subtracted twice)
    # planned busy = 480 - 45 - 15 = 420 min = 25 200 s
    # run = 420 - 20 (long stop) - 20 (setup loss) = 380 min = 22 800 s
    # micro-stops 90 + 45 = 135 s stay inside run time.
    assert t.calendar_us == 480 * MIN
    assert (t.break_us, t.planned_stop_us, t.setup_us) == (45 * MIN, 15 * MIN, 20 * MIN)
    assert (t.planned_busy_us, t.unplanned_stop_us, t.run_us) == (420 * MIN, 20 * MIN, 380 * MIN)
    assert (t.micro_stop_us, t.micro_stop_count, t.failure_count) == (135 * S, 2, 1)
    # availability = 380 / 420 = 19/21
    # performance = 24 s x 800 / 22 800 s = 19 200 / 22 800 = 16/19
    # quality = 760 / 800 = 19/20
    # OEE = 19/21 x 16/19 x 19/20 = 304/420 = 76/105 (= 24 x 760 / 25 200, the same thing)
    e = exact_kpis(t)
    assert e.availability == Fraction(19, 21)
    assert e.performance == Fraction(16, 19)
    assert e.quality == Fraction(19, 20)
    assert e.oee == Fraction(76, 105)
    k = compute_kpis(t)
    assert k.oee == 76 / 105  # one correctly rounded division, no intermediate rounding
    # MTBF = run / failures = 22 800 s; MTTR = 20 min / 1
    assert (k.mtbf, k.mttr) == (timedelta(seconds=22_800), timedelta(minutes=20))


def test_setup_counted_as_planned_when_the_site_says_so() -> None:
    # planned = 15 + 20 (setup) = 35 min; planned busy = 480 - 45 - 35 = 400 min;
    # run = 400 - 20 = 380 min; availability = 380 / 400 = 0.95.
    t = _shift_with_losses(KpiPolicy(setup_is_planned=True))
    assert (t.planned_stop_us, t.setup_us, t.planned_busy_us) == (35 * MIN, 0, 400 * MIN)
    assert compute_kpis(t).availability == 0.95


def test_micro_stops_versus_long_stops_at_the_threshold() -> None:
    stops = (
        state(DOWN, at(8, 10), at(8, 11, 59)),  # 119 s: micro
        state(DOWN, at(8, 20), at(8, 22)),  # 120 s: long (>= threshold)
        state(DOWN, at(8, 30), at(8, 32, 1)),  # 121 s: long
    )
    t = machine_totals(hour_window(states=stops))
    # long = 120 + 121 = 241 s; run = 3600 - 241 = 3359 s; micro 119 s inside run time.
    assert (t.unplanned_stop_us, t.failure_count) == (241 * S, 2)
    assert (t.micro_stop_us, t.micro_stop_count) == (119 * S, 1)
    assert t.run_us == 3359 * S
    # A site with a 5-minute threshold sees three micro-stops and full availability.
    t5 = machine_totals(hour_window(states=stops), KpiPolicy(micro_stop_threshold=timedelta(minutes=5)))
    assert (t5.run_us, t5.micro_stop_us, t5.micro_stop_count, t5.failure_count) == (3600 * S, 360 * S, 3, 0)


def test_touching_stop_records_form_one_stop() -> None:
    # unplanned 60 s then idle 90 s back to back: one 150 s stop, long, one failure.
    records = (state(DOWN, at(8, 5), at(8, 6)), state(IDLE, at(8, 6), at(8, 7, 30)))
    t = machine_totals(hour_window(states=records))
    assert (t.unplanned_stop_us, t.failure_count, t.micro_stop_count) == (150 * S, 1, 0)


def test_overlapping_records_are_never_double_counted() -> None:
    # event 08:00-08:30, idle 08:10-08:40, offline 08:20-08:25: union 08:00-08:40 = 40 min.
    t = machine_totals(
        hour_window(
            states=(state(IDLE, at(8, 10), at(8, 40)), state(OFF, at(8, 20), at(8, 25))),
            downtime=(DowntimeEvent(at(8), at(8, 30), planned=False),),
        )
    )
    assert (t.unplanned_stop_us, t.failure_count, t.run_us) == (40 * MIN, 1, 20 * MIN)


def test_overlaps_resolve_by_precedence_planned_then_setup_then_unplanned() -> None:
    # planned 07:50-08:10 -> 08:00-08:10 in the window (10 min)
    # setup 08:00-08:30 -> loss only 08:10-08:30 (20 min), the rest is planned
    # unplanned 08:20-08:40 -> charged only 08:30-08:40 (10 min), a 20-min (long) stop
    # planned busy = 60 - 10 = 50 min; run = 50 - 20 - 10 = 20 min
    t = machine_totals(
        hour_window(
            states=(state(PLANNED, at(7, 50), at(8, 10)), state(SETUP, at(8), at(8, 30)),
                    state(DOWN, at(8, 20), at(8, 40))),
        )
    )
    assert (t.planned_stop_us, t.setup_us, t.unplanned_stop_us) == (10 * MIN, 20 * MIN, 10 * MIN)
    assert (t.run_us, t.failure_count) == (20 * MIN, 1)


def test_idle_and_offline_count_as_unplanned_stops() -> None:
    # offline 10 min + idle 5 min in a 60-min window: availability = 45 / 60 = 0.75.
    k = machine_kpis(hour_window(states=(state(OFF, at(8), at(8, 10)), state(IDLE, at(8, 30), at(8, 35)))))
    assert k.availability == 0.75


def test_stop_spanning_a_break_is_one_long_stop_charged_outside_the_break() -> None:
    # Breaks 08:10-08:20 and 08:30-08:50 (30 min). Idle 08:09:30-08:20:30 is one 11-min
    # stop: long, 1 failure, but only 30 s + 30 s = 60 s is charged. Idle 08:35-08:45 lies
    # wholly inside a break: no time, no count.
    data = hour_window(
        breaks=(Interval(at(8, 10), at(8, 20)), Interval(at(8, 30), at(8, 50))),
        states=(state(IDLE, at(8, 9, 30), at(8, 20, 30)), state(IDLE, at(8, 35), at(8, 45))),
    )
    t = machine_totals(data)
    assert (t.break_us, t.unplanned_stop_us, t.failure_count) == (30 * MIN, 60 * S, 1)
    assert t.run_us == 30 * MIN - 60 * S


def test_records_reaching_outside_the_window_are_clipped() -> None:
    # Planned stop 07:30-08:15 -> 15 min in the window; break 08:50-09:30 -> 10 min.
    t = machine_totals(
        hour_window(
            breaks=(Interval(at(8, 50), at(9, 30)),),
            states=(state(PLANNED, at(7, 30), at(8, 15)),),
        )
    )
    assert (t.planned_stop_us, t.break_us, t.planned_busy_us) == (15 * MIN, 10 * MIN, 35 * MIN)


def test_zero_production_while_running() -> None:
    # Ran the whole hour and made nothing: performance 0, quality undefined, OEE 0.
    k = machine_kpis(hour_window())
    assert (k.availability, k.performance, k.quality, k.oee) == (1.0, 0.0, None, 0.0)
    assert (k.first_pass_yield, k.scrap_rate, k.target_attainment, k.mtbf) == (None, None, None, None)


def test_all_down() -> None:
    # Down the whole hour: availability 0, performance undefined (no run time), OEE 0.
    # MTBF = 0 s run / 1 failure = 0; MTTR = 3600 s / 1.
    k = machine_kpis(hour_window(states=(state(DOWN, at(8), at(10)),)))
    assert (k.availability, k.performance, k.quality, k.oee) == (0.0, None, None, 0.0)
    assert (k.mtbf, k.mttr) == (timedelta(0), timedelta(hours=1))


def test_window_entirely_planned_down_has_no_ratios() -> None:
    # Planned maintenance all hour: no planned busy time, so nothing can be judged.
    k = machine_kpis(hour_window(downtime=(DowntimeEvent(at(8), at(9), planned=True),)))
    assert (k.availability, k.performance, k.quality, k.oee) == (None, None, None, None)


def test_performance_above_one_is_kept_and_capped_only_for_display() -> None:
    # 450 parts x 10 s = 4500 s ideal in 3600 s run: performance 1.25.
    k = machine_kpis(hour_window(good_count=450))
    assert k.performance == 1.25 and k.oee == 1.25
    assert display_ratio(k.performance) == "100.0 %"
    assert display_ratio(k.performance, cap=False) == "125.0 %"
    assert display_ratio(0.875, digits=2) == "87.50 %"
    assert display_ratio(None) == "–"


def test_quality_first_pass_yield_scrap_and_target() -> None:
    # 900 good of which 50 reworked, 100 scrapped, target 1200:
    # quality 900/1000 = 0.9; FPY (900-50)/1000 = 0.85; scrap 100/1000 = 0.1; attainment 900/1200 = 0.75.
    k = machine_kpis(hour_window(ideal_cycle_time=cycle_time("3.6"), good_count=900, reject_count=100,
                                 rework_count=50, target_quantity=1200))
    assert (k.quality, k.first_pass_yield, k.scrap_rate, k.target_attainment) == (0.9, 0.85, 0.1, 0.75)
    assert k.performance == 1.0  # 3.6 s x 1000 = 3600 s
    assert machine_kpis(hour_window(good_count=5, target_quantity=0)).target_attainment is None


def test_cycle_time_from_seconds_and_rate() -> None:
    assert cycle_time("0.75") == timedelta(milliseconds=750)
    assert cycle_time(0.1) == timedelta(milliseconds=100)
    # 7 units/h -> 3600/7 = 514.2857142857... s -> 514.285714 s (half-even to the µs)
    assert cycle_time_from_rate(7) == timedelta(seconds=514, microseconds=285714)


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda: StateInterval(datetime(2026, 6, 15, 8), at(9), RUN), "naive_datetime"),
        (lambda: StateInterval(at(9), at(8), RUN), "invalid_interval"),
        (lambda: StateInterval(at(8), at(9), "broken"), "invalid_state"),
        (lambda: hour_window(good_count=-1), "invalid_count"),
        (lambda: hour_window(good_count=True), "invalid_count"),
        (lambda: hour_window(good_count=5, rework_count=6), "invalid_count"),
        (lambda: hour_window(ideal_cycle_time=timedelta(0)), "invalid_cycle_time"),
        (lambda: cycle_time("fast"), "invalid_cycle_time"),
        (lambda: cycle_time(float("nan")), "invalid_cycle_time"),
        (lambda: cycle_time_from_rate(0), "invalid_cycle_time"),
        (lambda: KpiPolicy(micro_stop_threshold=timedelta(seconds=-1)), "invalid_policy"),
        (lambda: hour_window(states=[(at(8), at(9), "idle")]), "invalid_input"),
    ],
)
def test_bad_input_is_a_clear_validation_error(build, code: str) -> None:  # noqa: ANN001
    with pytest.raises(ValidationFailed) as err:
        build()
    assert err.value.code == code
