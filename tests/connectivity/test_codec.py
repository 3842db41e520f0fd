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
    DataType.INT16: [0, -1, -(2**15), 2**15 - 1, 1234],
    DataType.UINT64: [0, 1, 2**32, 0x0123456789ABCDEF, 2**64 - 1],
    DataType.FLOAT64: [0.0, -1.5, 1234567.125, 1e-9],
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
        elif data_type is DataType.FLOAT64:
            assert back == value  # exact: a double holds every sample
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


def test_64_bit_layout_and_wide_counters() -> None:
    # 0x0123456789ABCDEF in four registers, most significant first (ABCD…) and word-swapped.
    assert decode([0x0123, 0x4567, 0x89AB, 0xCDEF], DataType.UINT64) == 0x0123456789ABCDEF
    assert decode([0xCDEF, 0x89AB, 0x4567, 0x0123], DataType.UINT64, "big", "little") == 0x0123456789ABCDEF
    assert decode([0x4000, 0, 0, 0], DataType.FLOAT64) == 2.0
    assert decode([0xFFFF], DataType.INT16) == -1
    # A signed 16-bit counter past 32,767 reads negative; as a counter it continues upwards.
    assert decode_counter(encode(-(2**15), DataType.INT16), ModbusSignal(address=0, data_type=DataType.INT16)) == 2**15
    assert decode_counter(encode(2**64 - 1, DataType.UINT64),
                          ModbusSignal(address=0, data_type=DataType.UINT64)) == 2**64 - 1


def test_one_bit_of_a_status_word() -> None:
    word = [0b0000_0000_0010_0100]  # bits 2 and 5 set
    assert [decode_code(word, ModbusSignal(address=0, bit=b)) for b in (0, 2, 5, 15)] == [0, 1, 1, 0]
    # Byte order applies before the bit is picked: bit 2 of the swapped word is bit 10 as sent.
    assert decode_code([0b0000_0100_0000_0000], ModbusSignal(address=0, bit=2, byte_order="little")) == 1


@pytest.mark.parametrize(("fields", "message"), [
    ({"data_type": "uint32", "bit": 3}, "16-bit"),
    ({"register_type": "coil", "bit": 0}, "16-bit"),
    ({"bit": 16}, "less than or equal to 15"),
])
def test_a_bit_only_of_a_16_bit_register(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModbusSignal(address=0, **fields)


def test_a_counter_is_never_a_bit() -> None:
    from factoryos.connectivity.machine_config import ModbusSignals

    flag = ModbusSignal(address=4, bit=1)
    with pytest.raises(ValueError, match="good is a counter"):
        ModbusSignals(good=flag, reject=ModbusSignal(address=1), state=ModbusSignal(address=2))
    assert ModbusSignals(good=ModbusSignal(address=0), reject=ModbusSignal(address=1), state=flag).state.bit == 1
