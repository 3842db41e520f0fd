"""Runs N simulated machines behind one OPC-UA server and/or one Modbus TCP server.

Deterministic: each machine draws from its own `random.Random(f"{seed}:{index}")`, and
time advances in fixed ticks (`tick` real seconds = `tick × speed` simulated seconds).
With `tick=None` nothing moves unless a test calls `advance`, `set_counters`,
`force_state` or `set_reachable`, which publish at once.

`speed` runs everything faster, cycles included: the machines then make parts `speed` times faster
than their own ideal cycle time (load tests), so the settings they export give the cycle as it
runs in real time (`ideal_cycle_time / speed`): a poller registered from them rates the parts
against the rate they really come at. `pace` runs only the machines' runs and stops faster
(see `SimMachine`): parts still come at most at the ideal rate, so OEE stays a real figure.

`retain`: a file that keeps the counters across restarts, as a PLC's retentive memory does
(see `retentive`): read at construction, written every `retain_every` seconds while ticking
and when the simulator is held or stopped. Nothing is made while it is stopped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

from factoryos.connectivity.machine_config import ModbusMachine, OpcUaMachine, OpcUaSecurity
from factoryos.connectivity.simulator import retentive
from factoryos.connectivity.simulator.machine import SimMachine
from factoryos.connectivity.simulator.modbus_server import RegisterLayout, SimModbusServer
from factoryos.connectivity.simulator.opcua_server import OpcUaServerSecurity, SimOpcUaServer

log = logging.getLogger(__name__)

SimProtocol = Literal["opcua", "modbus", "both"]


class Simulator:
    def __init__(
        self,
        machines: int,
        *,
        protocol: SimProtocol = "both",
        seed: int = 0,
        host: str = "127.0.0.1",
        opcua_port: int = 4840,
        modbus_port: int = 5020,
        tick: float | None = 1.0,
        speed: float = 1.0,
        pace: float = 1.0,
        opcua_security: OpcUaServerSecurity | None = None,
        id_prefix: str = "SIM",
        retain: Path | None = None,
        retain_every: float = 5.0,
    ) -> None:
        if machines < 1:
            raise ValueError("simulate at least one machine")
        if protocol not in ("opcua", "modbus", "both"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self.seed, self.tick, self.speed = seed, tick, speed
        self.machines: list[SimMachine] = []
        opcua_machines: list[SimMachine] = []
        modbus_machines: list[SimMachine] = []
        for index in range(machines):
            kind = protocol if protocol != "both" else ("opcua" if index % 2 == 0 else "modbus")
            rng = random.Random(f"{seed}:{index}")
            machine_id = f"{id_prefix}-{index + 1:04d}"
            if kind == "modbus":
                bits = RegisterLayout.for_index(len(modbus_machines)).counter_bits
                machine = SimMachine(machine_id, "modbus", rng, counter_bits=bits, pace=pace)
                modbus_machines.append(machine)
            else:
                machine = SimMachine(machine_id, "opcua", rng, pace=pace)
                opcua_machines.append(machine)
            self.machines.append(machine)
        self._by_id = {m.machine_id: m for m in self.machines}
        self.retain, self.retain_every = retain, retain_every
        self.resumed = 0  # machines whose counters came from `retain`
        if retain is not None:
            self.resumed = retentive.restore(retain, self.machines)
            log.info("%d of %d simulated PLCs resumed their counters from %s", self.resumed, machines, retain)
        self.opcua = (
            SimOpcUaServer(opcua_machines, host, opcua_port, security=opcua_security) if opcua_machines else None
        )
        self.modbus = SimModbusServer(modbus_machines, host, modbus_port) if modbus_machines else None
        self._ticker: asyncio.Task[None] | None = None

    def machine(self, machine_id: str) -> SimMachine:
        return self._by_id[machine_id]

    async def start(self) -> None:
        if self.opcua:
            await self.opcua.start()
        if self.modbus:
            await self.modbus.start()
        if self.tick is not None:
            self._ticker = asyncio.create_task(self._run(self.tick), name="simulator ticks")

    async def hold(self) -> None:
        """Stop time (the PLCs keep publishing what they hold) and keep the counters."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        self._retain()

    async def stop(self) -> None:
        await self.hold()
        if self.modbus:
            await self.modbus.stop()
        if self.opcua:
            await self.opcua.stop()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _run(self, tick: float) -> None:
        kept = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            await self.advance(tick * self.speed)
            if time.monotonic() - kept >= self.retain_every:
                self._retain()
                kept = time.monotonic()

    def _retain(self) -> None:
        if self.retain is None:
            return
        try:
            retentive.save(self.retain, self.machines)
        except OSError as exc:  # a full disk must not stop the PLCs; the last file written stays
            log.warning("simulated PLC counters not kept in %s: %s", self.retain, exc)

    async def advance(self, seconds: float) -> None:
        """Move every machine `seconds` of simulated time forward and publish."""
        for machine in self.machines:
            machine.step(seconds)
            await self._publish(machine)

    async def set_counters(self, machine_id: str, *, good: int | None = None, reject: int | None = None,
                           at: datetime | None = None) -> None:
        """Overwrite the PLC counters (a reset is `good=0, reject=0`). `at`: the OPC-UA
        SourceTimestamp of the change (default now), as a PLC stamps what it counted."""
        machine = self._by_id[machine_id]
        if good is not None:
            machine.good = good
        if reject is not None:
            machine.reject = reject
        await self._publish(machine, at)

    async def force_state(self, machine_id: str, code: int, alarm: int = 0, *, at: datetime | None = None) -> None:
        machine = self._by_id[machine_id]
        machine.force(code, alarm)
        await self._publish(machine, at)

    async def release_state(self, machine_id: str) -> None:
        self._by_id[machine_id].release()

    async def set_reachable(self, machine_id: str, reachable: bool) -> None:
        """Make one machine unreadable (as if its PLC dropped off the gateway) or bring it back."""
        machine = self._by_id[machine_id]
        machine.reachable = reachable
        await self._publish(machine)

    async def _publish(self, machine: SimMachine, at: datetime | None = None) -> None:
        if machine.protocol == "opcua":
            if self.opcua is not None:
                await self.opcua.publish(machine, at)
        elif self.modbus is not None:
            await self.modbus.publish(machine)

    def machine_configs(
        self, *, poll_interval: float = 1.0, opcua_client_security: OpcUaSecurity | None = None
    ) -> list[ModbusMachine | OpcUaMachine]:
        """Connection settings for every simulated machine, ready for the poller."""
        configs: list[ModbusMachine | OpcUaMachine] = []
        for machine in self.machines:
            if machine.protocol == "opcua":
                assert self.opcua is not None
                configs.append(
                    self.opcua.machine_config(
                        machine, poll_interval=poll_interval, client_security=opcua_client_security
                    )
                )
            else:
                assert self.modbus is not None
                configs.append(self.modbus.machine_config(machine, poll_interval=poll_interval))
        if self.speed != 1:
            configs = [c if c.ideal_cycle_time is None else
                       c.model_copy(update={"ideal_cycle_time": round(c.ideal_cycle_time / self.speed, 6)})
                       for c in configs]
        return configs
