"""Request and response models of the edge API (server, CLI and the edge process import these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class EdgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: UUID = Field(description="The site whose machines this edge polls and publishes.")
    name: str = Field(min_length=1, max_length=100, description="Unique among the site's edges in force.")


class EdgeOut(BaseModel):
    id: UUID
    site_id: UUID
    name: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    mqtt_username: str = Field(description="The edge's user name at the broker (its id).")
    group_id: str = Field(description="Sparkplug B group the edge publishes under (the company id).")


class EdgeCreated(EdgeOut):
    secret: str = Field(description="The broker password; shown this once.")
    token: str = Field(description="Bearer token of the edge's own API calls; shown this once.")


class EdgePage(BaseModel):
    items: list[EdgeOut]


class StoredCounterOut(BaseModel):
    raw: int
    read_at: datetime


class EdgeConfigOut(BaseModel):
    """What an edge polls: its site's enabled machine connections, as the poller's configs
    (passwords included: the edge connects to the PLCs), and each counter's stored baseline."""

    edge_id: UUID
    group_id: str
    site_id: UUID
    machines: list[dict[str, Any]]
    baselines: dict[str, dict[str, StoredCounterOut]] = Field(
        default_factory=dict, description="Machine poll id → signal → the newest stored counter value.")
