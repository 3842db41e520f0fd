"""The edge's sink: events published to the broker as a Sparkplug B edge node, QoS 1.

`write` returns only once the broker acknowledged (PUBACK) every message of the batch, so the
forwarder drops events from the spool only when the broker holds them; a lost link or a broker
down raises, the events stay spooled and go again (the ingest stores by event key, so a message
sent twice is stored once).

Per session: NBIRTH (bdSeq, `Node Control/Rebirth`) on connect, with the NDEATH of the same bdSeq
held by the broker as the will; each machine's DBIRTH before its first DDATA; sequence numbers
0…255 over the session's messages. A rebirth request (NCMD) births the node and its devices again.
Data is published only while an ingest process's STATE heartbeat was heard in this session (see
`factoryos.ingest.service`): otherwise events wait in the spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from factoryos.connectivity.events import Event, RejectedEvents
from factoryos.connectivity.machine_ref import parse_poll_id
from factoryos.connectivity.sparkplug import events as spb
from factoryos.connectivity.sparkplug.host import NAMESPACE, REBIRTH_METRIC, pb

log = logging.getLogger(__name__)
REPLAY_MAX = 200_000  # events kept for a replay at most (about 2,000 machines for 3 minutes)


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    username: str
    password: str
    tls: bool = True
    ca_certificate: Path | None = None
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str, username: str, password: str, *, ca_certificate: Path | None = None,
                 timeout: float = 10.0) -> BrokerSettings:
        scheme, _, rest = url.partition("://")
        if scheme not in ("mqtt", "mqtts") or not rest:
            raise ValueError(f"broker URL {url!r}: must be mqtts://host:port (or mqtt:// without TLS)")
        host, _, port = rest.rstrip("/").rpartition(":")
        if not host:
            host, port = port, ""
        tls = scheme == "mqtts"
        return cls(host, int(port) if port else (8883 if tls else 1883), username, password, tls,
                   ca_certificate, timeout)

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca_certificate) if self.ca_certificate else None)


class SparkplugPublisher:
    """A `Sink`; also closes its session with `close()`."""

    def __init__(self, broker: BrokerSettings, group: str, node: str, *, max_inflight: int = 1000,
                 host_timeout: float = 3.0, replay_window: float = 180.0) -> None:
        self.broker = broker
        self.group = group
        self.node = node
        self.published = 0  # DDATA messages acknowledged
        self.sessions = 0
        self._max_inflight = max_inflight
        self._client: aiomqtt.Client | None = None
        self._listener: asyncio.Task[None] | None = None
        self._bd_seq = -1
        self._seq = 0
        self._born: set[str] = set()
        self._lock = asyncio.Lock()
        self.replay_window = replay_window
        self.replayed = 0  # events published again after a lost session
        self._recent: deque[tuple[float, list[Event]]] = deque()  # (when acknowledged, events), newest last
        self._recent_events = 0
        self._lost_session = False
        self.host_timeout = host_timeout
        self._hosts: dict[str, float] = {}  # ingest host id → when it last said it is online
        self._host_heard = asyncio.Event()

    def _next_seq(self) -> int:
        seq, self._seq = self._seq, (self._seq + 1) % 256
        return seq

    async def _connect(self) -> aiomqtt.Client:
        if self._listener is not None and self._listener.done():
            await self._drop()  # the session ended (broker gone): its listener saw the end
        if self._client is not None:
            return self._client
        b = self.broker
        self._bd_seq = (self._bd_seq + 1) % 256
        will = aiomqtt.Will(spb.topic(self.group, "NDEATH", self.node), spb.node_death(self._bd_seq), qos=1)
        client = aiomqtt.Client(
            b.host, b.port, username=b.username, password=b.password, will=will,
            identifier=f"factoryos-edge-{self.node}-{uuid.uuid4().hex[:6]}", protocol=aiomqtt.ProtocolVersion.V5,
            timeout=b.timeout, tls_context=b.tls_context(), max_inflight_messages=self._max_inflight,
        )
        client.pending_calls_threshold = self._max_inflight  # a batch is many messages at once, by design
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise ConnectionError(f"broker {b.host}:{b.port}: {exc}") from None
        self._client, self.sessions = client, self.sessions + 1
        self._hosts.clear()  # heard in this session only: a restarted broker forgot the subscriptions
        try:
            await client.subscribe([(spb.topic(self.group, "NCMD", self.node), 1), (f"{NAMESPACE}/STATE/+", 1)])
            await self._birth(client)
        except aiomqtt.MqttError as exc:
            await self._drop()
            raise ConnectionError(f"broker {b.host}:{b.port}: {exc}") from None
        self._listener = asyncio.create_task(self._listen(client), name="edge commands")
        log.info("edge %s connected to the broker %s:%s (bdSeq %d)", self.node, b.host, b.port, self._bd_seq)
        return client

    async def _birth(self, client: aiomqtt.Client) -> None:
        self._seq = 0
        self._born.clear()
        await client.publish(spb.topic(self.group, "NBIRTH", self.node), spb.node_birth(self._bd_seq,
                                                                                     self._next_seq()), qos=1)

    async def _listen(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in client.messages:
                name = str(message.topic)
                if name.startswith(f"{NAMESPACE}/STATE/"):
                    host = name.rsplit("/", 1)[1]
                    if spb.host_online(bytes(message.payload)):  # type: ignore[arg-type]
                        self._hosts[host] = time.monotonic()
                        self._host_heard.set()
                    else:
                        self._hosts.pop(host, None)
                    continue
                try:
                    command = pb.Payload.FromString(bytes(message.payload))  # type: ignore[arg-type]
                except Exception:  # a corrupt command is not ours to act on
                    continue
                if any(m.name == REBIRTH_METRIC and m.boolean_value for m in command.metrics):
                    async with self._lock:
                        with contextlib.suppress(aiomqtt.MqttError):
                            await self._birth(client)  # devices are born again before their next data

    def _remember(self, events: list[Event]) -> None:
        now = time.monotonic()
        self._recent.append((now, events))
        self._recent_events += len(events)
        while self._recent and (now - self._recent[0][0] > self.replay_window or self._recent_events > REPLAY_MAX):
            self._recent_events -= len(self._recent.popleft()[1])

    async def _drop(self) -> None:
        if self._client is not None:
            self._lost_session = True
        listener, client = self._listener, self._client
        self._listener = self._client = None
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if client is not None:
            with contextlib.suppress(Exception):  # already gone
                await client.__aexit__(None, None, None)

    async def write(self, events: Sequence[Event]) -> None:
        async with self._lock:
            client = await self._connect()
            await self._wait_for_host()
            if self._lost_session:
                # A broker that went down may have acknowledged messages it never delivered (what it
                # held for the ingest's shared subscription, e.g. the backlog of an ingest process
                # that was down itself): send the last few minutes' again first.
                # The ingest stores by event key, so what did arrive is not stored twice.
                again = [e for _, batch in self._recent for e in batch]
                if again:
                    log.info("edge %s: publishing the %d events of the last %.0f s again after a lost session",
                             self.node, len(again), self.replay_window)
                    await self._publish(client, again)
                    self.replayed += len(again)
                self._lost_session = False
            await self._publish(client, list(events))

    async def _publish(self, client: aiomqtt.Client, events: list[Event]) -> None:
        """Publish and wait for every PUBACK (called with the lock held)."""
        by_device: dict[str, list[Event]] = defaultdict(list)
        foreign: list[Event] = []
        for event in events:
            ref = parse_poll_id(event.machine_id)
            if ref is None or str(ref[0]) != self.group:
                foreign.append(event)
            else:
                by_device[str(ref[1])].append(event)
        try:
            sends = []
            for device, mine in by_device.items():
                if device not in self._born:
                    await client.publish(spb.topic(self.group, "DBIRTH", self.node, device),
                                         spb.device_birth(self._next_seq()), qos=1)
                    self._born.add(device)
                # Sequence numbers are taken in publish order: the messages leave in that order.
                sends.append(client.publish(spb.topic(self.group, "DDATA", self.node, device),
                                            spb.device_data(mine, self._next_seq()), qos=1,
                                            timeout=self.broker.timeout))
            await asyncio.gather(*sends)
        except (aiomqtt.MqttError, OSError) as exc:
            await self._drop()
            raise ConnectionError(f"publishing to the broker failed: {exc}") from None
        self.published += len(by_device)
        self._remember([e for mine in by_device.values() for e in mine])
        if foreign:
            raise RejectedEvents(f"{len(foreign)} events of machines of another company", foreign)

    def host_online(self) -> bool:
        now = time.monotonic()
        return any(now - heard < self.host_timeout for heard in self._hosts.values())

    async def _wait_for_host(self) -> None:
        """Publish only while an ingest process says it is subscribed (its STATE heartbeat): what a
        broker holds for no subscriber is lost, what the spool holds is not."""
        deadline = time.monotonic() + self.broker.timeout
        while not self.host_online():
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise ConnectionError("no ingest process is online at the broker; events stay spooled")
            self._host_heard.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._host_heard.wait(), wait)

    async def close(self) -> None:
        """End the session cleanly: the broker then sends no will, so publish the death ourselves."""
        async with self._lock:
            if self._client is not None:
                with contextlib.suppress(aiomqtt.MqttError):
                    await self._client.publish(spb.topic(self.group, "NDEATH", self.node),
                                               spb.node_death(self._bd_seq), qos=1)
            await self._drop()
