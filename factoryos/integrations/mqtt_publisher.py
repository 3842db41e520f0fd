"""Publish each machine's state, counts, running order and OEE to the company's MQTT broker.

One MQTT session per company that configured publishing, in the server process with the duties
(beside the webhook delivery worker). What is published is read by a periodic query, not from the
webhook outbox: the outbox holds events only while some webhook endpoint subscribes to them, and
it carries no counts or OEE. Every `interval_seconds` the publisher computes each of the company's
sites' live view (`server/mqtt_publishing.py` reads it) — the same function behind
`/production/live`, so subscribers see the numbers the TUI and API show — and publishes only what
changed; OEE of the running shift goes out every `oee_seconds`. Measured for a site of 200
machines: 40–60 ms of server CPU per pass (76–380 ms wall on a loaded 2-core machine), births and
payloads for all 200 another 14 ms; at the default 2 s that is 2–3 % of a core per such site.

- **Sparkplug B**: FactoryOS is edge node `spBv1.0/<group>/…/<edge_node_id>`, each machine a
  device `<site>:<machine>`. NBIRTH (bdSeq, `Node Control/Rebirth`), a DBIRTH per machine with
  every metric by name and alias, DDATA by alias with only the metrics that changed, DDEATH for a
  machine that went away, NDEATH as the MQTT will (and sent on a clean stop), seq 0–255 across the
  node's messages, bdSeq one more on every new session. An NCMD `Node Control/Rebirth` is answered
  with NBIRTH and every DBIRTH again.
- **Topic tree**: `<prefix>/<site>/<line>/<machine>/{state,counts,order,oee}`, JSON, retained
  (`_` for a machine on no line), so a subscriber that arrives later gets the current values at
  once; the topics of a machine that went away are cleared.

A lost session is reconnected with exponential back-off (1 s, doubling to a minute); its reason
is written to the settings' health in words ("the broker refused the user name or password").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import aiomqtt
from sparkplub_b_packets.core import sparkplug_b_pb2
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import ConfigError, FactoryOSError
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.mqtt_publish import PublishConfig, load_config, write_health

log = logging.getLogger(__name__)
pb: Any = sparkplug_b_pb2  # generated code: its names exist only at run time

NAMESPACE = "spBv1.0"
REBIRTH = "Node Control/Rebirth"
_AUTH_CODES = {4, 5, 134, 135}  # CONNACK "not you": MQTT 3.1.1 (4, 5) and MQTT 5 (134, 135)
NO_LINE = "_"

# Device metrics in alias order (alias = position + 1): never reorder, only append.
METRICS: tuple[tuple[str, int], ...] = (
    ("Machine/Name", pb.String), ("State", pb.String), ("State/Code", pb.Int64), ("State/Since", pb.DateTime),
    ("Counts/Good", pb.Int64), ("Counts/Scrap", pb.Int64), ("Counts/Target", pb.Int64), ("Shift", pb.String),
    ("Order/Number", pb.String), ("Order/Product", pb.String), ("Order/Operation", pb.String),
    ("Order/Good", pb.Int64), ("Order/Scrap", pb.Int64), ("Order/Quantity", pb.Int64),
    ("OEE/OEE", pb.Double), ("OEE/Availability", pb.Double), ("OEE/Performance", pb.Double),
    ("OEE/Quality", pb.Double),
)
ALIASES = {name: i + 1 for i, (name, _) in enumerate(METRICS)}
TYPES = dict(METRICS)


@dataclass(frozen=True)
class MachineView:
    """One machine as published: its place in the tree, its Sparkplug device id and values
    (built from the live view by the server, which reads it: `server/mqtt_publishing.py`)."""

    machine_id: UUID
    path: str  # <site>/<line>/<machine>
    device: str  # <site>:<machine>
    state: dict[str, Any]
    counts: dict[str, Any]
    order: dict[str, Any] | None
    oee: dict[str, Any]
    metrics: dict[str, Any]


# Reads every active machine of a company as it stands now.
Reader = Callable[[Engine, UUID], list[MachineView]]


# -- Sparkplug payloads -------------------------------------------------------------------------


def _set(metric: Any, datatype: int, value: Any) -> None:
    metric.datatype = datatype
    if value is None:
        metric.is_null = True
    elif datatype == pb.String:
        metric.string_value = str(value)
    elif datatype == pb.Double:
        metric.double_value = float(value)
    elif datatype == pb.Boolean:
        metric.boolean_value = bool(value)
    else:  # Int64, UInt64, DateTime: sent as unsigned 64 bits (two's complement for negatives)
        metric.long_value = int(value) & 0xFFFFFFFFFFFFFFFF


@dataclass
class SparkplugNode:
    """Sequence numbers and what each device was last told; pure, no I/O."""

    group: str
    node: str
    bd_seq: int = 0
    seq: int = 0
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # device → metric → value

    def topic(self, kind: str, device: str | None = None) -> str:
        base = f"{NAMESPACE}/{self.group}/{kind}/{self.node}"
        return f"{base}/{device}" if device is not None else base

    def _payload(self, *, seq: bool = True) -> Any:
        payload = pb.Payload(timestamp=int(time.time() * 1000))
        if seq:
            payload.seq = self.seq
            self.seq = (self.seq + 1) % 256
        return payload

    def death(self) -> bytes:
        payload = self._payload(seq=False)
        m = payload.metrics.add()
        m.name = "bdSeq"
        _set(m, pb.Int64, self.bd_seq)
        return bytes(payload.SerializeToString())

    def new_session(self) -> None:
        self.bd_seq = (self.bd_seq + 1) % 256
        self.sent.clear()

    def nbirth(self) -> bytes:
        self.seq = 0
        self.sent.clear()
        payload = self._payload()
        for name, datatype, value in (("bdSeq", pb.Int64, self.bd_seq), (REBIRTH, pb.Boolean, False)):
            m = payload.metrics.add()
            m.name = name
            _set(m, datatype, value)
        return bytes(payload.SerializeToString())

    def dbirth(self, device: str, values: dict[str, Any]) -> bytes:
        payload = self._payload()
        for name, datatype in METRICS:
            m = payload.metrics.add()
            m.name, m.alias = name, ALIASES[name]
            _set(m, datatype, values[name])
        self.sent[device] = dict(values)
        return bytes(payload.SerializeToString())

    def ddata(self, device: str, values: dict[str, Any], *, include_oee: bool) -> bytes | None:
        """The metrics that changed since the device was last told (by alias); None: nothing did."""
        last = self.sent[device]
        changed = [n for n, _ in METRICS if (include_oee or not n.startswith("OEE/")) and last.get(n) != values[n]]
        if not changed:
            return None
        payload = self._payload()
        for name in changed:
            m = payload.metrics.add()
            m.alias = ALIASES[name]
            _set(m, TYPES[name], values[name])
            last[name] = values[name]
        return bytes(payload.SerializeToString())

    def ddeath(self, device: str) -> bytes:
        self.sent.pop(device, None)
        return bytes(self._payload().SerializeToString())


def is_rebirth(payload: bytes) -> bool:
    try:
        message = pb.Payload.FromString(payload)
    except Exception:  # not a Sparkplug payload: not a request
        return False
    return any(m.name == REBIRTH and m.boolean_value for m in message.metrics)


# -- the broker session -------------------------------------------------------------------------
# Not the connectivity package's errors and back-off: connectivity depends on production, which
# depends on this package. The codes are the same as for an MQTT machine connection.


class ConnectivityError(FactoryOSError):
    """The broker could not be reached, refused us, or dropped the session."""

    code = "endpoint_unavailable"
    status = 502
    title = "Broker connection failed"


def _failed(detail: str, code: str = "endpoint_unavailable") -> ConnectivityError:
    return ConnectivityError(detail, code=code)


def os_reason(exc: BaseException) -> str:
    """Why a connection failed, in a plant admin's words."""
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running on that port?)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


