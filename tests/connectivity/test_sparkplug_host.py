"""The Sparkplug B host's bookkeeping on real protobuf payloads: bdSeq of deaths, aliases, gaps."""

from __future__ import annotations

from typing import Any

from sparkplub_b_packets.core import sparkplug_b_pb2  # the Sparkplug B payload (protobuf)

from factoryos.connectivity.sparkplug.host import SparkplugHost, rebirth_request

pb: Any = sparkplug_b_pb2


def payload(seq: int | None, *metrics: tuple[str | None, int | None, int, Any]) -> bytes:
    """Metrics as (name, alias, datatype, value)."""
    out = pb.Payload(timestamp=1)
    if seq is not None:
        out.seq = seq
    for name, alias, datatype, value in metrics:
        m = out.metrics.add()
        if name:
            m.name = name
        if alias is not None:
            m.alias = alias
        m.datatype = datatype
        if datatype in (pb.Int64, pb.UInt64):
            m.long_value = value & (2**64 - 1)
        else:
            m.int_value = value & 0xFFFFFFFF
    return out.SerializeToString()


def born(host: SparkplugHost, bd_seq: int = 3) -> None:
    assert host.handle("spBv1.0/G/NBIRTH/N", payload(0, ("bdSeq", None, pb.Int64, bd_seq)), 0.0) is None
    assert host.handle("spBv1.0/G/DBIRTH/N/D", payload(1, ("Good", 1, pb.UInt32, 10), ("Temp", 2, pb.Int32, -5)),
                       0.0) is None


def test_signed_values_and_aliases() -> None:
    host = SparkplugHost()
    born(host)
    source = host.source("G", "N", "D")
    assert source is not None and source.values["Temp"] == (-5, pb.Int32)
    assert host.handle("spBv1.0/G/DDATA/N/D", payload(2, (None, 1, 0, 12), (None, 2, 0, -40)), 0.0) is None
    assert source.values["Good"] == (12, pb.UInt32) and source.values["Temp"] == (-40, pb.Int32)


def test_deaths_respect_bdseq() -> None:
    host = SparkplugHost()
    born(host, bd_seq=3)
    host.handle("spBv1.0/G/NDEATH/N", payload(None, ("bdSeq", None, pb.Int64, 2)), 0.0)  # an earlier session's will
    assert host.source("G", "N", "D").online  # type: ignore[union-attr]
    host.handle("spBv1.0/G/NDEATH/N", payload(None, ("bdSeq", None, pb.Int64, 3)), 0.0)
    node, device = host.source("G", "N", None), host.source("G", "N", "D")
    assert node is not None and device is not None and not node.online and not device.online
    assert "NDEATH" in device.reason


def test_unknown_alias_and_gaps_ask_for_one_rebirth_per_interval() -> None:
    host = SparkplugHost(rebirth_interval=5.0)
    born(host)
    assert host.handle("spBv1.0/G/DDATA/N/D", payload(2, (None, 99, pb.UInt32, 1)), 1.0) == ("G", "N")
    assert host.handle("spBv1.0/G/DDATA/N/D", payload(4, (None, 1, 0, 13)), 2.0) is None  # asked 1 s ago
    assert host.gaps == 1
    assert host.handle("spBv1.0/G/DDATA/N/D", payload(9, (None, 1, 0, 14)), 7.0) == ("G", "N")
    assert host.source("G", "N", "D").values["Good"][0] == 14  # type: ignore[union-attr]
    # Data from a node never born to this host: ask it for its births.
    assert SparkplugHost().handle("spBv1.0/G/NDATA/Other", payload(17), 0.0) == ("G", "Other")


def test_rebirth_request_is_the_spec_ncmd() -> None:
    topic, raw = rebirth_request("G", "N", 1700000000000)
    (metric,) = pb.Payload.FromString(raw).metrics
    assert topic == "spBv1.0/G/NCMD/N"
    assert (metric.name, metric.datatype, metric.boolean_value) == ("Node Control/Rebirth", pb.Boolean, True)
