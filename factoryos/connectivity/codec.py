"""Modbus register codec: 16-bit registers ⇄ numbers for each data type and byte/word order.

pymodbus converts with a selectable word order; byte order inside a register is
handled here by swapping the two bytes of every register (the "BADC"/"DCBA" layouts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pymodbus.client.mixin import ModbusClientMixin

from factoryos.connectivity.machine_config import DataType, ModbusSignal, Order

_DATATYPE = ModbusClientMixin.DATATYPE
_PYMODBUS_TYPE = {
    DataType.UINT16: _DATATYPE.UINT16,
    DataType.INT16: _DATATYPE.INT16,
    DataType.UINT32: _DATATYPE.UINT32,
    DataType.INT32: _DATATYPE.INT32,
    DataType.UINT64: _DATATYPE.UINT64,
    DataType.FLOAT32: _DATATYPE.FLOAT32,
    DataType.FLOAT64: _DATATYPE.FLOAT64,
}
_FLOATS = (DataType.FLOAT32, DataType.FLOAT64)

# Counter wrap-around happens at the raw width; signed counters wrap like unsigned ones.
COUNTER_MODULUS: dict[DataType, int | None] = {
    DataType.UINT16: 1 << 16,
    DataType.INT16: 1 << 16,
    DataType.UINT32: 1 << 32,
    DataType.INT32: 1 << 32,
    DataType.UINT64: 1 << 64,
    DataType.FLOAT32: None,
    DataType.FLOAT64: None,
}


def _swap_bytes(registers: Sequence[int]) -> list[int]:
    return [((r & 0xFF) << 8) | (r >> 8) for r in registers]


def decode(
    registers: Sequence[int], data_type: DataType, byte_order: Order = "big", word_order: Order = "big"
) -> int | float:
    """Registers (exactly `data_type.registers` of them) → number."""
    if len(registers) != data_type.registers:
        raise ValueError(f"{data_type.value} needs {data_type.registers} registers, got {len(registers)}")
    regs = _swap_bytes(registers) if byte_order == "little" else list(registers)
    value = ModbusClientMixin.convert_from_registers(regs, _PYMODBUS_TYPE[data_type], word_order=word_order)
    assert isinstance(value, int | float)
    return value


def encode(value: int | float, data_type: DataType, byte_order: Order = "big", word_order: Order = "big") -> list[int]:
    """Number → registers; the inverse of `decode` (used by the simulator and tests)."""
    if data_type not in _FLOATS:
        value = int(value)
    regs = ModbusClientMixin.convert_to_registers(value, _PYMODBUS_TYPE[data_type], word_order=word_order)
    return _swap_bytes(regs) if byte_order == "little" else regs


def decode_signal(raw: Sequence[int] | Sequence[bool], signal: ModbusSignal) -> int | float:
    """A signal's raw registers (or bit) → unscaled number."""
    if signal.register_type.is_bit:
        return int(bool(raw[0]))
    if signal.bit is not None:  # one flag of a status word, numbered on the register as decoded
        register = _swap_bytes([int(raw[0])])[0] if signal.byte_order == "little" else int(raw[0])
        return (register >> signal.bit) & 1
    return decode([int(r) for r in raw], signal.data_type, signal.byte_order, signal.word_order)


def decode_code(raw: Sequence[int] | Sequence[bool], signal: ModbusSignal) -> int:
    """A status or alarm code: scaled and rounded to an integer."""
    value = decode_signal(raw, signal) * signal.scale
    if not math.isfinite(value):
        raise ValueError(f"code register at {signal.address} is not a finite number")
    return round(value)


def decode_counter(raw: Sequence[int] | Sequence[bool], signal: ModbusSignal) -> int:
    """A counter's raw (unscaled) value, normalised to 0 ≤ value < modulus for integer types."""
    value = decode_signal(raw, signal)
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"counter register at {signal.address} holds {value}")
        return int(value)
    modulus = COUNTER_MODULUS[signal.data_type]
    return value % modulus if modulus else value