class Backoff:
    """1 s, doubling to a cap, with jitter so many companies' sessions do not retry in step."""

    def __init__(self, initial: float = 1.0, cap: float = 60.0) -> None:
        self.initial, self.cap, self.failures = initial, cap, 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.initial * 2**self.failures)
        self.failures += 1
        return delay * (1 - 0.1 * random.random())

    def reset(self) -> None:
        self.failures = 0



def _tls(config: PublishConfig) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=str(config.ca_certificate) if config.ca_certificate else None)
        if config.client_certificate and config.client_private_key:
            context.load_cert_chain(str(config.client_certificate), str(config.client_private_key))
    except (OSError, ssl.SSLError) as exc:
        raise _failed(f"{config.url}: cannot load the TLS files: {os_reason(exc)}", "mqtt_certificate_invalid") from None
    return context


def client_for(config: PublishConfig, will: aiomqtt.Will | None = None, timeout: float = 5.0) -> aiomqtt.Client:
    return aiomqtt.Client(config.host, config.port, username=config.username, password=config.password,
                          identifier=f"factoryos-pub-{uuid.uuid4().hex[:12]}", protocol=aiomqtt.ProtocolVersion.V5,
                          timeout=timeout, tls_context=_tls(config), will=will, logger=log)


async def connect(client: aiomqtt.Client, config: PublishConfig) -> None:
    """Open the session; failures as ConnectivityError in a plant admin's words."""
    try:
        await client.__aenter__()
    except aiomqtt.MqttCodeError as exc:
        rc = exc.rc if isinstance(exc.rc, int) or exc.rc is None else exc.rc.value
        if rc in _AUTH_CODES:
            raise _failed(f"{config.url}: the broker refused the user name or password",
                          "mqtt_authentication_failed") from None
        raise _failed(f"{config.url}: the broker refused the session ({exc})") from None
    except aiomqtt.MqttError as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLCertVerificationError):
            raise _failed(f"{config.url}: the broker's certificate is not trusted ({cause.verify_message})",
                          "mqtt_certificate_invalid") from None
        reason = os_reason(cause) if isinstance(cause, OSError) else str(exc)
        if config.tls and "timed out" in reason.lower():
            # TLS 1.3 brokers refuse a missing or unknown client certificate after the handshake:
            # the session then just never starts.
            reason = "no session (does the broker require a client certificate?)"
        raise _failed(f"{config.url}: {reason}") from None


