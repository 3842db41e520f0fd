"""Register codec: every data type in every byte/word order round-trips, known layouts decode."""

from __future__ import annotations

import itertools
import math
import struct

import pytest

from factoryos.connectivity.codec import decode, decode_code, decode_counter, encode
from factoryos.connectivity.machine_config import DataType, ModbusSignal, RegisterType

ORDERS = list(itertools.product(["big", "little"], repeat=2))
SAMPLES = {
    DataType.UINT16: [0, 1, 0x1234, 0xFFFF],
    DataType.UINT32: [0, 1, 0x12345678, 65536, 0xFFFFFFFF],
    DataType.INT32: [0, -1, -(2**31), 2**31 - 1, 123456789],
    DataType.FLOAT32: [0.0, -1.5, 3.25, 1234.5, 1e-3],
}


@pytest.mark.parametrize("data_type", list(DataType))
@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
def test_round_trip(data_type: DataType, byte_order: str, word_order: str) -> None:
    for value in SAMPLES[data_type]:
        regs = encode(value, data_type, byte_order, word_order)  # type: ignore[arg-type]
        assert len(regs) == data_type.registers
        assert all(0 <= r <= 0xFFFF for r in regs)
        back = decode(regs, data_type, byte_order, word_order)  # type: ignore[arg-type]
        if data_type is DataType.FLOAT32:
            assert back == pytest.approx(struct.unpack(">f", struct.pack(">f", value))[0])
        else:
            assert back == value


# The four classic layouts of 0x12345678 as a PLC manual would print them.
@pytest.mark.parametrize(
    ("byte_order", "word_order", "registers"),
    [
        ("big", "big", [0x1234, 0x5678]),  # ABCD
        ("big", "little", [0x5678, 0x1234]),  # CDAB
        ("little", "big", [0x3412, 0x7856]),  # BADC
        ("little", "little", [0x7856, 0x3412]),  # DCBA
    ],
)
def test_known_layouts(byte_order: str, word_order: str, registers: list[int]) -> None:
    assert decode(registers, DataType.UINT32, byte_order, word_order) == 0x12345678  # type: ignore[arg-type]
    assert encode(0x12345678, DataType.UINT32, byte_order, word_order) == registers  # type: ignore[arg-type]


def test_float_layout_and_wrong_length() -> None:
    assert decode([0x3FC0, 0x0000], DataType.FLOAT32) == 1.5
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode([1], DataType.UINT32)


def test_signals_scale_and_normalise() -> None:
    temperature_code = ModbusSignal(address=0, data_type=DataType.INT32, scale=0.1)
    assert decode_code(encode(-123, DataType.INT32), temperature_code) == -12
    signed_counter = ModbusSignal(address=0, data_type=DataType.INT32)
    # A signed PLC counter past 2^31 - 1 reads negative; as a counter it continues upwards.
    assert decode_counter(encode(-(2**31), DataType.INT32), signed_counter) == 2**31
    float_counter = ModbusSignal(address=0, data_type=DataType.FLOAT32)
    assert decode_counter(encode(41.9, DataType.FLOAT32), float_counter) == 41
    with pytest.raises(ValueError, match="holds nan"):
        decode_counter(encode(math.nan, DataType.FLOAT32), float_counter)
    coil = ModbusSignal(register_type=RegisterType.COIL, address=3)
    assert decode_code([True], coil) == 1 and decode_code([False], coil) == 0
