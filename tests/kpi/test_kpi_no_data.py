"""No data (the poller could not read the machine) under each site policy, figures by hand."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from factoryos.errors import ValidationFailed
from factoryos.kpi import (
    DowntimeEvent,
    Interval,
    KpiPolicy,
    MachineState,
    MachineWindow,
    NoDataPolicy,
    StateInterval,
    compute_kpis,
    cycle_time,
    exact_kpis,
    machine_totals,
    rollup,
)

S = 1_000_000
RUN, DOWN, GAP, OFF = MachineState.RUNNING, MachineState.UNPLANNED_STOP, MachineState.NO_DATA, MachineState.OFFLINE


def at(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 6, 15, h, m, s, tzinfo=UTC)


def hour(*states: tuple[MachineState, datetime, datetime], **fields: object) -> MachineWindow:
    """08:00-09:00 UTC, ideal cycle 10 s."""
    base = {"window": Interval(at(8), at(9)), "ideal_cycle_time": cycle_time(10),
            "states": tuple(StateInterval(a, b, kind) for kind, a, b in states)}
    return MachineWindow(**(base | fields))  # type: ignore[arg-type]


def _network_loss() -> MachineWindow:
    # Running, 10 min unreadable (08:20-08:30), running, a 5 min breakdown (08:40-08:45).
    # 250 good + 20 rejects at 10 s ideal = 2 700 s ideal time.
    return hour((RUN, at(8), at(8, 20)), (GAP, at(8, 20), at(8, 30)), (RUN, at(8, 30), at(8, 40)),
                (DOWN, at(8, 40), at(8, 45)), (RUN, at(8, 45), at(9)), good_count=250, reject_count=20)


def test_busy_keeps_no_data_in_run_time_and_reports_it_apart() -> None:
    t = machine_totals(_network_loss())  # busy is the default
    # planned busy 3 600 s; run = 3 600 - 300 (the breakdown) = 3 300 s, the 600 s gap inside it.
    assert (t.no_data_us, t.no_data_count, t.no_data_planned_us, t.no_data_unplanned_us) == (600 * S, 1, 0, 0)
    assert (t.planned_busy_us, t.unplanned_stop_us, t.run_us, t.failure_count) == (3600 * S, 300 * S, 3300 * S, 1)
    e = exact_kpis(t)
    # A = 3300/3600 = 11/12; P = 2700/3300 = 9/11; Q = 250/270 = 25/27
    # OEE = 11/12 x 9/11 x 25/27 = 25/36 = 2700 x 250 / (3600 x 270)
    assert (e.availability, e.performance, e.quality) == (Fraction(11, 12), Fraction(9, 11), Fraction(25, 27))
    assert e.oee == Fraction(25, 36) == e.availability * e.performance * e.quality
    # The gap is no failure: MTBF = 3 300 s / 1, MTTR = 300 s / 1.
    assert (e.mtbf_us, e.mttr_us) == (3300 * S, 300 * S)


def test_planned_takes_no_data_out_of_planned_busy_time() -> None:
    t = machine_totals(_network_loss(), KpiPolicy(no_data_policy=NoDataPolicy.PLANNED))
    # planned busy = 3600 - 600 = 3000 s; run = 3000 - 300 = 2700 s; planned stops untouched.
    assert (t.no_data_us, t.no_data_planned_us, t.no_data_unplanned_us, t.planned_stop_us) == (600 * S, 600 * S, 0, 0)
    assert (t.planned_busy_us, t.run_us, t.failure_count) == (3000 * S, 2700 * S, 1)
    e = exact_kpis(t)
    # A = 2700/3000 = 9/10; P = 2700/2700 = 1; OEE = 9/10 x 1 x 25/27 = 5/6
    assert (e.availability, e.performance, e.oee) == (Fraction(9, 10), Fraction(1), Fraction(5, 6))
    assert e.oee == e.availability * e.performance * e.quality
    assert (e.mtbf_us, e.mttr_us) == (2700 * S, 300 * S)


def test_unplanned_charges_availability_but_is_never_a_failure() -> None:
    t = machine_totals(_network_loss(), KpiPolicy(no_data_policy="unplanned"))
    # planned busy 3600 s; run = 3600 - 300 - 600 = 2700 s; unplanned_stop_us stays the breakdown only.
    assert (t.no_data_unplanned_us, t.no_data_planned_us, t.unplanned_stop_us) == (600 * S, 0, 300 * S)
    assert (t.planned_busy_us, t.run_us, t.failure_count) == (3600 * S, 2700 * S, 1)
    e = exact_kpis(t)
    # A = 2700/3600 = 3/4; P = 1; OEE = 3/4 x 25/27 = 25/36; MTTR is the breakdown alone.
    assert (e.availability, e.performance, e.oee) == (Fraction(3, 4), Fraction(1), Fraction(25, 36))
    assert (e.mtbf_us, e.mttr_us) == (2700 * S, 300 * S)


def test_old_offline_rows_still_count_as_a_stop() -> None:
    # The same 10 minutes stored as `offline` by an older poller: a long stop and a failure.
    t = machine_totals(hour((RUN, at(8), at(8, 20)), (OFF, at(8, 20), at(8, 30)), (RUN, at(8, 30), at(9))))
    assert (t.unplanned_stop_us, t.failure_count, t.no_data_us, t.run_us) == (600 * S, 1, 0, 3000 * S)


def test_recorded_stops_breaks_and_planned_time_win_over_no_data() -> None:
    # Gap 08:00-08:30. Inside it: a break 08:00-08:05, planned maintenance 08:05-08:10 (operator),
    # a 3 min breakdown the operator entered 08:10-08:13 (unplanned downtime), a 1 min micro-stop
    # record 08:20-08:21. No data is what is left: 30 - 5 - 5 - 3 - 1 = 16 min.
    data = hour((GAP, at(8), at(8, 30)), (DOWN, at(8, 20), at(8, 21)), (RUN, at(8, 30), at(9)),
                breaks=(Interval(at(8), at(8, 5)),),
                downtime=(DowntimeEvent(at(8, 5), at(8, 10), planned=True),
                          DowntimeEvent(at(8, 10), at(8, 13), planned=False)))
    for policy in NoDataPolicy:
        t = machine_totals(data, KpiPolicy(no_data_policy=policy))
        assert (t.break_us, t.planned_stop_us, t.unplanned_stop_us, t.micro_stop_us) == (300 * S, 300 * S,
                                                                                          180 * S, 60 * S)
        assert (t.no_data_us, t.no_data_count, t.failure_count) == (960 * S, 1, 1)
    planned = machine_totals(data, KpiPolicy(no_data_policy=NoDataPolicy.PLANNED))
    # 3600 - 300 - 300 - 960 = 2040 s planned busy; run = 2040 - 180 = 1860 s.
    assert (planned.planned_busy_us, planned.run_us) == (2040 * S, 1860 * S)


def test_no_data_between_stop_records_splits_the_stop() -> None:
    # 60 s stop, 100 s unreadable, 90 s stop: two micro-stops (what happened between is unknown),
    # where 60 + 100 + 90 s of stop records would be one 250 s stop and a failure.
    gap = hour((DOWN, at(8, 10), at(8, 11)), (GAP, at(8, 11), at(8, 12, 40)), (DOWN, at(8, 12, 40), at(8, 14, 10)))
    t = machine_totals(gap)
    assert (t.micro_stop_us, t.micro_stop_count, t.unplanned_stop_us, t.failure_count) == (150 * S, 2, 0, 0)
    assert (t.no_data_us, t.run_us) == (100 * S, 3600 * S)


def test_a_gap_carried_over_adds_time_but_no_count() -> None:
    data = hour((GAP, at(7, 50), at(8, 10)), (RUN, at(8, 10), at(9)))
    t = machine_totals(data, KpiPolicy(no_data_policy=NoDataPolicy.UNPLANNED))
    assert (t.no_data_us, t.no_data_count, t.no_data_unplanned_us, t.run_us) == (600 * S, 0, 600 * S, 3000 * S)


def test_rollup_of_sites_with_different_policies_divides_last() -> None:
    busy = machine_totals(_network_loss())
    planned = machine_totals(_network_loss(), KpiPolicy(no_data_policy=NoDataPolicy.PLANNED))
    total = rollup([busy, planned])
    # planned busy 3600 + 3000 = 6600 s; run 3300 + 2700 = 6000 s; ideal 5400 s; good 500 of 540.
    assert (total.no_data_us, total.no_data_planned_us, total.no_data_count) == (1200 * S, 600 * S, 2)
    assert (total.planned_busy_us, total.run_us) == (6600 * S, 6000 * S)
    e = exact_kpis(total)
    assert e.availability == Fraction(10, 11) and e.performance == Fraction(9, 10)
    assert e.oee == Fraction(5400 * 500, 6600 * 540) == e.availability * e.performance * e.quality
    assert compute_kpis(total).oee == float(e.oee)
    assert total.to_dict()["no_data_us"] == 1200 * S


def test_unknown_policy_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        KpiPolicy(no_data_policy="sometimes")  # type: ignore[arg-type]
    assert (err.value.code, err.value.field) == ("invalid_policy", "no_data_policy")
    assert KpiPolicy(micro_stop_threshold=timedelta(0)).no_data_policy is NoDataPolicy.BUSY
