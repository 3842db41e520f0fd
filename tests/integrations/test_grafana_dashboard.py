"""The example Grafana dashboard in docs/ (issue 20) queries only metrics the server exports, so
a renamed metric fails here rather than leaving an empty panel at a plant."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import server.metrics  # noqa: F401  # registers the server's metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "factoryos-server.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("factoryos_"):
            continue
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        if family.name.endswith("_timestamp_seconds"):  # /metrics adds the age of each timestamp
            names.add(family.name.removesuffix("_timestamp_seconds") + "_age_seconds")
    return names


def test_every_panel_queries_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"factoryos_[a-z_]+", target["expr"])}
    assert queried, "the dashboard queries nothing"
    assert queried <= exported(), sorted(queried - exported())
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
