"""Read planning: contiguous blocks within the 125-register / 2,000-bit limits and the max gap."""

from __future__ import annotations

import pytest

from factoryos.connectivity.machine_config import RegisterType
from factoryos.connectivity.planner import MAX_REGISTERS, ReadBlock, SignalSpan, plan_reads

H, INP, C = RegisterType.HOLDING, RegisterType.INPUT, RegisterType.COIL


def span(key: str, address: int, count: int = 1, unit: int = 1, reg: RegisterType = H) -> SignalSpan:
    return SignalSpan(key, unit, reg, address, count)


def covered(blocks: list[ReadBlock]) -> set[object]:
    return {s.key for b in blocks for s in b.spans}


def test_neighbours_merge_and_gaps_split() -> None:
    spans = [span("a", 0, 2), span("b", 2, 2), span("c", 4), span("d", 10), span("e", 30)]
    blocks = plan_reads(spans, max_gap=5)
    assert [(b.address, b.count) for b in blocks] == [(0, 11), (30, 1)]
    assert covered(blocks) == {"a", "b", "c", "d", "e"}
    assert [(b.address, b.count) for b in plan_reads(spans, max_gap=0)] == [(0, 5), (10, 1), (30, 1)]


def test_units_and_register_types_never_mix() -> None:
    spans = [span("a", 0), span("b", 1, unit=2), span("c", 2, reg=INP), span("d", 3, unit=2)]
    blocks = plan_reads(spans)
    assert {(b.unit_id, b.register, b.address, b.count) for b in blocks} == {
        (1, H, 0, 1),
        (1, INP, 2, 1),
        (2, H, 1, 3),
    }


def test_register_limit_is_respected() -> None:
    # 100 machines × 8 registers apart, 6 used: one long run split into ≤125-register requests.
    spans = [span(f"m{i}.{j}", i * 8 + j * 2, 2) for i in range(100) for j in range(3)]
    blocks = plan_reads(spans, max_gap=8)
    assert all(b.count <= MAX_REGISTERS for b in blocks)
    assert len(blocks) == 7  # 800 registers / 125, rounded up to whole machines
    assert covered(blocks) == {s.key for s in spans}
    for block in blocks:
        assert block.address == min(s.address for s in block.spans)
        assert block.address + block.count == max(s.end for s in block.spans)


def test_bits_allow_2000_per_request() -> None:
    spans = [span(f"c{i}", i * 3, reg=C) for i in range(1000)]
    blocks = plan_reads(spans, max_gap=8)
    # 0..1998 fits (1,999 bits); the next bit at 2001 would make it 2,002.
    assert [b.count for b in blocks] == [1999, 997]
    assert max(b.count for b in plan_reads([span(f"x{i}", i, reg=C) for i in range(2500)])) == 2000


def test_overlapping_spans_and_slicing() -> None:
    a, b = span("a", 10, 2), span("b", 11, 1)
    (block,) = plan_reads([b, a])
    assert (block.address, block.count) == (10, 2)
    values = [7, 8]
    assert block.slice(values, a) == [7, 8] and block.slice(values, b) == [8]


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        plan_reads([span("a", 0)], max_gap=-1)
    with pytest.raises(ValueError, match="exceeds"):
        plan_reads([span("a", 0, 126)])
