"""The poll grid: shared slots keep one endpoint's machines in one batch; overruns skip, never pile up."""

from __future__ import annotations

import math

import pytest

from factoryos.connectivity.schedule import next_slot, stable_offset


@pytest.mark.parametrize("interval", [0.1, 0.2, 0.25, 1.0, 1.5, 60.0])
def test_machines_started_apart_meet_on_the_same_slots(interval: float) -> None:
    phase = stable_offset("modbus://10.0.0.7:502", interval)
    starts = [1000.0 + i * interval / 7 for i in range(7)]
    firsts = {next_slot(s, s, interval, phase) for s in starts}
    assert len(firsts) <= 2  # everyone joins the grid within one interval …
    due = max(firsts)
    for _ in range(10_000):  # … and float steps never drift or stall on it
        following = next_slot(due, due, interval, phase)
        assert following == pytest.approx(due + interval, abs=1e-9) and following > due
        assert following == next_slot(due + 1e-12, due, interval, phase)
        due = following
    k = (due - phase) / interval
    assert k == pytest.approx(math.floor(k + 0.5))


def test_an_overrun_runs_at_once_and_whole_missed_slots_are_skipped() -> None:
    assert next_slot(6.0, 6.5, 1.0) == 7.0  # finished in time: wait for the next slot
    assert next_slot(6.0, 7.2, 1.0) == 7.0  # overran into the next slot: run now (0.2 s late)
    assert next_slot(6.0, 9.5, 1.0) == 9.0  # missed 7 and 8: no burst of catch-up polls
    assert next_slot(6.25, 6.5, 1.0, 0.25) == 7.25


def test_endpoints_wake_at_different_phases() -> None:
    labels = [f"opc.tcp://press-{i}.local:4840" for i in range(50)]
    phases = {round(stable_offset(label, 1.0), 3) for label in labels}
    assert len(phases) > 40 and all(0 <= p < 1.0 for p in phases)
    assert stable_offset(labels[0], 1.0) == stable_offset(labels[0], 1.0)
