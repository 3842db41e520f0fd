"""A Sparkplug B edge node for the tests: one node with devices that count parts.

It publishes NBIRTH (with bdSeq and `Node Control/Rebirth`), a DBIRTH per device declaring
metric aliases, DDATA by alias with sequence numbers 0…255, can skip a sequence number on
purpose, sends DDEATH, and its NDEATH is the broker-held will. It answers a rebirth request
(NCMD) with new births and records each request it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import aiomqtt
from sparkplub_b_packets.core import sparkplug_b_pb2 as pb

NS = "spBv1.0"
GOOD, REJECT, STATE = "Counters/Good", "Counters/Reject", "Status/Code"
ALIASES = {GOOD: 1, REJECT: 2, STATE: 3}
TYPES = {GOOD: pb.UInt32, REJECT: pb.UInt32, STATE: pb.Int32}


@dataclass
class Device:
    good: int = 0
    reject: int = 0
    state: int = 1


@dataclass
class EdgeNode:
    host: str
    port: int
    username: str
    password: str
    group: str = "Plant1"
    node: str = "Edge1"
    devices: dict[str, Device] = field(default_factory=lambda: {"Press1": Device()})
    bd_seq: int = 0
    seq: int = 0
    rebirth_requests: int = 0
    births: int = 0
    _client: aiomqtt.Client | None = None
    _task: asyncio.Task[None] | None = None

    def _payload(self) -> pb.Payload:
        payload = pb.Payload(timestamp=int(time.time() * 1000), seq=self.seq)
        self.seq = (self.seq + 1) % 256
        return payload

    @staticmethod
    def _metric(payload: pb.Payload, name: str | None, value: int | bool, datatype: int,
                alias: int | None = None) -> None:
        metric = payload.metrics.add()
        if name is not None:
            metric.name = name
        if alias is not None:
            metric.alias = alias
        metric.datatype = datatype
        if datatype == pb.Boolean:
            metric.boolean_value = bool(value)
        elif datatype in (pb.Int64, pb.UInt64):
            metric.long_value = int(value)
        else:
            metric.int_value = int(value) & 0xFFFFFFFF  # signed types as two's complement

    def _death(self) -> bytes:
        payload = pb.Payload(timestamp=int(time.time() * 1000))
        self._metric(payload, "bdSeq", self.bd_seq, pb.Int64)
        return payload.SerializeToString()

    async def start(self) -> None:
        will = aiomqtt.Will(f"{NS}/{self.group}/NDEATH/{self.node}", self._death(), qos=1)
        self._client = aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                      protocol=aiomqtt.ProtocolVersion.V5, will=will)
        await self._client.__aenter__()
        await self._client.subscribe(f"{NS}/{self.group}/NCMD/{self.node}", qos=1)
        self._task = asyncio.create_task(self._commands(self._client))
        await self.birth()

    async def stop(self, *, clean: bool = True) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            if clean:
                await self._client.publish(f"{NS}/{self.group}/NDEATH/{self.node}", self._death(), qos=1)
            with contextlib.suppress(Exception):
                await self._client.__aexit__(None, None, None)
            self._client = None

    async def birth(self) -> None:
        assert self._client is not None
        self.seq = 0
        payload = self._payload()
        self._metric(payload, "bdSeq", self.bd_seq, pb.Int64)
        self._metric(payload, "Node Control/Rebirth", False, pb.Boolean)
        await self._client.publish(f"{NS}/{self.group}/NBIRTH/{self.node}", payload.SerializeToString(), qos=1)
        for name in self.devices:
            await self.device_birth(name)
        self.births += 1

    async def device_birth(self, name: str) -> None:
        assert self._client is not None
        device, payload = self.devices[name], self._payload()
        for metric, value in ((GOOD, device.good), (REJECT, device.reject), (STATE, device.state)):
            self._metric(payload, metric, value, TYPES[metric], ALIASES[metric])
        await self._client.publish(f"{NS}/{self.group}/DBIRTH/{self.node}/{name}", payload.SerializeToString(),
                                   qos=1)

    async def count(self, name: str, good: int = 0, reject: int = 0, state: int | None = None, *,
                    skip_seq: bool = False) -> None:
        """The device makes parts and reports its new totals (by alias) in one DDATA."""
        assert self._client is not None
        device = self.devices[name]
        device.good = (device.good + good) % (1 << 32)
        device.reject = (device.reject + reject) % (1 << 32)
        if skip_seq:
            self.seq = (self.seq + 1) % 256  # a message lost on the way
        payload = self._payload()
        self._metric(payload, None, device.good, pb.UInt32, ALIASES[GOOD])
        self._metric(payload, None, device.reject, pb.UInt32, ALIASES[REJECT])
        if state is not None:
            device.state = state
            self._metric(payload, None, state, pb.Int32, ALIASES[STATE])
        await self._client.publish(f"{NS}/{self.group}/DDATA/{self.node}/{name}", payload.SerializeToString(),
                                   qos=1)

    async def device_death(self, name: str) -> None:
        assert self._client is not None
        await self._client.publish(f"{NS}/{self.group}/DDEATH/{self.node}/{name}",
                                   self._payload().SerializeToString(), qos=1)

    async def _commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = pb.Payload.FromString(message.payload)  # type: ignore[arg-type]
            if any(m.name == "Node Control/Rebirth" and m.boolean_value for m in payload.metrics):
                self.rebirth_requests += 1
                await self.birth()
