"""`factoryos ingest`: store what the site edges publish, shared among N processes.

Each process joins the MQTT 5 shared subscription `$share/<share>/spBv1.0/+/DDATA/+/+`: the broker
hands every message to one of them. A message is acknowledged (PUBACK, in arrival order) only
once its events are committed, and the session is persistent (fixed client id, clean start off,
a session expiry): a process killed before its acknowledgements gets the same messages again when
it comes back, and stores them once, because every event is stored by its key (count deltas,
anomalies and state changes by key; baselines and health keep the newest). Events go through the
poller's own database sink, so counts, baselines, anomalies, states and downtime follow the
rules of every protocol.

A process that stops cleanly leaves the group for good: it says "offline" (the edges stop sending
to it), unsubscribes, stores and acknowledges what it still received, and disconnects with a
session expiry of 0, so the broker drops its session instead of queuing a share of the messages
for it. A crashed process's session is retired the same way by `retire` (`factoryos ingest
--retire CLIENT_ID`): it resumes the session, stores what was queued for it, and ends it.

Nothing in a message is trusted but its topic's edge node id, which the broker's ACL binds to the
authenticated user (`factoryos edge broker-acl`). Each message is checked against the
registration: the edge must be in force and the machine of the edge's site, and each event must
name the topic's machine. Refused messages are acknowledged (they would come back forever),
counted, and audited in the company, one row per edge, machine and reason a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import aiomqtt
import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine

from factoryos.audit.writer import AuditEvent, record
from factoryos.connectivity.backoff import Backoff
from factoryos.connectivity.db_sink import DbSink
from factoryos.connectivity.events import Event, RejectedEvents
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.sparkplug.events import decode_events, host_state
from factoryos.connectivity.sparkplug.events import host_online as host_state_online
from factoryos.connectivity.sparkplug.host import NAMESPACE
from factoryos.db.tenant import tenant_transaction
from factoryos.edge.publisher import BrokerSettings
from factoryos.edge.registry import EdgeDirectory

log = logging.getLogger(__name__)

SHARE = "factoryos-ingest"
SESSION_EXPIRY = 600  # s a crashed process's session (and its share of messages) waits for it to come back
LEAVE_GRACE = 0.5  # s between saying "offline" and unsubscribing: what edges sent meanwhile still arrives
DRAIN_IDLE = 0.5  # s without a message after which a leaving process has received all it will
AUDIT_EVERY = 60.0  # s between audit rows of the same refusal
STATE_EVERY = 1.0  # s between the ingest's "online" heartbeats (edges publish only while they hear one)


class StillRunning(Exception):
    """`retire` was asked for the session of a process that is running (its heartbeat was heard)."""


@dataclass
class IngestStats:
    messages: int = 0
    events: int = 0  # events handed to the database (duplicates included)
    refused_messages: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # reason → messages
    batches: int = 0


@dataclass(frozen=True)
class _Message:
    mid: int
    qos: int
    topic: str
    payload: bytes


class IngestService:
    def __init__(self, engine: Engine, broker: BrokerSettings, *, client_id: str, share: str = SHARE,
                 batch_max: int = 1000, batch_wait: float = 0.05, session_expiry: int = SESSION_EXPIRY,
                 directory_ttl: float = 5.0) -> None:
        self.broker = broker
        self.client_id = client_id
        self.share = share
        self.stats = IngestStats()
        self.connected = asyncio.Event()
        self._engine = engine
        self._sink = DbSink(engine)
        self._directory = EdgeDirectory(engine, directory_ttl)
        self._batch_max = batch_max
        self._batch_wait = batch_wait
        self._session_expiry = session_expiry
        self._backoff = Backoff(0.5, 5.0)
        self._audited: dict[tuple[UUID, str, str, str], float] = {}

    @property
    def state_topic(self) -> str:
        return f"{NAMESPACE}/STATE/{self.client_id}"

    @property
    def topic(self) -> str:
        return f"$share/{self.share}/{NAMESPACE}/+/DDATA/+/+"

    def _client(self) -> aiomqtt.Client:
        b = self.broker
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry
        tls: ssl.SSLContext | None = b.tls_context()
        client = aiomqtt.Client(
            b.host, b.port, username=b.username, password=b.password, identifier=self.client_id,
            will=aiomqtt.Will(self.state_topic, host_state(False), qos=1),
            protocol=aiomqtt.ProtocolVersion.V5, clean_start=False, properties=props, timeout=b.timeout,
            tls_context=tls, max_inflight_messages=self._batch_max,
        )
        # Acknowledge only what is stored: aiomqtt has no option for it, its paho client does.
        client._client.manual_ack_set(True)
        return client

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then leave the group for good; reconnects after a lost broker."""
        while not stop.is_set():
            client = self._client()
            try:
                async with client:
                    await client.subscribe(self.topic, qos=1)
                    self._backoff.reset()
                    self.connected.set()
                    log.info("ingest %s subscribed to %s", self.client_id, self.topic)
                    beat = asyncio.create_task(self._heartbeat(client), name="ingest state")

                    async def leave(client: aiomqtt.Client = client, beat: asyncio.Task[None] = beat) -> None:
                        beat.cancel()
                        await asyncio.gather(beat, return_exceptions=True)
                        await client.publish(self.state_topic, host_state(False), qos=1)
                        await asyncio.sleep(LEAVE_GRACE)
                        await client.unsubscribe(self.topic)

                    try:
                        await self._consume(client, stop, leave)
                    finally:
                        beat.cancel()
                        await asyncio.gather(beat, return_exceptions=True)
                    await self._end_session(client)
                    log.info("ingest %s left the shared subscription; its session is ended", self.client_id)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                delay = self._backoff.next_delay()
                log.warning("ingest %s: broker unavailable (%s); again in %.1f s", self.client_id, exc, delay)
            except Exception:  # a bug must not end ingest: what was not acknowledged comes again
                self.connected.clear()
                delay = self._backoff.next_delay()
                log.exception("ingest %s failed; starting again in %.1f s", self.client_id, delay)
            else:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
        self.connected.clear()

    async def retire(self) -> int:
        """End the session of a process that will not come back (crashed, host gone) without losing its
        share: resume the session, stop new messages (unsubscribe), store and acknowledge what was
        queued for it, and disconnect with a session expiry of 0. Returns the messages stored. Refused
        (`StillRunning`) while that process says it is online: taking its session over would only
        have the two throw each other off the broker."""
        if await self._heard_online():
            raise StillRunning(f"ingest {self.client_id} is running (its heartbeat is on the broker): stop it "
                               "first; a clean stop ends its session by itself")
        client = self._client()
        stop = asyncio.Event()
        before = self.stats.messages
        async with client:
            await client.unsubscribe(self.topic)  # queued messages still come; new ones go to the others
            queue: asyncio.Queue[_Message] = asyncio.Queue()
            receiver = asyncio.create_task(self._receive(client, queue), name="ingest receive")
            try:
                await self._drain(client, queue, stop)
            finally:
                receiver.cancel()
                await asyncio.gather(receiver, return_exceptions=True)
            await self._end_session(client)
        log.info("ingest session %s retired (%d messages stored)", self.client_id, self.stats.messages - before)
        return self.stats.messages - before

    async def _heard_online(self) -> bool:
        """Whether the process with this client id says "online" within a few heartbeats (not retained:
        only a running process sends them)."""
        b = self.broker
        probe = aiomqtt.Client(b.host, b.port, username=b.username, password=b.password,
                               identifier=f"{self.client_id}-probe-{uuid.uuid4().hex[:8]}",
                               protocol=aiomqtt.ProtocolVersion.V5, timeout=b.timeout, tls_context=b.tls_context())
        async with probe:
            await probe.subscribe(self.state_topic, qos=0)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATE_EVERY * 3):
                    async for m in probe.messages:
                        payload = m.payload if isinstance(m.payload, bytes | bytearray) else str(m.payload).encode()
                        if host_state_online(bytes(payload)):
                            return True
        return False

    async def _end_session(self, client: aiomqtt.Client) -> None:
        """DISCONNECT with a session expiry of 0 (MQTT 5): the broker forgets the session and its
        subscription at once. aiomqtt's own exit sends a plain DISCONNECT, which keeps the session."""
        props = Properties(PacketTypes.DISCONNECT)
        props.SessionExpiryInterval = 0
        rc = client._client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Normal disconnection"),
                                       properties=props)
        if rc == paho.MQTT_ERR_SUCCESS:
            with contextlib.suppress(TimeoutError, aiomqtt.MqttError):
                await asyncio.wait_for(asyncio.shield(client._disconnected), self.broker.timeout)

    async def _heartbeat(self, client: aiomqtt.Client) -> None:
        """Say "online" now and every `STATE_EVERY` s. Not retained, on purpose: a broker restarted
        from its persistence forgets shared subscriptions, and a retained "online" would let the
        edges publish into a group nobody has joined again yet; a fresh heartbeat means a member
        has (it is sent after the subscription was acknowledged)."""
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.state_topic, host_state(True), qos=1)
            await asyncio.sleep(STATE_EVERY)

    @staticmethod
    async def _receive(client: aiomqtt.Client, queue: asyncio.Queue[_Message]) -> None:
        async for m in client.messages:
            payload = m.payload if isinstance(m.payload, bytes | bytearray) else str(m.payload).encode()
            queue.put_nowait(_Message(m.mid, m.qos, str(m.topic), bytes(payload)))

    async def _consume(self, client: aiomqtt.Client, stop: asyncio.Event,
                       leave: Callable[[], Awaitable[None]]) -> None:
        queue: asyncio.Queue[_Message] = asyncio.Queue()
        receiver = asyncio.create_task(self._receive(client, queue), name="ingest receive")
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, receiver, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if receiver in done:
                        receiver.result()  # raises the MqttError that ended the session
                    await leave()
                    await self._drain(client, queue, stop)
                    return
                batch = [getter.result()]
                deadline = time.monotonic() + self._batch_wait
                while len(batch) < self._batch_max:
                    if queue.empty():
                        wait = deadline - time.monotonic()
                        if wait <= 0:
                            break
                        with contextlib.suppress(TimeoutError):
                            batch.append(await asyncio.wait_for(queue.get(), wait))
                        continue
                    batch.append(queue.get_nowait())
                await self._store_and_ack(client, batch, stop)
        finally:
            receiver.cancel()
            stopping.cancel()
            await asyncio.gather(receiver, stopping, return_exceptions=True)

    async def _drain(self, client: aiomqtt.Client, queue: asyncio.Queue[_Message], stop: asyncio.Event) -> None:
        """Store what is still arriving, until nothing has come for `DRAIN_IDLE` s."""
        while True:
            try:
                batch = [await asyncio.wait_for(queue.get(), DRAIN_IDLE)]
            except TimeoutError:
                return
            while len(batch) < self._batch_max and not queue.empty():
                batch.append(queue.get_nowait())
            await self._store_and_ack(client, batch, stop)

    async def _store_and_ack(self, client: aiomqtt.Client, batch: list[_Message], stop: asyncio.Event) -> None:
        await self._store(batch, stop)
        for m in batch:  # in arrival order, as MQTT requires
            if m.qos > 0:
                client._client.ack(m.mid, m.qos)

    # -- one batch ----------------------------------------------------------------------------
    async def _store(self, batch: list[_Message], stop: asyncio.Event) -> None:
        accepted, refusals = await asyncio.to_thread(self._sort, batch)
        self.stats.messages += len(batch)
        self.stats.batches += 1
        while accepted:
            try:
                await self._sink.write(accepted)
            except RejectedEvents as exc:  # a machine deleted meanwhile: never storable
                log.warning("ingest: %s", exc)
            except Exception as exc:  # database down: keep the batch unacknowledged, try again
                delay = self._backoff.next_delay()
                log.warning("ingest: cannot store %d events (%s); again in %.1f s", len(accepted), exc, delay)
                if stop.is_set():
                    raise asyncio.CancelledError from None  # leave them unacknowledged for redelivery
                await asyncio.sleep(delay)
                continue
            self._backoff.reset()
            self.stats.events += len(accepted)
            break
        if refusals:
            await asyncio.to_thread(self._audit, refusals)

    def _sort(self, batch: list[_Message]) -> tuple[list[Event], list[tuple[UUID | None, str, str, str, int]]]:
        """(events to store, refusals as (company, edge, machine, reason, events))."""
        accepted: list[Event] = []
        refusals: list[tuple[UUID | None, str, str, str, int]] = []
        wanted: dict[tuple[UUID, UUID], list[tuple[UUID, list[Event]]]] = defaultdict(list)
        for m in batch:
            parts = m.topic.split("/")
            events, bad = decode_events(m.payload)
            try:
                tenant_id, edge_id, machine_id = UUID(parts[1]), UUID(parts[3]), UUID(parts[4])
            except (ValueError, IndexError):
                refusals.append((None, parts[3] if len(parts) > 3 else "?", parts[-1], "topic not of a registered edge",
                                 len(events)))
                continue
            pid = poll_id(tenant_id, machine_id)
            if bad or any(e.machine_id != pid for e in events):
                refusals.append((tenant_id, str(edge_id), str(machine_id),
                                 "events not of the topic's machine" if not bad else "unreadable events", len(events)))
                continue
            wanted[(tenant_id, edge_id)].append((machine_id, events))
        for (tenant_id, edge_id), items in wanted.items():
            verdicts = self._directory.check(tenant_id, edge_id, {machine for machine, _ in items})
            for machine_id, events in items:
                verdict = verdicts[machine_id]
                if verdict.allowed:
                    accepted.extend(events)
                else:
                    refusals.append((tenant_id, str(edge_id), str(machine_id), verdict.reason, len(events)))
        return accepted, refusals

    def _audit(self, refusals: list[tuple[UUID | None, str, str, str, int]]) -> None:
        now = time.monotonic()
        for tenant_id, edge, machine, reason, count in refusals:
            self.stats.refused_messages += 1
            self.stats.refused[reason] = self.stats.refused.get(reason, 0) + 1
            log.warning("ingest refused %d events of edge %s for machine %s (company %s): %s",
                        count, edge, machine, tenant_id, reason)
            if tenant_id is None:
                continue
            key = (tenant_id, edge, machine, reason)
            if now - self._audited.get(key, -AUDIT_EVERY) < AUDIT_EVERY:
                continue
            self._audited[key] = now
            after: dict[str, Any] = {"machine_id": machine, "reason": reason, "events": count,
                                     "ingest": self.client_id}
            try:
                with tenant_transaction(self._engine, tenant_id) as conn:
                    record(conn, AuditEvent(tenant_id=tenant_id, action="ingest_refused", entity_type="edge",
                                            entity_id=edge, after=after))
            except Exception as exc:  # a company that does not exist: nothing to audit it in
                log.debug("refusal not audited: %s", exc)
