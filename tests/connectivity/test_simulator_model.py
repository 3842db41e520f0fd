"""The simulated machines: deterministic with a seed, realistic enough to exercise OEE losses."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from factoryos.connectivity.simulator import SimCode, SimMachine, Simulator


def run(machine: SimMachine, seconds: int, step: float = 1.0) -> list[tuple[int, int, int, int]]:
    trace = []
    for _ in range(int(seconds / step)):
        machine.step(step)
        trace.append(machine.values())
    return trace


def test_same_seed_same_machines_and_production() -> None:
    a, b = Simulator(6, seed=42, tick=None), Simulator(6, seed=42, tick=None)
    c = Simulator(6, seed=43, tick=None)
    assert [m.values() for m in a.machines] == [m.values() for m in b.machines]
    assert [m.values() for m in a.machines] != [m.values() for m in c.machines]
    assert run(a.machines[0], 3600) == run(b.machines[0], 3600)
    assert [m.protocol for m in a.machines] == ["opcua", "modbus"] * 3


def test_a_shift_has_cycles_micro_stops_long_stops_and_rejects() -> None:
    machine = SimMachine("m", "opcua", random.Random("7:0"))
    start_good, start_reject = machine.good, machine.reject
    seconds_in: Counter[int] = Counter()
    stops: list[tuple[int, int]] = []  # (code, duration)
    current, since = machine.code, 0
    for second in range(8 * 3600):
        machine.step(1.0)
        seconds_in[machine.code] += 1
        if machine.code != current:
            stops.append((current, second - since))
            current, since = machine.code, second
    made = machine.good - start_good + machine.reject - start_reject
    run_seconds = seconds_in[SimCode.RUNNING]
    # Parts follow the ideal cycle time, a little slower in practice.
    assert run_seconds / machine.ideal_cycle_time * 0.8 < made <= run_seconds / machine.ideal_cycle_time
    assert 0 < machine.reject - start_reject < made * 0.1
    faults = [d for code, d in stops if code == SimCode.FAULT]
    assert any(d < 120 for d in faults), "micro-stops"
    assert 0.5 < run_seconds / (8 * 3600) < 0.98
    assert len({code for code, _ in stops}) >= 3


def test_16_bit_counters_wrap() -> None:
    sim = Simulator(5, protocol="modbus", seed=1, tick=None)
    wrapping = sim.machines[0]
    assert wrapping.counter_bits == 16 and wrapping.good_counter > 60_000
    wrapping.force(SimCode.RUNNING)
    seen = [v[0] for v in run(wrapping, 4 * 3600, step=5)]
    assert max(seen) < 65536 and any(b < a for a, b in itertools.pairwise(seen))
    assert all(m.counter_bits == 32 for m in sim.machines[1:])


def test_forced_state_holds_until_released() -> None:
    machine = SimMachine("m", "modbus", random.Random(3))
    machine.force(SimCode.FAULT, 205)
    good = machine.good
    machine.step(3600)
    assert (machine.code, machine.alarm, machine.good) == (SimCode.FAULT, 205, good)
    machine.release()
    machine.step(4 * 3600)
    assert machine.good > good
