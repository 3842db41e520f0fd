"""Read planning: merge many small Modbus reads into few contiguous requests.

Modbus allows at most 125 registers (2,000 bits) per read. Signals of one unit and
register type are sorted and merged while the merged span stays under that limit and
the hole between neighbours is at most `max_gap` addresses (reading a few unused
registers is cheaper than another round trip).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from factoryos.connectivity.machine_config import RegisterType

MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass(frozen=True, slots=True)
class SignalSpan:
    """One value to read: `count` registers (or bits) at `address` of a unit."""

    key: Hashable
    unit_id: int
    register: RegisterType
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One Modbus request and the spans it serves."""

    unit_id: int
    register: RegisterType
    address: int
    count: int
    spans: tuple[SignalSpan, ...] = field(default=())

    def slice(self, values: list[int] | list[bool], span: SignalSpan) -> list[int] | list[bool]:
        start = span.address - self.address
        return values[start : start + span.count]


def plan_reads(spans: Iterable[SignalSpan], *, max_gap: int = 8) -> list[ReadBlock]:
    """Group spans into as few requests as the limits allow, in unit/type/address order."""
    if max_gap < 0:
        raise ValueError("max_gap must be ≥ 0")
    groups: dict[tuple[int, RegisterType], list[SignalSpan]] = {}
    for span in spans:
        groups.setdefault((span.unit_id, span.register), []).append(span)

    blocks: list[ReadBlock] = []
    for (unit_id, register), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1].value)):
        limit = MAX_BITS if register.is_bit else MAX_REGISTERS
        members.sort(key=lambda s: (s.address, s.count))
        current: list[SignalSpan] = []
        start = end = 0
        for span in members:
            if span.count > limit:
                raise ValueError(f"a single value of {span.count} registers exceeds the {limit} limit")
            if current and span.address - end <= max_gap and max(end, span.end) - start <= limit:
                current.append(span)
                end = max(end, span.end)
                continue
            if current:
                blocks.append(ReadBlock(unit_id, register, start, end - start, tuple(current)))
            current, start, end = [span], span.address, span.end
        if current:
            blocks.append(ReadBlock(unit_id, register, start, end - start, tuple(current)))
    return blocks