async def test_publish(config: PublishConfig, timeout: float = 5.0) -> str:
    """Connect with these settings and publish one test message; returns its topic.
    Raises ConnectivityError saying why it failed."""
    topic = f"{config.topic_prefix}/_test"
    client = client_for(config, timeout=timeout)
    await asyncio.wait_for(connect(client, config), timeout + 1)
    try:
        body = json.dumps({"test": True, "from": "FactoryOS", "at": datetime.now(UTC).isoformat()})
        await client.publish(topic, body, qos=1)
    except aiomqtt.MqttError as exc:
        raise _failed(f"{config.url}: the test message was not accepted ({exc})") from None
    finally:
        with contextlib.suppress(Exception):
            await client.__aexit__(None, None, None)
    return topic


class CompanyPublisher:
    """One company's session: connect, publish births and changes, answer rebirths, reconnect."""

    def __init__(self, engine: Engine, config: PublishConfig, read: Reader, *, backoff: Backoff | None = None) -> None:
        self.engine = engine
        self.config = config
        self.read = read
        self.backoff = backoff or Backoff(1.0, 60.0)
        self.node = SparkplugNode(config.group_id, config.edge_node_id)
        self.tree: dict[str, bytes] = {}  # topic → last retained payload
        self.rebirth = asyncio.Event()
        self.rebirths_answered = 0
        self.passes = 0
        self.last_error: str | None = None

    async def run(self) -> None:
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except ConnectivityError as exc:
                await self._report("error", str(exc), exc.code)
            except aiomqtt.MqttError as exc:
                await self._report("error", f"{self.config.url}: connection to the broker lost ({exc})",
                                   "endpoint_unavailable")
            except Exception as exc:  # database away, a bug: logged, retried like a lost session
                log.warning("MQTT publishing of company %s: %s", self.config.tenant_id, type(exc).__name__)
            await asyncio.sleep(self.backoff.next_delay())

    async def _report(self, health: str, error: str | None = None, code: str | None = None,
                      published: datetime | None = None) -> None:
        if error is not None and error != self.last_error:
            log.warning("MQTT publishing of company %s: %s", self.config.tenant_id, error)
        self.last_error = error
        try:
            await asyncio.to_thread(self._write_health, health, error, code, published)
        except Exception as exc:  # health is best effort: the database may be away
            log.warning("MQTT publishing of company %s: health not written (%s)", self.config.tenant_id, exc)

    def _write_health(self, health: str, error: str | None, code: str | None, published: datetime | None) -> None:
        with tenant_transaction(self.engine, self.config.tenant_id) as conn:
            write_health(conn, self.config, health, error, code, published)

    async def _session(self) -> None:
        cfg = self.config
        will = None
        if cfg.sparkplug:
            self.node.new_session()
            will = aiomqtt.Will(self.node.topic("NDEATH"), self.node.death(), qos=1)
        client = client_for(cfg, will)
        await connect(client, cfg)
        listener: asyncio.Task[None] | None = None
        try:
            self.backoff.reset()
            await self._report("connected")
            self.tree.clear()  # a new session states everything again
            if cfg.sparkplug:
                await client.subscribe(self.node.topic("NCMD"), qos=1)
                listener = asyncio.create_task(self._commands(client), name=f"mqtt commands {cfg.tenant_id}")
            born = False
            next_oee = 0.0
            while True:
                machines = await asyncio.to_thread(self.read, self.engine, cfg.tenant_id)
                oee_due = time.monotonic() >= next_oee
                if cfg.sparkplug:
                    if not born or self.rebirth.is_set():
                        if born:
                            self.rebirths_answered += 1
                        self.rebirth.clear()
                        await self._births(client, machines)
                        born = True
                    else:
                        await self._changes(client, machines, oee_due)
                if cfg.tree:
                    await self._tree(client, machines, oee_due)
                self.passes += 1
                if oee_due:
                    next_oee = time.monotonic() + cfg.oee_seconds
                    await self._report("connected", published=datetime.now(UTC))
                if listener is not None and listener.done():
                    listener.result()  # the session ended: raise why
                    raise _failed(f"{cfg.url}: connection to the broker lost")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.rebirth.wait(), cfg.interval_seconds)
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
            if cfg.sparkplug:  # a clean stop says so itself; a lost session leaves it to the will
                with contextlib.suppress(Exception):
                    await client.publish(self.node.topic("NDEATH"), self.node.death(), qos=1)
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def _commands(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            if is_rebirth(bytes(payload)):
                log.info("Sparkplug rebirth asked of %s", self.node.topic("NCMD"))
                self.rebirth.set()

    async def _births(self, client: aiomqtt.Client, machines: list[MachineView]) -> None:
        await client.publish(self.node.topic("NBIRTH"), self.node.nbirth(), qos=0)
        for m in machines:
            await client.publish(self.node.topic("DBIRTH", m.device), self.node.dbirth(m.device, m.metrics), qos=0)

    async def _changes(self, client: aiomqtt.Client, machines: list[MachineView], oee_due: bool) -> None:
        seen = set()
        for m in machines:
            seen.add(m.device)
            if m.device not in self.node.sent:
                await client.publish(self.node.topic("DBIRTH", m.device), self.node.dbirth(m.device, m.metrics))
                continue
            payload = self.node.ddata(m.device, m.metrics, include_oee=oee_due)
            if payload is not None:
                await client.publish(self.node.topic("DDATA", m.device), payload, qos=0)
        for gone in [d for d in self.node.sent if d not in seen]:
            await client.publish(self.node.topic("DDEATH", gone), self.node.ddeath(gone), qos=0)

    async def _tree(self, client: aiomqtt.Client, machines: list[MachineView], oee_due: bool) -> None:
        prefix = self.config.topic_prefix
        wanted: dict[str, bytes] = {}
        for m in machines:
            base = f"{prefix}/{m.path}"
            wanted[f"{base}/state"] = json.dumps(m.state).encode()
            wanted[f"{base}/counts"] = json.dumps(m.counts).encode()
            wanted[f"{base}/order"] = json.dumps(m.order).encode()
            oee_topic = f"{base}/oee"
            if oee_due or oee_topic not in self.tree:
                wanted[oee_topic] = json.dumps(m.oee | {"at": datetime.now(UTC).isoformat()}).encode()
            else:
                wanted[oee_topic] = self.tree[oee_topic]
        for topic, body in wanted.items():
            if self.tree.get(topic) != body:
                await client.publish(topic, body, qos=1, retain=True)
        for topic in [t for t in self.tree if t not in wanted]:
            await client.publish(topic, b"", qos=1, retain=True)  # empty retained: the topic is cleared
        self.tree = wanted


def companies(engine: Engine) -> list[UUID]:
    with engine.connect() as conn:
        return list(conn.execute(text("select * from mqtt_publish_companies()")).scalars())


class MqttPublisher:
    """Every configured company's session, reloaded every `reload_interval` seconds."""

    def __init__(self, engine: Engine, keys: DerivedKeys, read: Reader, *, reload_interval: float = 5.0,
                 backoff: tuple[float, float] = (1.0, 60.0)) -> None:
        self.engine = engine
        self.read = read
        self.keys = keys
        self.reload_interval = reload_interval
        self.backoff = backoff
        self.sessions: dict[UUID, tuple[CompanyPublisher, asyncio.Task[None]]] = {}

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.reload()
                except Exception as exc:  # database away or being restored: the next pass catches up
                    log.warning("MQTT publishing: %s", type(exc).__name__)
                await asyncio.sleep(self.reload_interval)
        finally:
            await self.stop()

    def _load(self, tenant_id: UUID) -> PublishConfig | None:
        with tenant_transaction(self.engine, tenant_id) as conn:
            try:
                return load_config(conn, tenant_id, self.keys)
            except ConfigError as exc:
                conn.execute(text("update mqtt_publish_settings set health = 'error', last_error = :e, "
                                  "error_code = :c, health_at = now() where tenant_id = :t"),
                             {"e": exc.detail, "c": exc.code, "t": tenant_id})
                return None

    async def reload(self) -> None:
        wanted: dict[UUID, PublishConfig] = {}
        for tenant_id in await asyncio.to_thread(companies, self.engine):
            config = await asyncio.to_thread(self._load, tenant_id)
            if config is not None and config.enabled:
                wanted[tenant_id] = config
        for tenant_id, (session, _task) in list(self.sessions.items()):
            if wanted.get(tenant_id) != session.config:
                await self._stop_one(tenant_id)
        for tenant_id, config in wanted.items():
            if tenant_id not in self.sessions:
                session = CompanyPublisher(self.engine, config, self.read, backoff=Backoff(*self.backoff))
                task = asyncio.create_task(session.run(), name=f"mqtt publishing {tenant_id}")
                self.sessions[tenant_id] = (session, task)

    async def _stop_one(self, tenant_id: UUID) -> None:
        _session, task = self.sessions.pop(tenant_id)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def stop(self) -> None:
        for tenant_id in list(self.sessions):
            await self._stop_one(tenant_id)
