"""The poller: one schedule per machine, shared sessions per endpoint.

Each machine's loop polls, turns the reading into events, then sleeps until its next
slot: the next poll is armed only after the previous one finished, so one machine never
has two polls in flight (an overrun delays, it does not pile up). Slots lie on a grid
per endpoint (`schedule.next_slot`), which keeps batches whole.
Events go to `emit` (normally `Forwarder.submit`), which must not block.

`update` swaps the set of machines while running: only machines whose settings changed
are restarted; connections nobody uses any more are closed. A restarted machine keeps each
counter's baseline when that counter is still read from the same place (endpoint, register
or node, type), so no part is lost to a settings change; a counter read from elsewhere is a
replaced counter and starts from a new baseline. Machines added may be given stored
baselines (`update(..., baselines=…)`) to count from after a restart of the process.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.driver import Driver
from factoryos.connectivity.endpoint import EndpointSession
from factoryos.connectivity.errors import ConnectivityError
from factoryos.connectivity.events import Event
from factoryos.connectivity.machine_config import ModbusMachine, MqttMachine, OpcUaMachine
from factoryos.connectivity.monitor import SIGNALS, MachineMonitor, MachineStatus, counter_source
from factoryos.connectivity.schedule import PollTiming, next_slot, stable_offset

log = logging.getLogger(__name__)

Machine = ModbusMachine | OpcUaMachine | MqttMachine
Emit = Callable[[Sequence[Event]], None]
Baselines = Mapping[str, Mapping[str, StoredCounter]]  # machine id → signal → stored counter


@dataclass(frozen=True, slots=True)
class PollerSettings:
    backoff_initial: float = 0.5
    backoff_cap: float = 30.0
    coalesce_window: float = 0.02
    batch_timeout: float = 60.0
    health_heartbeat: float = 60.0
    count_partial_every: float | None = 5.0  # s between deltas of the current minute (live counts)
    modbus_max_gap: int = 8
    opcua_max_nodes_per_read: int = 10_000
    late_after: float = 0.1  # a poll starting later than this after its schedule counts as late


@dataclass(frozen=True, slots=True)
class PollerChanges:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.restarted)


def make_driver(machine: Machine, settings: PollerSettings) -> Driver[Any]:
    """A driver for the endpoint `machine` is reached through (shared with the machines on it).

    Each protocol's library (asyncua, pymodbus) loads with its first machine, not with
    every server: a plant without OPC-UA machines never pays for asyncua's start."""
    if isinstance(machine, ModbusMachine):
        from factoryos.connectivity.modbus_driver import ModbusDriver

        ep = machine.endpoint
        return ModbusDriver(ep.host, ep.port, timeout=ep.timeout, max_gap=settings.modbus_max_gap)
    if isinstance(machine, MqttMachine):
        from factoryos.connectivity.mqtt_driver import MqttDriver

        return MqttDriver(machine.endpoint)
    from factoryos.connectivity.opcua_driver import OpcUaDriver

    return OpcUaDriver(machine.endpoint, max_nodes_per_read=settings.opcua_max_nodes_per_read)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Poller:
    def __init__(
        self,
        machines: Sequence[Machine],
        emit: Emit,
        *,
        settings: PollerSettings | None = None,
        run_id: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        ids = [m.machine_id for m in machines]
        if len(set(ids)) != len(ids):
            raise ValueError("machine ids must be unique")
        self.settings = settings or PollerSettings()
        # Part of every CountDelta key: keeps keys unique across restarts of the process.
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.timing = PollTiming()
        self._emit = emit
        self._clock = clock
        self._monitors: dict[str, MachineMonitor] = {}
        self.sessions: dict[Any, EndpointSession] = {}
        self._session_of: dict[str, EndpointSession] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False
        for m in machines:
            self._add(m)

    def _driver(self, machine: Machine) -> Driver[Any]:
        return make_driver(machine, self.settings)

    @property
    def machines(self) -> dict[str, Machine]:
        return {mid: monitor.machine for mid, monitor in self._monitors.items()}

    def _add(self, machine: Machine, baselines: Mapping[str, StoredCounter] | None = None) -> None:
        mid = machine.machine_id
        monitor = MachineMonitor(machine, self.run_id, health_heartbeat=self.settings.health_heartbeat,
                                 count_partial_every=self.settings.count_partial_every, baselines=baselines)
        self._monitors[mid] = monitor
        key = machine.endpoint.key
        if key not in self.sessions:
            self.sessions[key] = EndpointSession(
                machine.endpoint.label,
                self._driver(machine),
                Backoff(self.settings.backoff_initial, self.settings.backoff_cap),
                coalesce_window=self.settings.coalesce_window,
                batch_timeout=self.settings.batch_timeout,
            )
        self._session_of[mid] = self.sessions[key]
        if self._started:
            self._tasks[mid] = asyncio.create_task(self._loop(monitor), name=f"poll {mid}")

    async def _remove(self, machine_id: str) -> None:
        task = self._tasks.pop(machine_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        monitor = self._monitors.pop(machine_id)
        session = self._session_of.pop(machine_id)
        if deltas := monitor.flush():
            self._emit(deltas)
        if all(other is not session for other in self._session_of.values()):
            key = monitor.machine.endpoint.key
            del self.sessions[key]
            await session.close()

    async def update(self, machines: Sequence[Machine], baselines: Baselines | None = None) -> PollerChanges:
        """Poll exactly these machines from now on; unchanged ones keep running undisturbed.

        `baselines`: stored counter values for machines added now (restarted ones carry their own)."""
        wanted = {m.machine_id: m for m in machines}
        if len(wanted) != len(machines):
            raise ValueError("machine ids must be unique")
        current = self.machines
        removed = [mid for mid in current if mid not in wanted]
        restarted = [mid for mid, m in wanted.items() if mid in current and current[mid] != m]
        added = [mid for mid in wanted if mid not in current]
        old = {mid: self._monitors[mid] for mid in restarted}
        for mid in removed + restarted:
            await self._remove(mid)
        for mid in restarted:
            kept, before, after = old[mid].baselines(), old[mid].machine, wanted[mid]
            self._add(after, {s: kept[s] for s in SIGNALS
                              if s in kept and counter_source(before, s) == counter_source(after, s)})
        for mid in added:
            self._add(wanted[mid], (baselines or {}).get(mid))
        changes = PollerChanges(tuple(added), tuple(removed), tuple(restarted))
        if changes:
            log.info("poller now has %d machines (%d added, %d removed, %d restarted)",
                     len(self._monitors), len(added), len(removed), len(restarted))
        return changes

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("poller already started")
        self._started = True
        self._tasks = {
            mid: asyncio.create_task(self._loop(monitor), name=f"poll {mid}") for mid, monitor in self._monitors.items()
        }
        log.info("polling %d machines on %d endpoints", len(self._monitors), len(self.sessions))

    async def stop(self) -> None:
        """Stop polling, close connections and emit every open count bucket."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = {}
        self._started = False
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
        self.flush()

    def flush(self) -> None:
        """Emit the counts of every open minute now (they would otherwise wait for the minute to end)."""
        events: list[Event] = [d for m in self._monitors.values() for d in m.flush()]
        if events:
            self._emit(events)

    def follow_runs(self, seconds_per_part: Mapping[str, float]) -> None:
        """Bound each machine's counts by its running operation's standard (machine id → seconds per part;
        absent: the machine's own). Set in place, not a restart: baselines and open minutes stay."""
        for mid, monitor in self._monitors.items():
            monitor.follow_run(seconds_per_part.get(mid))

    def ideal_cycle_time(self, machine_id: str) -> float | None:
        return self._monitors[machine_id].ideal_cycle_time

    def status(self, machine_id: str) -> MachineStatus:
        return self._monitors[machine_id].status()

    def statuses(self) -> list[MachineStatus]:
        return [m.status() for m in self._monitors.values()]

    async def _loop(self, monitor: MachineMonitor) -> None:
        loop = asyncio.get_running_loop()
        machine = monitor.machine
        session = self._session_of[machine.machine_id]
        phase = stable_offset(session.label, machine.poll_interval)
        due = loop.time()  # the first poll at once, the next ones on the endpoint's grid
        while True:
            started = loop.time()
            self.timing.record(started - due, self.settings.late_after)
            try:
                await self._poll_once(monitor, session)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad reading end a machine's schedule
                log.exception("polling %s failed", machine.machine_id)
            due = next_slot(due, loop.time(), machine.poll_interval, phase)
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _poll_once(self, monitor: MachineMonitor, session: EndpointSession) -> None:
        try:
            reading = await session.read(monitor.machine)
        except ConnectivityError as exc:
            events = monitor.on_failure(exc, self._clock())
        else:
            events = monitor.on_reading(reading, self._clock())
        events.extend(monitor.close_minutes(self._clock()))
        if events:
            self._emit(events)
