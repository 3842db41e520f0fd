"""Everything the poller knows about one machine: counters, state, buckets, health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from factoryos.connectivity.buckets import MinuteBuckets
from factoryos.connectivity.counters import CounterTracker, plausible_step
from factoryos.connectivity.driver import Reading
from factoryos.connectivity.errors import ConnectivityError
from factoryos.connectivity.events import CountDelta, Event
from factoryos.connectivity.health import HealthTracker
from factoryos.connectivity.machine_config import ModbusMachine, ModbusSignal, OpcUaMachine
from factoryos.connectivity.schedule import stable_offset
from factoryos.connectivity.state_tracker import StateTracker
from factoryos.connectivity.states import MachineState


def _scale(signal: ModbusSignal | str) -> float:
    return signal.scale if isinstance(signal, ModbusSignal) else 1.0


@dataclass(frozen=True, slots=True)
class MachineStatus:
    """Live view of one machine for the API (not persisted)."""

    machine_id: str
    protocol: str
    state: MachineState | None
    raw_code: int | None
    alarm_code: int | None
    last_ok: datetime | None
    last_error: str | None
    error_code: str | None
    good_raw: int | None
    reject_raw: int | None
    good_total: int
    reject_total: int
    polls: int


class MachineMonitor:
    def __init__(self, machine: ModbusMachine | OpcUaMachine, run_id: str, *, health_heartbeat: float = 60.0,
                 count_partial_every: float | None = None) -> None:
        self.machine = machine
        mid = machine.machine_id
        self._good = CounterTracker(_scale(machine.signals.good))
        self._reject = CounterTracker(_scale(machine.signals.reject))
        self._states = StateTracker(mid, machine.status_map)
        self._buckets = MinuteBuckets(mid, run_id, partial_every=count_partial_every,
                                      phase=stable_offset(mid, count_partial_every or 0.0))
        # Machines started together would all send their heartbeats in the same poll round: a
        # burst of writes for nothing. Spread them over the heartbeat period.
        self._health = HealthTracker(mid, health_heartbeat, phase=stable_offset(mid, health_heartbeat))
        self._last_at: datetime | None = None
        self._reading: Reading | None = None
        self._good_total = self._reject_total = self._polls = 0

    def on_reading(self, reading: Reading, at: datetime) -> list[Event]:
        self._polls += 1
        elapsed = (at - self._last_at).total_seconds() if self._last_at else 0.0
        self._last_at = at
        max_step = plausible_step(elapsed, self.machine.ideal_cycle_time)
        good = self._good.update(reading.good.raw, modulus=reading.good.modulus, max_step=max_step)
        reject = self._reject.update(reading.reject.raw, modulus=reading.reject.modulus, max_step=max_step)
        self._good_total += good
        self._reject_total += reject
        self._reading = reading
        self._buckets.add(at, good, reject)
        events: list[Event] = []
        if change := self._states.observe(reading.state_code, reading.alarm_code, at):
            events.append(change)
        if health := self._health.ok(at):
            events.append(health)
        return events

    def on_failure(self, error: ConnectivityError, at: datetime) -> list[Event]:
        """Machine unreadable: offline. Counter baselines stay, so parts made meanwhile count on return."""
        self._polls += 1
        events: list[Event] = []
        if change := self._states.lost(at, error.detail):
            events.append(change)
        if health := self._health.failed(at, error.detail, error.code):
            events.append(health)
        return events

    def close_minutes(self, now: datetime) -> list[CountDelta]:
        return self._buckets.close_before(now)

    def flush(self) -> list[CountDelta]:
        return self._buckets.flush()

    def status(self) -> MachineStatus:
        reading = self._reading
        last = self._states
        return MachineStatus(
            machine_id=self.machine.machine_id,
            protocol=self.machine.protocol,
            state=last.state,
            raw_code=reading.state_code if reading and last.state is not MachineState.OFFLINE else None,
            alarm_code=reading.alarm_code if reading and last.state is not MachineState.OFFLINE else None,
            last_ok=self._health.last_ok,
            last_error=self._health.last_error,
            error_code=self._health.error_code,
            good_raw=self._good.last,
            reject_raw=self._reject.last,
            good_total=self._good_total,
            reject_total=self._reject_total,
            polls=self._polls,
        )
