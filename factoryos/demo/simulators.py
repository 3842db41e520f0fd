"""The demo's simulated PLCs, running on their own event loop in a background thread."""

from __future__ import annotations

import asyncio
import threading

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine
from factoryos.connectivity.simulator import Simulator
from factoryos.connectivity.simulator.machine import SimCode

DEMO_SEED = 42


class SimulatorThread:
    """Start/stop a Simulator from synchronous code (the CLI, tests)."""

    def __init__(self, machines: int, *, opcua_port: int, modbus_port: int, speed: float = 1.0) -> None:
        self._sim = Simulator(
            machines, protocol="both", seed=DEMO_SEED, opcua_port=opcua_port, modbus_port=modbus_port,
            tick=1.0, speed=speed,
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

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._sim.stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
