"""Modbus data types plants meet beyond 16/32 bits (issue 20): a 64-bit counter, a signed 16-bit
counter, one bit of a status word and a 64-bit float alarm code, read from a real Modbus TCP
server on loopback with the poller's own driver."""

from __future__ import annotations

import pytest

from factoryos.connectivity.codec import encode
from factoryos.connectivity.machine_config import DataType, ModbusEndpoint, ModbusMachine, ModbusSignal, ModbusSignals
from factoryos.connectivity.probe import read_once
from tests.connectivity.support import free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

GOOD = 2**40 + 7  # past what 32 bits hold: a 64-bit counter that never wraps in a machine's life
STATUS_WORD = 0b0000_0000_0010_0100  # bit 2 "fault", bit 5 "running" of the PLC's status word


async def test_wide_signed_bit_and_double_signals_read_exactly() -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType as SimDataType
    from pymodbus.simulator import SimData, SimDevice

    image = (encode(GOOD, DataType.UINT64) + encode(-2, DataType.INT16) + [STATUS_WORD]
             + encode(12.0, DataType.FLOAT64, "big", "little"))
    port = free_port()
    server = ModbusTcpServer([SimDevice(id=1, simdata=[SimData(0, values=image, datatype=SimDataType.REGISTERS)])],
                             address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    try:
        machine = ModbusMachine(
            protocol="modbus", machine_id="press-64", endpoint=ModbusEndpoint(host="127.0.0.1", port=port),
            signals=ModbusSignals(
                good=ModbusSignal(address=0, data_type=DataType.UINT64),
                reject=ModbusSignal(address=4, data_type=DataType.INT16),
                state=ModbusSignal(address=5, bit=5),
                alarm=ModbusSignal(address=6, data_type=DataType.FLOAT64, word_order="little")))
        reading = await read_once(machine)
        fault = await read_once(machine.model_copy(update={"signals": machine.signals.model_copy(
            update={"state": ModbusSignal(address=5, bit=2)})}))
        idle = await read_once(machine.model_copy(update={"signals": machine.signals.model_copy(
            update={"state": ModbusSignal(address=5, bit=4)})}))
    finally:
        await server.shutdown()
    assert reading.good.raw == GOOD
    assert reading.reject.raw == 2**16 - 2  # a signed counter past its top continues upwards
    assert (reading.state_code, fault.state_code, idle.state_code) == (1, 1, 0)
    assert reading.alarm_code == 12
