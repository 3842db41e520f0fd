"""Everything the poller knows about one machine: counters, state, buckets, health.

Counts: each reading's parts go to the bucket of its minute, or, when the reading closes a
gap (the machine could not be read, or the poller restarted from a stored baseline, or polls
were missed), are spread over the minutes since the previous good reading in proportion to
time, so no minute shows more than the machine could make. A delta above the plausibility
bound is not counted: it becomes a `CounterAnomaly` (after the open buckets are flushed, so
the anomaly can carry its counter's new baseline safely); when both counters went down in that
reading, the other counter's delta is held as an anomaly too (see `counters`: a suspect reset).
A drop of one counter alone waits (`_Drop`) for the other's next reading, within the grace, since
the other's drop may come in a later reading: its parts are counted, or become an anomaly, then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from factoryos.connectivity.buckets import MinuteBuckets, Snapshot, spread
from factoryos.connectivity.counters import SUSPECT_GRACE, CounterTracker, StoredCounter, parts_bound, plausible_step
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


@dataclass(slots=True)
class _Parts:
    """Parts one reading found on one counter, and where they go: the reading's minute, or spread
    over the time since the previous good reading when it closed a gap."""

    signal: Signal
    parts: int
    since: datetime | None
    at: datetime
    gap: bool

    def minutes(self) -> dict[datetime, int]:
        if self.gap and self.since is not None:
            return spread(self.since, self.at, self.parts)
        return spread(self.at, self.at, self.parts)


@dataclass(slots=True)
class _Drop:
    """One counter went down while the other did not. Until the other is read again (within the
    grace) a drop of the other would make it a suspect reset: meanwhile a plausible drop's parts,
    and the counter's parts after it, wait in `held`. An impossible drop is an anomaly already."""

    claim: _Claim
    at: datetime
    other_raw: int
    held: list[_Parts]

    @property
    def anomaly(self) -> bool:
        return not self.held


def _other(signal: Signal) -> Signal:
    return "reject" if signal == "good" else "good"


