"""A Modbus TCP server (pymodbus) holding the registers of many simulated machines.

Machines are packed 100 per unit id, 8 registers apart (good counter, reject counter,
status code, alarm code), so 1,000 machines fit in units 1–10. Register encodings vary
by machine to exercise every decoder path, and every fifth machine has 16-bit counters
that wrap. Holding and input registers share the same memory.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimDataType
from pymodbus.simulator import SimData, SimDevice

from factoryos.connectivity.codec import encode
from factoryos.connectivity.machine_config import (
    DataType,
    ModbusEndpoint,
    ModbusMachine,
    ModbusSignal,
    ModbusSignals,
    Order,
    RegisterType,
)
from factoryos.connectivity.simulator.machine import SIM_STATUS_MAP, SimMachine

log = logging.getLogger(__name__)

MACHINES_PER_UNIT = 100
STRIDE = 8
MAX_MACHINES = 247 * MACHINES_PER_UNIT


@dataclass(frozen=True, slots=True)
class RegisterLayout:
    unit_id: int
    base: int
    register: RegisterType
    counter_type: DataType
    byte_order: Order
    word_order: Order

    @staticmethod
    def for_index(index: int) -> RegisterLayout:
        variant = index % 5
        counter_type, byte_order, word_order, register = (
            (DataType.UINT16, "big", "big", RegisterType.HOLDING),  # 16-bit counters: wrap at 65,535
            (DataType.UINT32, "big", "little", RegisterType.HOLDING),  # "CDAB" word swap
            (DataType.UINT32, "big", "big", RegisterType.INPUT),
            (DataType.INT32, "little", "big", RegisterType.HOLDING),  # "BADC" byte swap
            (DataType.UINT32, "big", "big", RegisterType.HOLDING),
        )[variant]
        return RegisterLayout(
            unit_id=1 + index // MACHINES_PER_UNIT,
            base=(index % MACHINES_PER_UNIT) * STRIDE,
            register=register,
            counter_type=counter_type,
            byte_order=byte_order,  # type: ignore[arg-type]
            word_order=word_order,  # type: ignore[arg-type]
        )

    @property
    def counter_bits(self) -> int:
        return 16 if self.counter_type is DataType.UINT16 else 32

    def registers(self, good: int, reject: int, code: int, alarm: int) -> list[int]:
        def counter(value: int) -> list[int]:
            if self.counter_type is DataType.INT32 and value >= 1 << 31:
                value -= 1 << 32  # the PLC's signed counter went negative after 2^31 - 1
            regs = encode(value, self.counter_type, self.byte_order, self.word_order)
            return regs + [0] * (2 - len(regs))

        return counter(good) + counter(reject) + [code & 0xFFFF, alarm & 0xFFFF]

    def signals(self) -> ModbusSignals:
        def counter(offset: int) -> ModbusSignal:
            return ModbusSignal(
                register_type=self.register,
                address=self.base + offset,
                data_type=self.counter_type,
                byte_order=self.byte_order,
                word_order=self.word_order,
            )

        def code(offset: int) -> ModbusSignal:
            return ModbusSignal(register_type=self.register, address=self.base + offset, data_type=DataType.UINT16)

        return ModbusSignals(good=counter(0), reject=counter(2), state=code(4), alarm=code(5))


class SimModbusServer:
    def __init__(self, machines: Sequence[SimMachine], host: str, port: int) -> None:
        if len(machines) > MAX_MACHINES:
            raise ValueError(f"at most {MAX_MACHINES} Modbus machines")
        self.host, self.port = host, port
        self.machines = list(machines)
        self.layouts = {m.machine_id: RegisterLayout.for_index(i) for i, m in enumerate(machines)}
        self._unreachable: dict[int, set[int]] = {}
        self._refused: dict[int, set[int]] = {}
        self._units = sorted({layout.unit_id for layout in self.layouts.values()})
        self._server: ModbusTcpServer | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        # Registers start from the machines' current values: a client must never see a
        # zeroed window (it would look like a PLC counter reset).
        server = ModbusTcpServer(self._devices(), address=(self.host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        log.info("Modbus simulator on %s:%d with %d machines", self.host, self.port, len(self.machines))

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()

    def _devices(self) -> list[SimDevice]:
        images = {unit: [0] * (MACHINES_PER_UNIT * STRIDE) for unit in self._units}
        for machine in self.machines:
            layout = self.layouts[machine.machine_id]
            regs = layout.registers(*machine.values())
            images[layout.unit_id][layout.base : layout.base + len(regs)] = regs
        return [
            SimDevice(
                id=unit,
                simdata=[SimData(0, values=image, datatype=SimDataType.REGISTERS)],
                action=functools.partial(self._gatekeeper, unit),
            )
            for unit, image in images.items()
        ]

    async def publish(self, machine: SimMachine) -> None:
        layout = self.layouts[machine.machine_id]
        unreachable = self._unreachable.setdefault(layout.unit_id, set())
        slot = layout.base // STRIDE
        if machine.reachable:
            unreachable.discard(slot)
        else:
            unreachable.add(slot)
        if self._server is not None:
            await self._server.async_setValues(layout.unit_id, 16, layout.base, layout.registers(*machine.values()))

    def refuse(self, unit_id: int, addresses: set[int]) -> None:
        """Answer reads touching these registers with 'illegal data address', like a PLC without them."""
        self._refused[unit_id] = set(addresses)

    async def write_registers(self, unit_id: int, address: int, values: list[int]) -> None:
        """Put raw values into registers no simulated machine owns (a counter moved elsewhere)."""
        assert self._server is not None, "start the server first"
        await self._server.async_setValues(unit_id, 16, address, values)

    async def _gatekeeper(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """Answer reads that touch an unreachable machine like a gateway whose PLC is gone."""
        if set_values is not None:
            return None
        if self._refused.get(unit, set()) & set(range(address, address + count)):
            return ExcCodes.ILLEGAL_ADDRESS
        slots = self._unreachable.get(unit)
        if slots and any(s in slots for s in range(address // STRIDE, (address + count - 1) // STRIDE + 1)):
            return ExcCodes.GATEWAY_NO_RESPONSE
        return None

    def machine_config(self, machine: SimMachine, *, poll_interval: float = 1.0) -> ModbusMachine:
        layout = self.layouts[machine.machine_id]
        return ModbusMachine(
            protocol="modbus",
            machine_id=machine.machine_id,
            name=f"Simulated {machine.machine_id}",
            poll_interval=poll_interval,
            ideal_cycle_time=machine.ideal_cycle_time,
            status_map=SIM_STATUS_MAP,
            endpoint=ModbusEndpoint(host=self.host, port=self.port, unit_id=layout.unit_id),
            signals=layout.signals(),
        )
