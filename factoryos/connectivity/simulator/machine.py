"""A simulated machine: deterministic production cycles, stops and counters.

Time only moves when `step` is called, so a seed and a sequence of steps always give
the same counters and states — the servers just publish what the model holds.

`pace` compresses only how long runs and stops last (pace 10: stops come ten times as often and
last a tenth as long); a cycle always takes at least the ideal cycle time, so the parts made
never outrun the rate the machine is registered with.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import IntEnum

from factoryos.connectivity.machine_config import StatusMapping
from factoryos.connectivity.states import MachineState


class SimCode(IntEnum):
    """Status codes the simulated PLCs report."""

    RUNNING = 1
    IDLE = 2
    PLANNED_STOP = 3
    FAULT = 4
    SETUP = 5
    MANUAL = 9  # deliberately unmapped: shows the default state for unknown codes


SIM_STATUS_MAP = StatusMapping(
    codes={
        SimCode.RUNNING: MachineState.RUNNING,
        SimCode.IDLE: MachineState.IDLE,
        SimCode.PLANNED_STOP: MachineState.PLANNED_STOP,
        SimCode.FAULT: MachineState.UNPLANNED_STOP,
        SimCode.SETUP: MachineState.SETUP,
    }
)


@dataclass(frozen=True, slots=True)
class _StopKind:
    code: SimCode
    alarms: tuple[int, int]  # alarm code range; (0, 0) = no alarm
    seconds: tuple[float, float]
    weight: float


# What interrupts a run: mostly micro-stops (jams, sensor trips), sometimes real breakdowns.
_STOPS = (
    _StopKind(SimCode.FAULT, (101, 110), (5, 90), 0.62),  # micro-stop
    _StopKind(SimCode.IDLE, (0, 0), (30, 300), 0.12),  # starved or blocked
    _StopKind(SimCode.FAULT, (201, 220), (180, 1800), 0.10),  # breakdown
    _StopKind(SimCode.SETUP, (0, 0), (600, 1800), 0.07),  # changeover
    _StopKind(SimCode.PLANNED_STOP, (0, 0), (600, 1800), 0.06),  # break, maintenance
    _StopKind(SimCode.MANUAL, (0, 0), (60, 600), 0.03),
)


class SimMachine:
    def __init__(self, machine_id: str, protocol: str, rng: random.Random, *, counter_bits: int = 32,
                 pace: float = 1.0) -> None:
        if pace <= 0:
            raise ValueError("pace must be positive")
        self.machine_id = machine_id
        self.pace = pace
        self.protocol = protocol
        self.counter_bits = counter_bits
        self._rng = rng
        self.ideal_cycle_time = round(rng.uniform(2.0, 12.0), 2)
        self.reject_rate = rng.uniform(0.005, 0.04)
        self._mean_run = rng.uniform(120.0, 600.0)
        if counter_bits == 16:
            # Start just below the 16-bit limit so the wrap shows up within minutes.
            self.good = 65536 - rng.randrange(100, 2000)
        else:
            self.good = rng.randrange(0, 50_000)
        self.reject = rng.randrange(0, 1_000)
        self.code: int = SimCode.RUNNING
        self.alarm = 0
        self._remaining = self._run_length()
        self._cycle = self._next_cycle()
        self._progress = rng.uniform(0, self._cycle)
        self.forced = False
        self.reachable = True

    @property
    def good_counter(self) -> int:
        """The PLC register value: wraps at the counter's width."""
        return self.good % (1 << self.counter_bits)

    @property
    def reject_counter(self) -> int:
        return self.reject % (1 << self.counter_bits)

    def step(self, seconds: float) -> None:
        """Advance the machine by `seconds` of simulated time."""
        while seconds > 1e-9:
            chunk = seconds if self.forced else min(seconds, self._remaining)
            if self.code == SimCode.RUNNING:
                self._produce(chunk)
            seconds -= chunk
            if not self.forced:
                self._remaining -= chunk
                if self._remaining <= 1e-9:
                    self._transition()

    def force(self, code: int, alarm: int = 0) -> None:
        """Hold a state until `release` (production continues only while running)."""
        self.code, self.alarm, self.forced = code, alarm, True

    def release(self) -> None:
        self.forced = False
        self._remaining = self._run_length()

    def values(self) -> tuple[int, int, int, int]:
        return self.good_counter, self.reject_counter, int(self.code), self.alarm

    def _run_length(self) -> float:
        """How long the next run lasts, at the machine's pace."""
        return self._rng.expovariate(1 / self._mean_run) / self.pace

    def _next_cycle(self) -> float:
        return self.ideal_cycle_time * self._rng.uniform(1.0, 1.15)  # real cycles are a bit slower

    def _produce(self, seconds: float) -> None:
        self._progress += seconds
        while self._progress >= self._cycle:
            self._progress -= self._cycle
            if self._rng.random() < self.reject_rate:
                self.reject += 1
            else:
                self.good += 1
            self._cycle = self._next_cycle()

    def _transition(self) -> None:
        rng = self._rng
        if self.code != SimCode.RUNNING:
            self.code, self.alarm = SimCode.RUNNING, 0
            self._remaining = self._run_length()
            return
        kind = rng.choices(_STOPS, weights=[s.weight for s in _STOPS])[0]
        self.code = kind.code
        self.alarm = rng.randint(*kind.alarms) if kind.alarms != (0, 0) else 0
        self._remaining = rng.uniform(*kind.seconds) / self.pace
