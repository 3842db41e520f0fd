"""Request and response models of the webhook API (server and client both import these)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal[
    "machine.state_changed",
    "downtime.started",
    "downtime.ended",
    "downtime.reasoned",
    "anomaly.recorded",
    "order.status_changed",
    "work_order.due",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
TEST_EVENT = "webhook.test"  # sent only by "send test event", to the one endpoint asked
DeliveryStatus = Literal["pending", "delivered", "failed"]


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="http:// or https:// address that receives the POSTs.")
    events: list[EventType] = Field(min_length=1, description="The event types this endpoint receives.")
    description: str = Field("", max_length=200)
    enabled: bool = True


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=2000)
    events: list[EventType] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = Field(None, description="true re-enables an endpoint and clears its failure count.")


class EndpointOut(BaseModel):
    id: UUID
    url: str
    description: str
    events: list[str]
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    previous_secret_until: datetime | None = Field(
        None, description="Until then deliveries are signed with the previous secret too (after a rotation).")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret, shown this once: store it in the receiver now.")


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(24, ge=0, le=168, description="How long the old secret keeps signing too.")


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None = Field(None, description="Always null: a company has few endpoints.")


class DeliveryOut(BaseModel):
    id: UUID
    endpoint_id: UUID
    event_id: UUID = Field(description="Sent as `webhook-id`: the same on every retry, for de-duplication.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only).")
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: DeliveryStatus | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=300, description="`next_cursor` of the previous page.")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
