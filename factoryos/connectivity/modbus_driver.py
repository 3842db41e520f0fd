"""Modbus TCP driver: one connection per host:port, planned block reads for all its machines."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException

from factoryos.connectivity.codec import COUNTER_MODULUS, decode_code, decode_counter
from factoryos.connectivity.driver import CounterSample, Reading
from factoryos.connectivity.errors import ConnectivityError, EndpointUnavailable, SignalReadFailed
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
_SIGNALS = ("good", "reject", "state", "alarm")
_PLAN_CACHE_SIZE = 8


class _BlockFailed(Exception):
    pass


def _spans(machine: ModbusMachine) -> list[SignalSpan]:
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
    return spans


def _counter(raw: list[int] | list[bool], signal: ModbusSignal) -> CounterSample:
    modulus = 2 if signal.register_type.is_bit else COUNTER_MODULUS[signal.data_type]
    return CounterSample(decode_counter(raw, signal), modulus)


def _reading(machine: ModbusMachine, values: dict[object, list[int] | list[bool]]) -> Reading:
    s, mid = machine.signals, machine.machine_id
    return Reading(
        good=_counter(values[(mid, "good")], s.good),
        reject=_counter(values[(mid, "reject")], s.reject),
        state_code=decode_code(values[(mid, "state")], s.state),
        alarm_code=decode_code(values[(mid, "alarm")], s.alarm) if s.alarm else None,
    )


class ModbusDriver:
    def __init__(self, host: str, port: int, *, timeout: float = 2.0, max_gap: int = 8) -> None:
        self.label = f"modbus://{host}:{port}"
        self._host, self._port, self._timeout, self._max_gap = host, port, timeout, max_gap
        self._client: AsyncModbusTcpClient | None = None
        self._plans: dict[tuple[str, ...], list[ReadBlock]] = {}

    async def connect(self) -> None:
        await self.close()
        # reconnect_delay=0: the endpoint session owns reconnection and its back-off.
        client = AsyncModbusTcpClient(
            self._host, port=self._port, timeout=self._timeout, retries=0, reconnect_delay=0, name=self.label
        )
        if not await client.connect():
            client.close()
            raise EndpointUnavailable(f"{self.label}: cannot connect")
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read(self, machines: Sequence[ModbusMachine]) -> dict[str, Reading | ConnectivityError]:
        values: dict[object, list[int] | list[bool]] = {}
        failures: dict[str, str] = {}
        retry: dict[str, ModbusMachine] = {}
        by_id = {m.machine_id: m for m in machines}
        for block in self._plan(machines):
            try:
                data = await self._read_block(block)
            except _BlockFailed as exc:
                owners = {span.key[0] for span in block.spans}  # type: ignore[index]
                # A merged block fails as a whole; re-read its machines one by one so one
                # misconfigured or unreachable machine does not take its neighbours down.
                for owner in owners:
                    if len(owners) > 1:
                        retry[owner] = by_id[owner]
                    else:
                        failures[owner] = str(exc)
                continue
            for span in block.spans:
                values[span.key] = block.slice(data, span)

        for machine in retry.values():
            for block in plan_reads(_spans(machine), max_gap=self._max_gap):
                try:
                    data = await self._read_block(block)
                except _BlockFailed as exc:
                    failures[machine.machine_id] = str(exc)
                    break
                for span in block.spans:
                    values[span.key] = block.slice(data, span)

        results: dict[str, Reading | ConnectivityError] = {}
        for machine in machines:
            mid = machine.machine_id
            if mid in failures:
                results[mid] = SignalReadFailed(f"{self.label} unit {machine.endpoint.unit_id}: {failures[mid]}")
                continue
            try:
                results[mid] = _reading(machine, values)
            except ValueError as exc:
                results[mid] = SignalReadFailed(f"{self.label} unit {machine.endpoint.unit_id}: {exc}")
        return results

    def _plan(self, machines: Sequence[ModbusMachine]) -> list[ReadBlock]:
        key = tuple(m.machine_id for m in machines)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.pop(next(iter(self._plans)))
            plan = plan_reads((s for m in machines for s in _spans(m)), max_gap=self._max_gap)
            self._plans[key] = plan
        return plan

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
        try:
            response = await call(block.address, count=block.count, device_id=block.unit_id)
        except ConnectionException as exc:
            raise EndpointUnavailable(f"{self.label}: connection lost ({exc})") from exc
        except ModbusException as exc:
            if not client.connected:
                raise EndpointUnavailable(f"{self.label}: connection lost ({exc})") from exc
            raise _BlockFailed(f"no answer reading {block.register.value} {block.address}+{block.count}") from exc
        if response.isError():
            code = getattr(response, "exception_code", 0)
            name = _EXCEPTION_NAMES.get(code, "error")
            raise _BlockFailed(
                f"exception {code} ({name}) reading {block.register.value} {block.address}+{block.count}"
            )
        if block.register.is_bit:
            return list(response.bits[: block.count])
        return list(response.registers)
