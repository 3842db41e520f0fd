"""The poller: one schedule per machine, shared sessions per endpoint.

Each machine's loop polls, turns the reading into events, then sleeps for the rest of
its interval: the next poll is armed only after the previous one finished, so one
machine never has two polls in flight (an overrun delays, it does not pile up).
Events go to `emit` (normally `Forwarder.submit`), which must not block.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.driver import Driver
from factoryos.connectivity.endpoint import EndpointSession
from factoryos.connectivity.errors import ConnectivityError
from factoryos.connectivity.events import Event
from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.connectivity.modbus_driver import ModbusDriver
from factoryos.connectivity.monitor import MachineMonitor, MachineStatus
from factoryos.connectivity.opcua_driver import OpcUaDriver

log = logging.getLogger(__name__)

Machine = ModbusMachine | OpcUaMachine
Emit = Callable[[Sequence[Event]], None]


@dataclass(frozen=True, slots=True)
class PollerSettings:
    backoff_initial: float = 0.5
    backoff_cap: float = 30.0
    coalesce_window: float = 0.02
    batch_timeout: float = 60.0
    health_heartbeat: float = 60.0
    modbus_max_gap: int = 8
    opcua_max_nodes_per_read: int = 10_000


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
        self._emit = emit
        self._clock = clock
        self._monitors = {
            m.machine_id: MachineMonitor(m, self.run_id, health_heartbeat=self.settings.health_heartbeat)
            for m in machines
        }
        self.sessions: dict[Any, EndpointSession] = {}
        self._session_of: dict[str, EndpointSession] = {}
        for m in machines:
            key = m.endpoint.key
            if key not in self.sessions:
                self.sessions[key] = EndpointSession(
                    m.endpoint.label,
                    self._driver(m),
                    Backoff(self.settings.backoff_initial, self.settings.backoff_cap),
                    coalesce_window=self.settings.coalesce_window,
                    batch_timeout=self.settings.batch_timeout,
                )
            self._session_of[m.machine_id] = self.sessions[key]
        self._tasks: list[asyncio.Task[None]] = []

    def _driver(self, machine: Machine) -> Driver[Any]:
        if isinstance(machine, ModbusMachine):
            ep = machine.endpoint
            return ModbusDriver(ep.host, ep.port, timeout=ep.timeout, max_gap=self.settings.modbus_max_gap)
        return OpcUaDriver(machine.endpoint, max_nodes_per_read=self.settings.opcua_max_nodes_per_read)

    async def start(self) -> None:
        if self._tasks:
            raise RuntimeError("poller already started")
        self._tasks = [
            asyncio.create_task(self._loop(monitor), name=f"poll {mid}") for mid, monitor in self._monitors.items()
        ]
        log.info("polling %d machines on %d endpoints", len(self._monitors), len(self.sessions))

    async def stop(self) -> None:
        """Stop polling, close connections and emit every open count bucket."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.gather(*(s.close() for s in self.sessions.values()), return_exceptions=True)
        self.flush()

    def flush(self) -> None:
        """Emit the counts of every open minute now (they would otherwise wait for the minute to end)."""
        events: list[Event] = [d for m in self._monitors.values() for d in m.flush()]
        if events:
            self._emit(events)

    def status(self, machine_id: str) -> MachineStatus:
        return self._monitors[machine_id].status()

    def statuses(self) -> list[MachineStatus]:
        return [m.status() for m in self._monitors.values()]

    async def _loop(self, monitor: MachineMonitor) -> None:
        loop = asyncio.get_running_loop()
        machine = monitor.machine
        session = self._session_of[machine.machine_id]
        while True:
            started = loop.time()
            try:
                await self._poll_once(monitor, session)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad reading end a machine's schedule
                log.exception("polling %s failed", machine.machine_id)
            await asyncio.sleep(max(0.0, machine.poll_interval - (loop.time() - started)))

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
