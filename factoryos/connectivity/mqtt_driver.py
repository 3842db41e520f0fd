"""MQTT ingest as a driver: the broker pushes, the poller reads what was pushed last.

One broker session (MQTT 5, TLS with `mqtts://`) per endpoint, shared by its machines. A
listener task keeps the latest values of every subscribed Sparkplug B node/device and JSON
topic; `read` turns them into `Reading`s like a PLC read, so counts, states, anomalies and
continuity follow the rules of every other protocol (a pushed total is read like a polled
one). A dead node or device (NDEATH/DDEATH), one never born, or a JSON topic silent for longer
than `stale_after` is that machine's `NoDataPublished` error: no data, not a stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiomqtt

from factoryos.connectivity.driver import CounterSample, Reading, _DemoteToDebug
from factoryos.connectivity.errors import (
    BrokerAuthenticationFailed,
    BrokerCertificateInvalid,
    ConnectivityError,
    EndpointUnavailable,
    NoDataPublished,
    SignalReadFailed,
    os_reason,
)
from factoryos.connectivity.machine_config import JsonSignals, MqttEndpoint, MqttMachine, SparkplugSignals
from factoryos.connectivity.sparkplug.host import MODULUS, NAMESPACE, SparkplugHost, rebirth_request

log = logging.getLogger(__name__)
# paho logs a refused TLS session as an ERROR on every attempt; the endpoint session already
# reports the failure once, with its machine.
_paho_log = logging.getLogger(__name__ + ".paho")
_paho_log.addFilter(_DemoteToDebug(_paho_log, ("failed to receive on socket",)))

# CONNACK reason codes meaning "not you": MQTT 5 (134 bad user name or password, 135 not
# authorised) and MQTT 3.1.1 (4, 5) for brokers that answer in the older protocol.
_AUTH_CODES = {4, 5, 134, 135}


@dataclass
class _JsonTopic:
    payload: Any = None
    received_at: float | None = None  # monotonic
    error: str | None = None


def _field(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"{what} is {value!r}, not a whole number")


class MqttDriver:
    def __init__(self, endpoint: MqttEndpoint, *, first_message_wait: float = 2.0,
                 rebirth_interval: float = 5.0) -> None:
        self.endpoint = endpoint
        self.host = SparkplugHost(rebirth_interval)
        self.rebirths_requested = 0
        self._first_wait = min(first_message_wait, endpoint.timeout)
        self._client: aiomqtt.Client | None = None
        self._listener: asyncio.Task[None] | None = None
        self._lost: ConnectivityError | None = None
        self._subscribed: set[str] = set()
        self._json: dict[str, _JsonTopic] = {}
        self._arrived = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()

    # -- session ------------------------------------------------------------------------
    def _tls(self) -> ssl.SSLContext | None:
        ep = self.endpoint
        if not ep.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=str(ep.ca_certificate) if ep.ca_certificate else None)
            if ep.client_certificate and ep.client_private_key:
                context.load_cert_chain(str(ep.client_certificate), str(ep.client_private_key))
        except (OSError, ssl.SSLError) as exc:
            raise BrokerCertificateInvalid(f"{ep.label}: cannot load the TLS files: {os_reason(exc)}") from None
        return context

    async def connect(self) -> None:
        ep = self.endpoint
        client = aiomqtt.Client(
            ep.host, ep.port, username=ep.username,
            password=ep.password.get_secret_value() if ep.password else None,
            identifier=f"factoryos-{uuid.uuid4().hex[:12]}", protocol=aiomqtt.ProtocolVersion.V5,
            timeout=ep.timeout, tls_context=self._tls(), logger=_paho_log,
        )
        try:
            await client.__aenter__()
        except aiomqtt.MqttCodeError as exc:
            rc = exc.rc if isinstance(exc.rc, int) or exc.rc is None else exc.rc.value
            if rc in _AUTH_CODES:
                raise BrokerAuthenticationFailed(f"{ep.label}: the broker refused the user name or password "
                                                 f"({exc})") from None
            raise EndpointUnavailable(f"{ep.label}: {exc}") from None
        except aiomqtt.MqttError as exc:
            cause = exc.__cause__ or exc.__context__
            reason = os_reason(cause) if isinstance(cause, OSError) else str(exc)
            if ep.tls and "timed out" in reason.lower():
                # TLS 1.3 brokers refuse a missing or unknown client certificate after the
                # handshake: the session then just never starts.
                reason = f"no session within {ep.timeout:g} s (does the broker require a client certificate?)"
            raise EndpointUnavailable(f"{ep.label}: {reason}") from None
        self._client, self._lost = client, None
        # A new session: every node must be (re)born to us, every topic heard anew.
        self._subscribed.clear()
        self._json.clear()
        self.host.forget()
        self._listener = asyncio.create_task(self._listen(client), name=f"mqtt {ep.label}")

    async def close(self) -> None:
        listener, client = self._listener, self._client
        self._listener = self._client = None
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if client is not None:
            with contextlib.suppress(Exception):  # already gone: nothing to close
                await client.__aexit__(None, None, None)

    async def _listen(self, client: aiomqtt.Client) -> None:
        reason = "the session ended"
        try:
            async for message in client.messages:
                try:
                    self._on_message(str(message.topic), message.payload)
                except Exception:  # one odd message must not end ingest for every machine
                    log.exception("cannot handle a message on %s", message.topic)
        except aiomqtt.MqttError as exc:
            reason = str(exc)
        # Values kept from now on would be stale: the next read fails, the session reconnects.
        self._lost = EndpointUnavailable(f"{self.endpoint.label}: connection to the broker lost ({reason})")

    def _on_message(self, topic: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
        if topic.startswith(NAMESPACE + "/"):
            if (node := self.host.handle(topic, bytes(data), time.monotonic())) is not None:
                self._request_rebirth(*node)
        elif (entry := self._json.get(topic)) is not None:
            if not data:
                return  # a retained message being cleared, not a machine's message
            try:
                entry.payload, entry.error = json.loads(data), None
            except ValueError as exc:
                entry.error = f"message on {topic} is not JSON: {exc}"
            entry.received_at = time.monotonic()
        self._arrived.set()

    def _request_rebirth(self, group: str, node: str) -> None:
        if self._client is None:
            return
        topic, payload = rebirth_request(group, node, int(time.time() * 1000))
        self.rebirths_requested += 1
        log.info("asking Sparkplug node %s/%s for a rebirth", group, node)
        task = asyncio.get_running_loop().create_task(self._publish(topic, payload))
        self._sending.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(self._sending.discard)

    async def _publish(self, topic: str, payload: bytes) -> None:
        if self._client is None:
            return
        try:
            await self._client.publish(topic, payload, qos=0)
        except aiomqtt.MqttError as exc:  # the session is going down: the next connect asks again
            log.debug("rebirth request not sent: %s", exc)

    # -- reading ------------------------------------------------------------------------
    async def _subscribe(self, machines: Sequence[MqttMachine]) -> bool:
        """Subscribe to what these machines publish; True when anything was new."""
        assert self._client is not None
        wanted: dict[str, MqttMachine] = {}
        for machine in machines:
            s = machine.signals
            if isinstance(s, SparkplugSignals):
                # The node's own messages (NBIRTH, NDEATH, NDATA) carry its sequence numbers too.
                wanted.setdefault(f"{NAMESPACE}/{s.group_id}/+/{s.edge_node_id}", machine)
                wanted.setdefault(f"{NAMESPACE}/{s.group_id}/+/{s.edge_node_id}/+", machine)
            else:
                self._json.setdefault(s.topic, _JsonTopic())
                wanted.setdefault(s.topic, machine)
        fresh = [t for t in wanted if t not in self._subscribed]
        if not fresh:
            return False
        try:
            await self._client.subscribe([(t, 1) for t in fresh])
        except aiomqtt.MqttError as exc:
            raise EndpointUnavailable(f"{self.endpoint.label}: subscribing failed ({exc})") from None
        self._subscribed.update(fresh)
        now = time.monotonic()
        for machine in machines:
            s = machine.signals
            if isinstance(s, SparkplugSignals) and self.host.ask_if_unborn(s.group_id, s.edge_node_id, now):
                self._request_rebirth(s.group_id, s.edge_node_id)
        return True

    async def read(self, machines: Sequence[MqttMachine]) -> dict[str, Reading | ConnectivityError]:
        if self._lost is not None or self._client is None:
            raise self._lost or EndpointUnavailable(f"{self.endpoint.label}: not connected")
        if await self._subscribe(machines):
            # Births and retained messages answer within moments: wait for them once, so a
            # machine just added does not show "no data" for its first poll.
            deadline = time.monotonic() + self._first_wait
            while time.monotonic() < deadline and any(isinstance(self._reading(m), NoDataPublished)
                                                      for m in machines):
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))
        return {m.machine_id: self._reading(m) for m in machines}

    def _reading(self, machine: MqttMachine) -> Reading | ConnectivityError:
        s = machine.signals
        if isinstance(s, SparkplugSignals):
            return self._sparkplug_reading(s)
        return self._json_reading(s)

    def _sparkplug_reading(self, s: SparkplugSignals) -> Reading | ConnectivityError:
        where = f"{s.group_id}/{s.edge_node_id}" + (f"/{s.device_id}" if s.device_id else "")
        source = self.host.source(s.group_id, s.edge_node_id, s.device_id)
        if source is None or not source.online:
            reason = source.reason if source is not None else "no birth certificate received yet"
            return NoDataPublished(f"Sparkplug {where}: {reason}")
        try:
            values = {}
            for signal in ("good", "reject", "state", "alarm"):
                name = getattr(s, signal)
                if name is None:
                    continue
                if name not in source.values:
                    raise KeyError(name)
                values[signal] = source.values[name]
            good, reject = (self._sample(values[k], f"metric {getattr(s, k)!r}") for k in ("good", "reject"))
            state = _integer(values["state"][0], f"metric {s.state!r}")
            alarm = _integer(values["alarm"][0], f"metric {s.alarm!r}") if "alarm" in values else None
        except KeyError as exc:
            return SignalReadFailed(f"Sparkplug {where}: no metric {exc.args[0]!r} in its birth certificate")
        except ValueError as exc:
            return SignalReadFailed(f"Sparkplug {where}: {exc}")
        return Reading(good=good, reject=reject, state_code=state, alarm_code=alarm)

    @staticmethod
    def _sample(value: tuple[Any, int], what: str) -> CounterSample:
        raw, datatype = value
        return CounterSample(_integer(raw, what), MODULUS.get(datatype))

    def _json_reading(self, s: JsonSignals) -> Reading | ConnectivityError:
        entry = self._json.get(s.topic)
        if entry is None or entry.received_at is None:
            return NoDataPublished(f"topic {s.topic}: nothing published yet")
        if s.stale_after is not None and time.monotonic() - entry.received_at > s.stale_after:
            return NoDataPublished(f"topic {s.topic}: nothing published for more than {s.stale_after:g} s")
        if entry.error is not None:
            return SignalReadFailed(entry.error)
        try:
            good = _integer(_field(entry.payload, s.good), f"field {s.good!r}")
            reject = _integer(_field(entry.payload, s.reject), f"field {s.reject!r}")
            state = _integer(_field(entry.payload, s.state), f"field {s.state!r}")
            alarm = _integer(_field(entry.payload, s.alarm), f"field {s.alarm!r}") if s.alarm else None
        except KeyError as exc:
            return SignalReadFailed(f"topic {s.topic}: the message has no field {exc.args[0]!r}")
        except ValueError as exc:
            return SignalReadFailed(f"topic {s.topic}: {exc}")
        return Reading(good=CounterSample(good, None), reject=CounterSample(reject, None), state_code=state,
                       alarm_code=alarm)
