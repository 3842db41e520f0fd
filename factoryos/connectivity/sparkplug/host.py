"""What a Sparkplug B host application knows of the edge nodes it hears: pure state, no I/O.

Per edge node: its bdSeq and sequence numbers, the metric aliases declared in its NBIRTH and
its devices' DBIRTHs, the latest value of every metric, and whether the node and each device
are alive. `handle` takes one message and says whether to ask the node for a rebirth (NCMD
`Node Control/Rebirth`): on a gap in its sequence numbers, data from a node or device that was
never born to us, or an alias it never declared. Counters are totals, so the data that came
with a gap is still taken: a lost DDATA loses no part, it only delays it to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sparkplub_b_packets.core import sparkplug_b_pb2  # the Sparkplug B payload (protobuf)

pb: Any = sparkplug_b_pb2  # generated code: its names exist only at run time

NAMESPACE = "spBv1.0"
REBIRTH_METRIC = "Node Control/Rebirth"
BD_SEQ = "bdSeq"

# Counters of an unsigned type wrap at their width; signed and floating ones have no fixed width.
MODULUS = {pb.UInt8: 1 << 8, pb.UInt16: 1 << 16, pb.UInt32: 1 << 32, pb.UInt64: 1 << 64}
_SIGNED_32 = {pb.Int8: 8, pb.Int16: 16, pb.Int32: 32}


def metric_value(metric: Any, datatype: int) -> Any:
    """The value of a protobuf metric as a Python value (signed types are sent as two's complement)."""
    if metric.is_null:
        return None
    kind = metric.WhichOneof("value")
    if kind is None:
        return None
    value = getattr(metric, kind)
    if datatype in _SIGNED_32 and isinstance(value, int):
        bits = _SIGNED_32[datatype]
        value &= (1 << bits) - 1
        return value - (1 << bits) if value >= 1 << (bits - 1) else value
    if datatype == pb.Int64 and isinstance(value, int) and value >= 1 << 63:
        return value - (1 << 64)
    return value


@dataclass
class Source:
    """One edge node or device: alive or not, and its metrics by name as (value, datatype)."""

    online: bool = False
    reason: str = "no birth certificate received yet"
    values: dict[str, tuple[Any, int]] = field(default_factory=dict)
    aliases: dict[int, str] = field(default_factory=dict)
    datatypes: dict[str, int] = field(default_factory=dict)

    def birth(self, metrics: Any) -> None:
        self.online, self.reason = True, ""
        self.values, self.aliases, self.datatypes = {}, {}, {}
        for metric in metrics:
            if metric.HasField("alias"):
                self.aliases[metric.alias] = metric.name
            self.datatypes[metric.name] = metric.datatype
            self.values[metric.name] = (metric_value(metric, metric.datatype), metric.datatype)

    def update(self, metrics: Any) -> bool:
        """Apply DATA metrics; False when one names an alias or metric this source never declared."""
        known = True
        for metric in metrics:
            name = metric.name if metric.name else self.aliases.get(metric.alias)
            if name is None or name not in self.datatypes:
                known = False
                continue
            datatype = metric.datatype or self.datatypes[name]
            self.values[name] = (metric_value(metric, datatype), datatype)
        return known

    def die(self, reason: str) -> None:
        self.online, self.reason = False, reason


@dataclass
class Node:
    bd_seq: int | None = None
    seq: int | None = None  # the last sequence number received
    node: Source = field(default_factory=Source)
    devices: dict[str, Source] = field(default_factory=dict)
    rebirth_asked_at: float | None = None


class SparkplugHost:
    """The host's view of every edge node it is subscribed to."""

    def __init__(self, rebirth_interval: float = 5.0) -> None:
        self.nodes: dict[tuple[str, str], Node] = {}
        self.rebirth_interval = rebirth_interval  # no second request while the node has had time to answer
        self.gaps = 0

    def source(self, group: str, node: str, device: str | None) -> Source | None:
        state = self.nodes.get((group, node))
        if state is None:
            return None
        return state.node if device is None else state.devices.get(device)

    def forget(self) -> None:
        """The broker session was lost: what we knew may be stale, every node must be reborn."""
        self.nodes.clear()

    def handle(self, topic: str, payload: bytes, now: float) -> tuple[str, str] | None:
        """Apply one message; returns (group, edge node) when that node should be asked to rebirth."""
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
            return None
        group, kind, node_id = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) == 5 else None
        if kind in ("NCMD", "DCMD", "STATE"):
            return None
        try:
            message = pb.Payload.FromString(payload)
        except Exception:  # protobuf raises DecodeError and friends: a corrupt message is a gap
            message = None
        node = self.nodes.setdefault((group, node_id), Node())
        if message is None:
            return self._ask(group, node_id, node, now)
        if kind == "NDEATH":
            bd_seq = next((int(m.long_value or m.int_value) for m in message.metrics if m.name == BD_SEQ), None)
            if node.bd_seq is not None and bd_seq is not None and bd_seq != node.bd_seq:
                return None  # the will of an earlier session of the node, delivered late
            node.node.die("edge node died (NDEATH)")
            for source in node.devices.values():
                source.die("edge node died (NDEATH)")
            node.seq = None
            return None
        seq = message.seq if message.HasField("seq") else None
        if kind == "NBIRTH":
            node.bd_seq = next((int(m.long_value or m.int_value) for m in message.metrics if m.name == BD_SEQ), None)
            node.seq, node.rebirth_asked_at = seq, None
            node.node.birth(message.metrics)
            for source in node.devices.values():  # devices must be reborn after their node
                source.die("waiting for the device's birth after its node's rebirth")
            return None
        in_order = node.seq is not None and seq is not None and seq == (node.seq + 1) % 256
        if node.seq is not None and not in_order:
            self.gaps += 1
        node.seq = seq
        known = node.node.online
        if kind == "DBIRTH" and device is not None:
            node.devices.setdefault(device, Source()).birth(message.metrics)
        elif kind == "DDEATH" and device is not None:
            node.devices.setdefault(device, Source()).die("device died (DDEATH)")
        elif kind == "NDATA":
            known = known and node.node.update(message.metrics)
        elif kind == "DDATA" and device is not None:
            born = node.devices.get(device)
            known = known and born is not None and born.online and born.update(message.metrics)
        return None if known and in_order else self._ask(group, node_id, node, now)

    def ask_if_unborn(self, group: str, node_id: str, now: float) -> bool:
        """A host that subscribes after a node's birth asks it for its births (once per interval)."""
        node = self.nodes.setdefault((group, node_id), Node())
        return not node.node.online and self._ask(group, node_id, node, now) is not None

    def _ask(self, group: str, node_id: str, node: Node, now: float) -> tuple[str, str] | None:
        if node.rebirth_asked_at is not None and now - node.rebirth_asked_at < self.rebirth_interval:
            return None
        node.rebirth_asked_at = now
        return group, node_id


def rebirth_request(group: str, node: str, timestamp_ms: int) -> tuple[str, bytes]:
    """Topic and payload of an NCMD asking `node` to publish its NBIRTH and DBIRTHs again."""
    payload = pb.Payload(timestamp=timestamp_ms)
    metric = payload.metrics.add()
    metric.name, metric.datatype, metric.boolean_value = REBIRTH_METRIC, pb.Boolean, True
    metric.timestamp = timestamp_ms
    return f"{NAMESPACE}/{group}/NCMD/{node}", payload.SerializeToString()
