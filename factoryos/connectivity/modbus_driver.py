"""Modbus TCP driver: one connection per host:port, planned block reads for all its machines.

A read plan is valid only for the signal map it was built from: it is cached per set of
machines and rebuilt as soon as any machine's unit, register type, address or width
changes. When a merged block fails, it is split: each machine's part is read again alone,
and when the device refuses an address, each signal alone, so only the machine (and the
signal) at fault reports an error. What failed is then read apart from its neighbours for
a while (`_APART_FOR`), so the others are not slowed by a retry on every poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from factoryos.connectivity.codec import COUNTER_MODULUS, decode_code, decode_counter
from factoryos.connectivity.driver import CounterSample, Reading, machine_label, quiet_library_logs
from factoryos.connectivity.errors import ConnectivityError, EndpointUnavailable, SignalReadFailed, os_reason
from factoryos.connectivity.machine_config import ModbusMachine, ModbusSignal, RegisterType
from factoryos.connectivity.planner import ReadBlock, SignalSpan, plan_reads

log = logging.getLogger(__name__)

_EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    6: "device busy",
    10: "gateway path unavailable",
    11: "gateway target did not respond",
}
# The request itself is at fault (a register the device does not have): worth finding which one.
_ADDRESS_ERRORS = frozenset({2, 3})
_SIGNALS = ("good", "reject", "state", "alarm")
_SIGNAL_WORDS = {"good": "good count", "reject": "reject count", "state": "status", "alarm": "alarm"}
_PLAN_CACHE_SIZE = 8
_APART_FOR = 600.0  # s; then merging is tried again (costs one retry if it still fails)


class _BlockFailed(Exception):
    def __init__(self, reason: str, *, address_error: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.address_error = address_error


@dataclass(slots=True)
class _Plan:
    machines: dict[str, ModbusMachine]
    spans: dict[str, tuple[SignalSpan, ...]]
    apart_version: int
    blocks: list[ReadBlock]


def _spans(machine: ModbusMachine) -> tuple[SignalSpan, ...]:
    spans = []
    for name in _SIGNALS:
        signal: ModbusSignal | None = getattr(machine.signals, name)
        if signal is not None:
            spans.append(
                SignalSpan(
                    key=(machine.machine_id, name),
                    unit_id=machine.endpoint.unit_id,
                    register=signal.register_type,
                    address=signal.address,
                    count=signal.width,
                )
            )
    return tuple(spans)


def _owner(span: SignalSpan) -> str:
    return span.key[0]  # type: ignore[index,no-any-return]


def _where(block: ReadBlock) -> str:
    """'alarm at holding 13' for one signal, 'holding 8–13' for several."""
    last = block.address + block.count - 1
    registers = f"{block.register.value} {block.address}" + (f"–{last}" if last > block.address else "")
    if len(block.spans) == 1:
        return f"{_SIGNAL_WORDS[block.spans[0].key[1]]} at {registers}"  # type: ignore[index]
    return registers


def _counter(raw: list[int] | list[bool], signal: ModbusSignal) -> CounterSample:
    modulus = 2 if signal.register_type.is_bit else COUNTER_MODULUS[signal.data_type]
    return CounterSample(decode_counter(raw, signal), modulus)


def _reading(machine: ModbusMachine, values: dict[Hashable, list[int] | list[bool]]) -> Reading:
    s, mid = machine.signals, machine.machine_id
    return Reading(
        good=_counter(values[(mid, "good")], s.good),
        reject=_counter(values[(mid, "reject")], s.reject),
        state_code=decode_code(values[(mid, "state")], s.state),
        alarm_code=decode_code(values[(mid, "alarm")], s.alarm) if s.alarm else None,
    )


class ModbusDriver:
    def __init__(self, host: str, port: int, *, timeout: float = 2.0, max_gap: int = 8) -> None:
        quiet_library_logs()
        self.label = f"modbus://{host}:{port}"
        self._host, self._port, self._timeout, self._max_gap = host, port, timeout, max_gap
        self._client: AsyncModbusTcpClient | None = None
        self._plans: dict[frozenset[str], _Plan] = {}
        # machine id → read apart from other machines; (machine id, signal) → read alone. Value: until when.
        self._apart: dict[Hashable, float] = {}
        self._apart_version = 0
        self.reads = 0
        self.failed_reads = 0

    async def connect(self) -> None:
        await self.close()
        # reconnect_delay=0: the endpoint session owns reconnection and its back-off.
        client = AsyncModbusTcpClient(
            self._host, port=self._port, timeout=self._timeout, retries=0, reconnect_delay=0, name=self.label
        )
        started = time.monotonic()
        if not await client.connect():
            client.close()
            reason = await self._why_not(time.monotonic() - started)
            raise EndpointUnavailable(f"{self.label}: cannot connect: {reason}")
        self._client = client

    async def _why_not(self, took: float) -> str:
        """pymodbus only logs why a connect failed: ask the OS once more, for the admin's message."""
        if took >= self._timeout * 0.9:
            return f"timed out after {self._timeout:g} s"
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self._host, self._port), self._timeout)
        except TimeoutError:
            return f"timed out after {self._timeout:g} s"
        except OSError as exc:
            return os_reason(exc)
        writer.close()  # reachable again already; the next attempt will tell
        return "connection failed"

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read(self, machines: Sequence[ModbusMachine]) -> dict[str, Reading | ConnectivityError]:
        values: dict[Hashable, list[int] | list[bool]] = {}
        failures: dict[str, list[str]] = {}
        for block in self._plan(machines):
            await self._serve(block, values, failures)

        results: dict[str, Reading | ConnectivityError] = {}
        for machine in machines:
            mid = machine.machine_id
            where = f"{machine_label(machine)} on {self.label} unit {machine.endpoint.unit_id}"
            if mid in failures:
                results[mid] = SignalReadFailed(f"{where}: {'; '.join(failures[mid][:2])}")
                continue
            try:
                results[mid] = _reading(machine, values)
            except (ValueError, KeyError) as exc:
                results[mid] = SignalReadFailed(f"{where}: {exc}")
        return results

    # -- planning ----------------------------------------------------------------------------
    def _plan(self, machines: Sequence[ModbusMachine]) -> list[ReadBlock]:
        self._expire()
        key = frozenset(m.machine_id for m in machines)
        plan = self._plans.get(key)
        if plan is not None and plan.apart_version == self._apart_version:
            # Configs are frozen: the very same objects cannot have moved a register.
            if all(plan.machines.get(m.machine_id) is m for m in machines):
                return plan.blocks
            spans = {m.machine_id: _spans(m) for m in machines}
            if spans == plan.spans:
                plan.machines = {m.machine_id: m for m in machines}
                return plan.blocks
        else:
            spans = {m.machine_id: _spans(m) for m in machines}
        if plan is None and len(self._plans) >= _PLAN_CACHE_SIZE:
            self._plans.pop(next(iter(self._plans)))
        blocks = self._build(spans)
        self._plans[key] = _Plan({m.machine_id: m for m in machines}, spans, self._apart_version, blocks)
        return blocks

    def _build(self, spans: dict[str, tuple[SignalSpan, ...]]) -> list[ReadBlock]:
        """Merged blocks first, then machines read apart, then single suspect signals."""
        merged: list[SignalSpan] = []
        apart: list[ReadBlock] = []
        alone: list[ReadBlock] = []
        for mid, own in spans.items():
            if mid in self._apart:
                rest = [s for s in own if s.key not in self._apart]
                apart.extend(plan_reads(rest, max_gap=self._max_gap))
            else:
                merged.extend(s for s in own if s.key not in self._apart)
            alone.extend(_alone(s) for s in own if s.key in self._apart)
        return plan_reads(merged, max_gap=self._max_gap) + apart + alone

    def _set_apart(self, keys: list[Hashable]) -> None:
        until = time.monotonic() + _APART_FOR
        if any(k not in self._apart for k in keys):
            self._apart_version += 1
        for key in keys:
            self._apart[key] = until

    def _expire(self) -> None:
        if not self._apart:
            return
        now = time.monotonic()
        expired = [k for k, until in self._apart.items() if until <= now]
        if expired:
            for key in expired:
                del self._apart[key]
            self._apart_version += 1

    # -- reading -----------------------------------------------------------------------------
    async def _serve(
        self, block: ReadBlock, values: dict[Hashable, list[int] | list[bool]], failures: dict[str, list[str]]
    ) -> bool:
        """Read one block into `values`; on failure split it until each failure has its owner."""
        try:
            data = await self._read_block(block)
        except _BlockFailed as exc:
            owners = list(dict.fromkeys(_owner(s) for s in block.spans))
            if len(owners) > 1:
                failing = []
                for owner in owners:
                    mine = [s for s in block.spans if _owner(s) == owner]
                    results = [await self._serve(b, values, failures) for b in plan_reads(mine, max_gap=self._max_gap)]
                    if not all(results):
                        failing.append(owner)
                # Nobody failed alone: the device refuses a register between them. Keep them apart.
                self._set_apart(list(failing or owners))
                return not failing
            if len(block.spans) > 1 and exc.address_error:
                # Find the refused signal(s); each failing one records its own error.
                bad = [s.key for s in block.spans if not await self._serve(_alone(s), values, failures)]
                self._set_apart(bad or [s.key for s in block.spans])
                return not bad
            failures.setdefault(owners[0], []).append(f"{_where(block)}: {exc.reason}")
            self._set_apart([owners[0]] + ([block.spans[0].key] if len(block.spans) == 1 else []))
            return False
        for span in block.spans:
            values[span.key] = block.slice(data, span)
        return True

    async def _read_block(self, block: ReadBlock) -> list[int] | list[bool]:
        client = self._client
        if client is None or not client.connected:
            raise EndpointUnavailable(f"{self.label}: connection lost")
        call = {
            RegisterType.HOLDING: client.read_holding_registers,
            RegisterType.INPUT: client.read_input_registers,
            RegisterType.COIL: client.read_coils,
            RegisterType.DISCRETE: client.read_discrete_inputs,
        }[block.register]
        self.reads += 1
        try:
            response = await call(block.address, count=block.count, device_id=block.unit_id)
        except ConnectionException as exc:
            raise EndpointUnavailable(f"{self.label}: connection lost ({exc})") from exc
        except ModbusException as exc:
            if not client.connected:
                raise EndpointUnavailable(f"{self.label}: connection lost (no answer)") from exc
            self.failed_reads += 1
            raise _BlockFailed(f"no answer within {self._timeout:g} s") from exc
        if response.isError():
            self.failed_reads += 1
            code = getattr(response, "exception_code", 0)
            name = _EXCEPTION_NAMES.get(code, "error")
            raise _BlockFailed(f"{name} (Modbus exception {code})", address_error=code in _ADDRESS_ERRORS)
        if block.register.is_bit:
            return list(response.bits[: block.count])
        return list(response.registers)


def _alone(span: SignalSpan) -> ReadBlock:
    return ReadBlock(span.unit_id, span.register, span.address, span.count, (span,))
