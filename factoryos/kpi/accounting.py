"""Time accounting: splitting one machine's window into the KPI time buckets.

Every instant of the window lands in exactly one bucket, by this precedence:

    break > planned stop > setup loss > unplanned stop > no data > run

- Breaks come from the shift; time in them is never also a stop, whatever was recorded.
- Planned stops: `planned_stop` states and planned downtime events, plus `setup` states
  when the site counts setup as planned.
- Setup loss: `setup` states otherwise (an availability loss of any length, not a failure).
- Unplanned stops: `unplanned_stop`, `idle` and `offline` states and unplanned downtime
  events. Idle and offline during planned busy time are treated exactly like an unplanned
  stop: the machine could have run and did not. (`offline` is what pollers wrote for an
  unreadable machine before `no_data` existed; those stored rows keep their meaning.)
- No data: `no_data` states, the time the poller could not read the machine, except where a
  stop, setup, planned stop or break was recorded over it (that record says what happened).
  It is never a stop: it opens no downtime, is never a failure for MTBF/MTTR and never
  counts towards `unplanned_stop_us`. It is reported as its own loss (`no_data_us`,
  `no_data_count`) and the site's `no_data_policy` decides where OEE charges it:
    busy (default)  it stays in planned busy time *and* in run time, like a micro-stop:
                    availability does not drop, and performance judges the gap by the parts
                    found for it (the poller spreads the parts counted at reconnection over
                    the gap), so a machine that ran through a network loss loses nothing
                    and one that stood still loses performance, never availability.
    planned         out of planned busy time (`no_data_planned_us`), like a planned stop.
    unplanned       in planned busy time but not run time (`no_data_unplanned_us`): an
                    availability loss like an unplanned stop, yet no failure, no downtime.
  availability = run / planned busy and performance = ideal / run use the same run time in
  every case, so OEE = A × P × Q = ideal × good / (planned busy × total) stays exact.
- Run: `running` states and any time nothing was recorded for (no record means no loss;
  a loader that wants gaps in the signal to count as no data must say so with intervals).

Stops are the merged, contiguous stretches of unplanned-stop records, as recorded (not cut
by the window, breaks or planned stops; a no-data interval between two stop records ends
the first stop). A stop at least `micro_stop_threshold` long is an
availability loss (`unplanned_stop_us`, a failure for MTBF/MTTR); a shorter one is a
micro-stop, a performance loss that stays inside run time. Only a stop's part inside this
window's planned busy time (and outside setup) is charged here. A stop is *counted* in the
window where it began, if it takes any planned busy time there: a stop carried over from the
previous shift adds time but not a count, so shift counts add up to the day's. No-data
stretches are counted the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from factoryos.kpi.inputs import KpiPolicy, MachineState, MachineWindow, NoDataPolicy
from factoryos.kpi.intervals import Interval, intersect, merge, micros, subtract, total
from factoryos.kpi.totals import KpiTotals

_UNPLANNED_STATES = frozenset({MachineState.UNPLANNED_STOP, MachineState.IDLE, MachineState.OFFLINE})


def machine_totals(data: MachineWindow, policy: KpiPolicy | None = None) -> KpiTotals:
    """The additive KPI components of one machine over `data.window`."""
    policy = policy or KpiPolicy()
    window = merge([data.window])

    def of_state(*states: MachineState) -> list[Interval]:
        return [s.interval for s in data.states if s.state in states]

    breaks = intersect(merge(data.breaks), window)
    planned_sources = of_state(MachineState.PLANNED_STOP)
    planned_sources += [d.interval for d in data.downtime if d.planned]
    if policy.setup_is_planned:
        planned_sources += of_state(MachineState.SETUP)
    planned = subtract(intersect(merge(planned_sources), window), breaks)
    busy = subtract(window, merge(breaks + planned))
    setup = [] if policy.setup_is_planned else intersect(merge(of_state(MachineState.SETUP)), busy)
    chargeable = subtract(busy, setup)

    stops = merge(of_state(*_UNPLANNED_STATES) + [d.interval for d in data.downtime if not d.planned])
    long_us = micro_us = failures = micro_count = 0
    for stop, charged in zip(stops, _overlap_each(stops, chargeable), strict=True):
        if not charged:
            continue
        began_here = data.window.contains(stop.start)
        if stop.duration >= policy.micro_stop_threshold:
            long_us += charged
            failures += began_here
        else:
            micro_us += charged
            micro_count += began_here

    # No data yields to every record that says what the machine did, micro-stops included.
    gaps = merge(of_state(MachineState.NO_DATA))
    no_data_us = no_data_count = 0
    for gap, charged in zip(gaps, _overlap_each(gaps, subtract(chargeable, stops)), strict=True):
        if charged:
            no_data_us += charged
            no_data_count += data.window.contains(gap.start)

    has_target = data.target_quantity is not None
    return KpiTotals(
        calendar_us=micros(data.window.duration),
        break_us=micros(total(breaks)),
        planned_stop_us=micros(total(planned)),
        setup_us=micros(total(setup)),
        unplanned_stop_us=long_us,
        micro_stop_us=micro_us,
        failure_count=failures,
        micro_stop_count=micro_count,
        good_count=data.good_count,
        reject_count=data.reject_count,
        rework_count=data.rework_count,
        ideal_us=data.ideal_us,
        target_quantity=data.target_quantity,
        target_good_count=data.good_count if has_target else 0,
        no_data_us=no_data_us,
        no_data_planned_us=no_data_us if policy.no_data_policy is NoDataPolicy.PLANNED else 0,
        no_data_unplanned_us=no_data_us if policy.no_data_policy is NoDataPolicy.UNPLANNED else 0,
        no_data_count=no_data_count,
    )


def _overlap_each(items: list[Interval], space: list[Interval]) -> Iterable[int]:
    """For each of normal-form `items`, its overlap (µs) with normal-form `space`."""
    j = 0
    for item in items:
        while j < len(space) and space[j].end <= item.start:
            j += 1
        overlap = 0
        k = j
        while k < len(space) and space[k].start < item.end:
            overlap += micros(min(item.end, space[k].end) - max(item.start, space[k].start))
            k += 1
        yield overlap