class MachineMonitor:
    def __init__(self, machine: ModbusMachine | OpcUaMachine | MqttMachine, run_id: str, *, health_heartbeat: float = 60.0,
                 count_partial_every: float | None = None,
                 baselines: Mapping[str, StoredCounter] | None = None, suspect_grace: float = SUSPECT_GRACE) -> None:
        """`baselines`: stored counter values (by signal) to count the first reading from.
        `suspect_grace`: seconds a lone drop of one counter waits for the other's (0: no wait)."""
        self.machine = machine
        mid = machine.machine_id
        stored = baselines or {}
        self._good = CounterTracker(_scale(machine.signals.good), stored.get("good"))
        self._reject = CounterTracker(_scale(machine.signals.reject), stored.get("reject"))
        self._gap = bool(stored)  # the next reading closes a gap: spread its parts over it
        self._latest: Snapshot | None = None  # both baselines as of the last reading (what is safe to store)
        self._plain: Snapshot | None = None  # the same without a waiting drop held back
        self._drop: _Drop | None = None
        self._grace = suspect_grace
        # MQTT readings hold the values last published, not values read from the PLC at the poll: a
        # counter counts as read again only when a new value arrives, as with a subscription.
        self._polled = not isinstance(machine, MqttMachine)
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
        anomalies, released, settled = self._pair_drops(claims, held, at, pushed=pushed, gap=gap)
        counted: list[_Parts] = []
        for c in claims:
            if c.signal in settled:
                continue
            if c.signal in held:
                anomalies.append(self._anomaly(c.signal, c.previous, c.raw, c.parts, c.allowed, at))
            elif c.parts:
                counted.append(_Parts(c.signal, c.parts, c.since, at, gap))
        if released:
            # Parts of earlier readings: they go before any anomaly, with the baseline that includes them.
            self._count(released, before)
            if self._plain is not None:
                self._buckets.note(self._plain)
        if anomalies:
            events.extend(self._buckets.flush())  # the parts before it go first: then its baseline is safe
            anomalies.sort(key=lambda a: SIGNALS.index(a.signal))
            events.extend(anomalies)
        self._count(counted, before)
        self._reading = reading
        self._latest = self._snapshot()
        self._plain = self._snapshot(plain=True) if self._drop is not None else self._latest
        if self._latest is not None:
            self._buckets.note(self._latest)
        state_code = self._state_band.apply(reading.state_code)
        alarm_code = None if reading.alarm_code is None else self._alarm_band.apply(reading.alarm_code)
        if change := self._states.observe(state_code, alarm_code, at):
            events.append(change)
        if health := self._health.ok(at):
            events.append(health)
        return events

    def _pair_drops(self, claims: list[_Claim], held: set[Signal], at: datetime, *, pushed: bool,
                    gap: bool) -> tuple[list[CounterAnomaly], list[_Parts], set[Signal]]:
        """A suspect reset across readings: settle the drop waiting for the other counter, or start
        one. Adds the claims to hold to `held`; returns the anomalies made here, the parts released
        (of earlier readings) and the claims of this reading taken (held back or joined)."""
        by = {c.signal: c for c in claims}
        anomalies: list[CounterAnomaly] = []
        released: list[_Parts] = []
        settled: set[Signal] = set()  # claims of this reading the waiting drop took
        paired = False  # this reading's drop was the waiting drop's pair, not a lone one
        if (drop := self._drop) is not None:
            x = drop.claim.signal
            cx, cy = by[x], by[_other(x)]
            if (at - drop.at).total_seconds() > self._grace:
                self._drop, released = None, drop.held  # the grace ran out: a lone drop after all
            elif cy.dropped:
                # The other counter went back too, in a later reading than the first one.
                self._drop, paired = None, True
                if drop.anomaly or cx.signal in held or cy.signal in held:
                    if cy.parts:
                        held.add(cy.signal)
                    if not drop.anomaly:
                        anomalies.append(self._joined(drop, cx, at, impossible=cx.signal in held))
                        settled.add(x)
                    elif cx.dropped and cx.parts:
                        held.add(x)
                else:
                    released = drop.held  # both plausible: a genuine reset, counted as it was read
            elif (self._polled and not pushed) or cy.raw != drop.other_raw:
                self._drop, released = None, drop.held  # the other was read again and did not go back
            elif not drop.anomaly and cx.parts:
                settled.add(x)  # still waiting: the counter's parts after its drop wait with it
                if x in held:
                    anomalies.append(self._joined(drop, cx, at, impossible=True))
                    drop.held = []
                else:
                    drop.held.append(_Parts(x, cx.parts, cx.since, at, gap))
        dropped = [c for c in claims if c.dropped]
        if self._drop is None and not paired and self._grace > 0 and len(dropped) == 1:
            lone = dropped[0]
            if lone.signal in held or lone.parts:
                waits = [] if lone.signal in held else [_Parts(lone.signal, lone.parts, lone.since, at, gap)]
                self._drop = _Drop(lone, at, by[_other(lone.signal)].raw, waits)
                if waits:
                    settled.add(lone.signal)
        return anomalies, released, settled

    def _anomaly(self, signal: Signal, previous: StoredCounter | None, raw: int, parts: int, allowed: int | None,
                 at: datetime) -> CounterAnomaly:
        mid = self.machine.machine_id
        return CounterAnomaly(
            machine_id=mid, signal=signal, previous_raw=previous.raw if previous else None, raw=raw,
            previous_at=previous.read_at if previous else None, detected_at=at, delta=parts, allowed=allowed,
            key=f"{mid}|{signal}|{at.isoformat()}|{raw}",
        )

    def _joined(self, drop: _Drop, claim: _Claim, at: datetime, *, impossible: bool) -> CounterAnomaly:
        """A waiting drop turned suspect: one anomaly for all it held and this reading's claim, from
        the value before the drop to this one, detected now (so its baseline is the newest stored)."""
        first = drop.claim
        parts = sum(p.parts for p in drop.held) + claim.parts
        return self._anomaly(first.signal, first.previous, claim.raw, parts,
                             claim.allowed if impossible else first.allowed, at)

    def _count(self, parts: list[_Parts], before: Snapshot | None) -> None:
        minutes: dict[datetime, tuple[int, int]] = {}
        for p in parts:
            for minute, n in p.minutes().items():
                good, reject = minutes.get(minute, (0, 0))
                minutes[minute] = (good + n, reject) if p.signal == "good" else (good, reject + n)
            if p.signal == "good":
                self._good_total += p.parts
            else:
                self._reject_total += p.parts
        self._buckets.add_minutes(minutes, before=before)

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

    def _snapshot(self, *, plain: bool = False) -> Snapshot | None:
        good, reject = self._good.baseline, self._reject.baseline
        if good is None or reject is None or good.read_at != reject.read_at:
            return None  # not both read together yet (stored baselines): nothing new to store
        raws = {"good": good.raw, "reject": reject.raw}
        drop = self._drop
        if not plain and drop is not None and not drop.anomaly and drop.claim.previous is not None:
            # Its parts are not counted yet: store the counter's value from before its drop, so a
            # crash now reads the drop again rather than losing it.
            raws[drop.claim.signal] = drop.claim.previous.raw
        return Snapshot(raws["good"], raws["reject"], good.read_at)

    def close_minutes(self, now: datetime) -> list[Event]:
        events: list[Event] = list(self._buckets.close_before(now))
        if not events and (snap := self._buckets.baseline_due()) is not None:
            events.append(self._baseline_event(snap))
        return events

    def flush(self) -> list[Event]:
        """Every open minute's counts, and the baseline if it moved since last sent. A drop waiting
        for the other counter counts now (a stop must not leave parts behind)."""
        if (drop := self._drop) is not None:
            self._drop = None
            self._count(drop.held, self._latest)
            self._latest = self._plain = self._snapshot()
            if self._latest is not None:
                self._buckets.note(self._latest)
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
