"""Everything the poller knows about one machine: counters, state, buckets, health.

Counts: each reading's parts go to the bucket of its minute, or, when the reading closes a
gap (the machine could not be read, or the poller restarted from a stored baseline, or polls
were missed), are spread over the minutes since the previous good reading in proportion to
time, so no minute shows more than the machine could make. A delta above the plausibility
bound is not counted: it becomes a `CounterAnomaly` (after the open buckets are flushed, so
the anomaly can carry its counter's new baseline safely); when both counters went down in that
reading, the other counter's delta is held as an anomaly too (see `counters`: a suspect reset).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from factoryos.connectivity.buckets import MinuteBuckets, Snapshot, spread
from factoryos.connectivity.counters import CounterTracker, StoredCounter, parts_bound, plausible_step
from factoryos.connectivity.deadband import Deadband
from factoryos.connectivity.driver import Reading
from factoryos.connectivity.errors import ConnectivityError
from factoryos.connectivity.events import CounterAnomaly, CounterBaseline, Event
from factoryos.connectivity.health import HealthTracker
from factoryos.connectivity.machine_config import ModbusMachine, ModbusSignal, MqttMachine, OpcUaMachine, SparkplugSignals
from factoryos.connectivity.schedule import stable_offset
from factoryos.connectivity.state_tracker import StateTracker
from factoryos.connectivity.states import MachineState


Signal = Literal["good", "reject"]
SIGNALS: tuple[Signal, Signal] = ("good", "reject")


def _scale(signal: ModbusSignal | str) -> float:
    return signal.scale if isinstance(signal, ModbusSignal) else 1.0


def _deadband(machine: ModbusMachine | OpcUaMachine | MqttMachine, signal: Literal["state", "alarm"]) -> float | None:
    deadband_of = getattr(machine.signals, "deadband_of", None)  # MQTT signals have none
    return deadband_of(signal) if deadband_of is not None else None


def counter_source(machine: ModbusMachine | OpcUaMachine | MqttMachine, signal: Signal) -> tuple[object, ...]:
    """What identifies a counter: where it is read. Same source ⇒ its baseline still holds."""
    where = getattr(machine.signals, signal)
    if isinstance(machine, ModbusMachine):
        ep = machine.endpoint
        return ("modbus", ep.host, ep.port, ep.unit_id, where.register_type, where.address, where.data_type,
                where.byte_order, where.word_order)
    if isinstance(machine, MqttMachine):
        s = machine.signals
        topic = (s.group_id, s.edge_node_id, s.device_id) if isinstance(s, SparkplugSignals) else (s.topic,)
        return ("mqtt", machine.endpoint.url, s.format, *topic, where)
    return ("opcua", machine.endpoint.url, where)


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
    read_errors: int = 0


@dataclass(frozen=True, slots=True)
class _Claim:
    """What one counter's reading claims: `parts` since `since`, within the bound `allowed` or not."""

    signal: Signal
    raw: int
    parts: int
    allowed: int | None
    dropped: bool  # the raw value went down (a wrap or a reset)
    since: datetime | None
    previous: StoredCounter | None


