"""The demo's simulated PLCs, running on their own event loop in a background thread.

Their counters are retentive (kept in the demo's data directory): a demo started again resumes
where the last one stopped, so the stored counter baselines still hold and nothing is invented."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.connectivity.simulator import Simulator
from factoryos.connectivity.simulator.machine import SimCode

DEMO_SEED = 42


class SimulatorThread:
    """Start/stop a Simulator from synchronous code (the CLI, tests)."""

    def __init__(self, machines: int, *, opcua_port: int, modbus_port: int, speed: float = 1.0,
                 retain: Path | None = None) -> None:
        """`retain`: the file that keeps the counters across runs (None: seeded values every run). Kept
        after every tick, so even after a crash it holds no less than the poller can have read: a
        counter that restarted below the stored baseline would be taken for a PLC reset."""
        self._sim = Simulator(
            machines, protocol="both", seed=DEMO_SEED, opcua_port=opcua_port, modbus_port=modbus_port,
            tick=1.0, speed=speed, retain=retain, retain_every=1.0,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-simulators", daemon=True)

    def start(self, timeout: float = 60) -> list[ModbusMachine | OpcUaMachine]:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._sim.start(), self._loop).result(timeout)
        return self._sim.machine_configs()

    def fault(self, index: int) -> None:
        """Hold one machine in a fault so the dashboard shows a downtime alert early."""
        machine_id = self._sim.machines[index].machine_id
        coro = self._sim.force_state(machine_id, int(SimCode.FAULT), 201)
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def hold(self) -> None:
        """Stop making parts and keep the counters (the PLCs still answer with what they hold)."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._sim.hold(), self._loop).result(10)

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._sim.stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
