"""The demo's simulated PLCs, running on their own event loop in a background thread.

Their counters are retentive (kept in the demo's data directory): a demo started again resumes
where the last one stopped, so the stored counter baselines still hold and nothing is invented.
They stop for their site's shift breaks (see `breaks`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.connectivity.simulator import Simulator
from factoryos.connectivity.simulator.machine import SimCode, SimMachine
from factoryos.demo.breaks import machines_on_break

DEMO_SEED = 42
FAULT_ALARM = 201  # a breakdown's alarm code (see the simulator's stop kinds)
BREAK_CHECK_SECONDS = 1.0


def _now() -> datetime:
    return datetime.now(UTC)


class SimulatorThread:
    """Start/stop a Simulator from synchronous code (the CLI, tests)."""

    def __init__(self, machines: int, *, opcua_port: int, modbus_port: int, speed: float = 1.0,
                 retain: Path | None = None, clock: Callable[[], datetime] = _now) -> None:
        """`speed`: how many times faster than real life runs, stops, breakdowns and changeovers come
        and go. Cycles keep their real length: parts are never made faster than the ideal cycle time
        the machines are registered with, so performance and OEE stay real figures at any speed, and
        runs at different speeds add up in one shift without re-rating what was made before.

        `retain`: the file that keeps the counters across runs (None: seeded values every run). Kept
        after every tick, so even after a crash it holds no less than the poller can have read: a
        counter that restarted below the stored baseline would be taken for a PLC reset.

        `clock`: the instant the shift breaks are looked up at (tests set it)."""
        self._sim = Simulator(
            machines, protocol="both", seed=DEMO_SEED, opcua_port=opcua_port, modbus_port=modbus_port,
            tick=1.0, pace=speed, retain=retain, retain_every=1.0,
        )
        self._clock = clock
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-simulators", daemon=True)
        # Touched on the simulators' loop only.
        self._on_break: set[int] = set()
        self._faulted: set[int] = set()
        self._breaks: Future[None] | None = None

    @property
    def machines(self) -> list[SimMachine]:
        """The simulated machines, in `machine_codes()` order (read them, don't drive them)."""
        return self._sim.machines

    def start(self, timeout: float = 60) -> list[ModbusMachine | OpcUaMachine]:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._sim.start(), self._loop).result(timeout)
        asyncio.run_coroutine_threadsafe(self._follow_breaks_once(), self._loop).result(10)
        self._breaks = asyncio.run_coroutine_threadsafe(self._follow_breaks(), self._loop)
        return self._sim.machine_configs()

    def fault(self, index: int) -> None:
        """Hold one machine in a fault so the dashboard shows a downtime alert early (after a break
        when its site is on one)."""
        asyncio.run_coroutine_threadsafe(self._fault(index), self._loop).result(10)

    def hold(self) -> None:
        """Stop making parts and keep the counters (the PLCs still answer with what they hold)."""
        if self._thread.is_alive():
            if self._breaks is not None:
                self._breaks.cancel()
            asyncio.run_coroutine_threadsafe(self._sim.hold(), self._loop).result(10)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.hold()
            asyncio.run_coroutine_threadsafe(self._sim.stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _fault(self, index: int) -> None:
        self._faulted.add(index)
        if index not in self._on_break:
            await self._sim.force_state(self._sim.machines[index].machine_id, int(SimCode.FAULT), FAULT_ALARM)

    async def _follow_breaks(self) -> None:
        while True:
            await asyncio.sleep(BREAK_CHECK_SECONDS)
            await self._follow_breaks_once()

    async def _follow_breaks_once(self) -> None:
        """Machines whose site went on a break stop for it (a planned stop); after it they run again,
        or stay in the fault they were held in."""
        machines = self._sim.machines
        now = {i for i in machines_on_break(self._clock()) if i < len(machines)}
        for index in sorted(now - self._on_break):
            await self._sim.force_state(machines[index].machine_id, int(SimCode.PLANNED_STOP))
        for index in sorted(self._on_break - now):
            if index in self._faulted:
                await self._sim.force_state(machines[index].machine_id, int(SimCode.FAULT), FAULT_ALARM)
            else:  # running again at once, then on its own course of runs and stops
                await self._sim.force_state(machines[index].machine_id, int(SimCode.RUNNING))
                await self._sim.release_state(machines[index].machine_id)
        self._on_break = now