class MachineMonitor:
    def __init__(self, machine: ModbusMachine | OpcUaMachine | MqttMachine, run_id: str, *, health_heartbeat: float = 60.0,
                 count_partial_every: float | None = None,
                 baselines: Mapping[str, StoredCounter] | None = None) -> None:
        """`baselines`: stored counter values (by signal) to count the first reading from."""
        self.machine = machine
        mid = machine.machine_id
        stored = baselines or {}
        self._good = CounterTracker(_scale(machine.signals.good), stored.get("good"))
        self._reject = CounterTracker(_scale(machine.signals.reject), stored.get("reject"))
        self._gap = bool(stored)  # the next reading closes a gap: spread its parts over it
        self._latest: Snapshot | None = None  # both baselines as of the last reading
        self._bounds = {s: machine.signals.plausibility.bound_of(s) for s in SIGNALS}
        self._states = StateTracker(mid, machine.status_map)
        self._state_band, self._alarm_band = (Deadband(_deadband(machine, s)) for s in ("state", "alarm"))
        self._buckets = MinuteBuckets(mid, run_id, partial_every=count_partial_every,
                                      phase=stable_offset(mid, count_partial_every or 0.0))
        # Machines started together would all send their heartbeats in the same poll round: a
        # burst of writes for nothing. Spread them over the heartbeat period.
        self._health = HealthTracker(mid, health_heartbeat, phase=stable_offset(mid, health_heartbeat))
        self._last_at: datetime | None = None
        self._reading: Reading | None = None
        self._good_total = self._reject_total = self._polls = 0
        self._run_cycle: float | None = None  # seconds per part of the operation running, when it has a standard

    @property
    def ideal_cycle_time(self) -> float | None:
        """Seconds per part that bound the counts: the running operation's standard, else the machine's own."""
        return self._run_cycle or self.machine.ideal_cycle_time

    def follow_run(self, seconds_per_part: float | None) -> None:
        """Bound counts by the running operation's standard from the next reading (None: the machine's own)."""
        self._run_cycle = seconds_per_part

    def baselines(self) -> dict[str, StoredCounter]:
        """The counters' current baselines by signal (to carry into a restarted monitor)."""
        out = {}
        for signal, tracker in (("good", self._good), ("reject", self._reject)):
            if (baseline := tracker.baseline) is not None:
                out[signal] = baseline
        return out

    def on_reading(self, reading: Reading, at: datetime) -> list[Event]:
        """One poll's reading at `at` (the poll's time); values pushed since the previous poll
        (`reading.earlier`) are observed first, each at its source time."""
        self._polls += 1
        events: list[Event] = []
        for earlier in reading.earlier:
            events.extend(self._observe(earlier, min(earlier.at or at, at), pushed=True))
        pushed = reading.at is not None
        events.extend(self._observe(reading, min(reading.at, at) if reading.at is not None else at, pushed=pushed))
        return events

    def _observe(self, reading: Reading, at: datetime, *, pushed: bool) -> list[Event]:
        if self._last_at is not None and at < self._last_at:
            at = self._last_at  # time never runs backwards for one machine (a late message)
        before = self._latest
        # A pushed value is stamped when it changed: a long wait since the last one is no gap.
        gap = self._gap or (not pushed and self._last_at is not None
                            and (at - self._last_at).total_seconds() >= 2 * self.machine.poll_interval)
        self._gap = False
        self._last_at = at
        events: list[Event] = []
        claims: list[_Claim] = []
        for signal, tracker, sample in zip(SIGNALS, (self._good, self._reject), (reading.good, reading.reject),
                                           strict=True):
            restored = tracker.baseline if before is None else None  # first reading: nothing, or a stored one
            since, last_raw = tracker.last_at, tracker.last
            elapsed = (at - since).total_seconds() if since is not None else 0.0
            max_step = plausible_step(elapsed, self.ideal_cycle_time)
            parts = tracker.update(sample.raw, modulus=sample.modulus, max_step=max_step, at=at)
            factor, fixed_max = self._bounds[signal]
            previous = restored if before is None else StoredCounter(getattr(before, f"{signal}_raw"), before.at)
            claims.append(_Claim(signal, sample.raw, parts, parts_bound(elapsed, self.ideal_cycle_time, factor, fixed_max),
                                 last_raw is not None and sample.raw < last_raw, since, previous))
        held = {c.signal for c in claims if c.allowed is not None and c.parts > c.allowed}
        if held and all(c.dropped for c in claims):
            # Both counters went back at once (a PLC restart with preset or stale values, a program
            # download) and one claims more than the machine could make: the other's claim comes from
            # the same suspect reset, so it waits for the same supervisor.
            held.update(c.signal for c in claims if c.parts)
        anomalies: list[CounterAnomaly] = []
        counted: dict[Signal, dict] = {}
        for c in claims:
            if c.signal in held:
                anomalies.append(CounterAnomaly(
                    machine_id=self.machine.machine_id, signal=c.signal,
                    previous_raw=c.previous.raw if c.previous else None, raw=c.raw,
                    previous_at=c.previous.read_at if c.previous else None, detected_at=at, delta=c.parts,
                    allowed=c.allowed, key=f"{self.machine.machine_id}|{c.signal}|{at.isoformat()}|{c.raw}",
                ))
            elif c.parts:
                counted[c.signal] = spread(c.since, at, c.parts) if gap and c.since is not None else spread(at, at, c.parts)
        if anomalies:
            events.extend(self._buckets.flush())  # the parts before it go first: then its baseline is safe
            events.extend(anomalies)
        good = sum(counted.get("good", {}).values())
        reject = sum(counted.get("reject", {}).values())
        self._good_total += good
        self._reject_total += reject
        self._reading = reading
        minutes: dict[datetime, tuple[int, int]] = {}
        for minute in counted.get("good", {}).keys() | counted.get("reject", {}).keys():
            minutes[minute] = (counted.get("good", {}).get(minute, 0), counted.get("reject", {}).get(minute, 0))
        self._buckets.add_minutes(minutes, before=before)
        self._latest = self._snapshot()
        if self._latest is not None:
            self._buckets.note(self._latest)
        state_code = self._state_band.apply(reading.state_code)
        alarm_code = None if reading.alarm_code is None else self._alarm_band.apply(reading.alarm_code)
        if change := self._states.observe(state_code, alarm_code, at):
            events.append(change)
        if health := self._health.ok(at):
            events.append(health)
        return events

    def on_failure(self, error: ConnectivityError, at: datetime) -> list[Event]:
        """Machine unreadable: no data. Counter baselines stay, so parts made meanwhile count on return
        (spread over the gap)."""
        self._polls += 1
        self._gap = True
        events: list[Event] = []
        if change := self._states.lost(at, error.detail):
            events.append(change)
        if health := self._health.failed(at, error.detail, error.code):
            events.append(health)
        return events

    def _snapshot(self) -> Snapshot | None:
        good, reject = self._good.baseline, self._reject.baseline
        if good is None or reject is None or good.read_at != reject.read_at:
            return None  # not both read together yet (stored baselines): nothing new to store
        return Snapshot(good.raw, reject.raw, good.read_at)

    def close_minutes(self, now: datetime) -> list[Event]:
        events: list[Event] = list(self._buckets.close_before(now))
        if not events and (snap := self._buckets.baseline_due()) is not None:
            events.append(self._baseline_event(snap))
        return events

    def flush(self) -> list[Event]:
        """Every open minute's counts, and the baseline if it moved since last sent."""
        events: list[Event] = list(self._buckets.flush())
        if not events and (snap := self._buckets.baseline_due(force=True)) is not None:
            events.append(self._baseline_event(snap))
        return events

    def _baseline_event(self, snap: Snapshot) -> CounterBaseline:
        return CounterBaseline(machine_id=self.machine.machine_id, good_raw=snap.good_raw,
                               reject_raw=snap.reject_raw, at=snap.at)

    def status(self) -> MachineStatus:
        reading = self._reading
        last = self._states
        return MachineStatus(
            machine_id=self.machine.machine_id,
            protocol=self.machine.protocol,
            state=last.state,
            raw_code=reading.state_code if reading and last.state is not MachineState.NO_DATA else None,
            alarm_code=reading.alarm_code if reading and last.state is not MachineState.NO_DATA else None,
            last_ok=self._health.last_ok,
            last_error=self._health.last_error,
            error_code=self._health.error_code,
            good_raw=self._good.last,
            reject_raw=self._reject.last,
            good_total=self._good_total,
            reject_total=self._reject_total,
            polls=self._polls,
            read_errors=self._health.failures,
        )
