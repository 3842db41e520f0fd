"""The poller's events as Sparkplug B payloads: what a site edge publishes and the ingest reads.

An edge node's devices are its machines. Each DDATA carries one machine's events, in order, as
metrics named `FactoryOS/Event` (String, the event's JSON, timestamped with the event's time).
Metric names, not aliases: births reach only one of the ingest processes sharing a subscription,
so every message must be readable on its own. For the same reason the ingest does not judge
sequence numbers (each process sees only a part of them): completeness comes from QoS 1 and the
edge's spool, duplicates are harmless because every event is stored by its key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from factoryos.connectivity.events import (
    CountDelta,
    CounterAnomaly,
    CounterBaseline,
    Event,
    Health,
    StateChange,
    event_adapter,
)
from factoryos.connectivity.sparkplug.host import BD_SEQ, NAMESPACE, REBIRTH_METRIC, pb

EVENT_METRIC = "FactoryOS/Event"


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def event_time(event: Event) -> datetime:
    if isinstance(event, CountDelta):
        return event.raw_at or event.minute_utc
    if isinstance(event, CounterAnomaly):
        return event.detected_at
    if isinstance(event, StateChange | Health | CounterBaseline):
        return event.at
    raise TypeError(type(event))


def _payload(seq: int | None) -> Any:
    payload = pb.Payload(timestamp=int(time.time() * 1000))
    if seq is not None:
        payload.seq = seq
    return payload


def node_birth(bd_seq: int, seq: int) -> bytes:
    payload = _payload(seq)
    metric = payload.metrics.add()
    metric.name, metric.datatype, metric.long_value = BD_SEQ, pb.Int64, bd_seq
    metric = payload.metrics.add()
    metric.name, metric.datatype, metric.boolean_value = REBIRTH_METRIC, pb.Boolean, False
    return bytes(payload.SerializeToString())


def node_death(bd_seq: int) -> bytes:
    payload = _payload(None)  # a death certificate carries no sequence number
    metric = payload.metrics.add()
    metric.name, metric.datatype, metric.long_value = BD_SEQ, pb.Int64, bd_seq
    return bytes(payload.SerializeToString())


def device_birth(seq: int) -> bytes:
    payload = _payload(seq)
    metric = payload.metrics.add()
    metric.name, metric.datatype, metric.is_null = EVENT_METRIC, pb.String, True
    return bytes(payload.SerializeToString())


def device_data(events: Sequence[Event], seq: int) -> bytes:
    payload = _payload(seq)
    for event in events:
        metric = payload.metrics.add()
        metric.name, metric.datatype = EVENT_METRIC, pb.String
        metric.timestamp = _ms(event_time(event))
        metric.string_value = event_adapter.dump_json(event).decode()
    return bytes(payload.SerializeToString())


def decode_events(data: bytes) -> tuple[list[Event], int]:
    """The events of a DDATA, and how many of its metrics were not readable events."""
    try:
        payload = pb.Payload.FromString(data)
    except Exception:  # protobuf raises DecodeError and friends
        return [], 1
    events: list[Event] = []
    bad = 0
    for metric in payload.metrics:
        if metric.name != EVENT_METRIC:
            continue
        try:
            events.append(event_adapter.validate_json(metric.string_value))
        except ValidationError:
            bad += 1
    return events, bad


def host_state(online: bool) -> bytes:
    """A host application's STATE (Sparkplug 3.0: JSON, not protobuf)."""
    return json.dumps({"online": online, "timestamp": int(time.time() * 1000)}).encode()


def host_online(data: bytes) -> bool:
    try:
        return json.loads(data).get("online") is True
    except (ValueError, AttributeError):
        return False


def topic(group: str, kind: str, node: str, device: str | None = None) -> str:
    return f"{NAMESPACE}/{group}/{kind}/{node}" + (f"/{device}" if device is not None else "")
