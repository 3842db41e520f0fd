"""The demo's speed is the simulated machines' pace: runs and stops come and go faster, cycles keep
their real length, so no machine ever makes parts faster than its ideal cycle time."""

from __future__ import annotations

import random

import pytest

from factoryos.connectivity.simulator import SimCode, SimMachine, Simulator


def _hour(pace: float) -> tuple[int, int, int]:
    """(parts made, seconds running, state changes) over one hour in one-second steps."""
    machine = SimMachine("m", "opcua", random.Random("42:0"), pace=pace)
    made = machine.good + machine.reject
    running = changes = 0
    code = machine.code
    for _ in range(3600):
        machine.step(1.0)
        running += machine.code == SimCode.RUNNING
        changes += machine.code != code
        code = machine.code
    return machine.good + machine.reject - made, running, changes


def test_a_faster_pace_brings_more_stops_never_faster_cycles() -> None:
    ideal = SimMachine("m", "opcua", random.Random("42:0")).ideal_cycle_time
    made, running, changes = _hour(1)
    fast_made, fast_running, fast_changes = _hour(10)
    assert fast_changes > 4 * max(changes, 1), (changes, fast_changes)
    for parts, seconds in ((made, running), (fast_made, fast_running)):
        # At most one part more than the running time holds at the ideal rate: the part in progress
        # when the hour began.
        assert 0 < parts <= seconds / ideal + 1, (parts, seconds, ideal)


def test_the_pace_is_the_simulators_and_must_be_positive() -> None:
    sim = Simulator(4, seed=42, tick=None, pace=10)
    assert {m.pace for m in sim.machines} == {10}
    # Same seed, same machines and counters: the pace changes no drawn value, only durations.
    assert [m.values() for m in sim.machines] == [m.values() for m in Simulator(4, seed=42, tick=None).machines]
    with pytest.raises(ValueError):
        SimMachine("m", "opcua", random.Random(1), pace=0)
