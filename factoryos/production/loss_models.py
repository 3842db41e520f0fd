"""Request and response shapes of reasons, downtime events and rejections."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from factoryos.plant.listing import ListQuery

LossBucket = Literal["availability", "performance", "quality"]
Level = Literal["category", "reason", "sub_reason"]
Note = Annotated[str, Field(max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- reasons ----------------------------------------------------------------------------


class ReasonIn(_In):
    parent_id: UUID | None = Field(None, description="Omit for a new category.")
    name: Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=200)]
    code: str | None = Field(None, pattern=r"^[A-Z0-9][A-Z0-9_.-]{0,59}$",
                             description="Stable code; derived from the parent's code and the name when omitted.")
    loss_bucket: LossBucket | None = Field(None,
                                           description="Required for a category; children default to the parent's.")
    planned: bool | None = Field(None, description="Required for a category; children default to the parent's.")


class ReasonPatch(_In):
    name: Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=200)] | None = None
    active: bool | None = None


class ReasonOut(BaseModel):
    id: UUID
    parent_id: UUID | None
    level: Level
    code: str
    name: str
    loss_bucket: LossBucket
    planned: bool
    active: bool
    created_at: datetime


class ReasonQuery(ListQuery):
    limit: int = Field(500, ge=1, le=500, description="Page size (the whole default tree fits one page).")
    loss_bucket: LossBucket | None = None
    planned: bool | None = None
    level: Level | None = None
    parent_id: UUID | None = None
    active: bool | None = None


# -- downtime ---------------------------------------------------------------------------


class DowntimeIn(_In):
    machine_id: UUID
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = Field(None, description="Omit while the machine is still down.")
    reason_id: UUID | None = None
    planned: bool | None = Field(None, description="Required without a reason; must match the reason's tag with one.")
    note: Note | None = None


class DowntimePatch(_In):
    ended_at: AwareDatetime | None = Field(None, description="Close an open manual event.")
    note: Note | None = None


class ReasonAssign(_In):
    reason_id: UUID
    note: Note | None = None


class DowntimeOut(BaseModel):
    id: UUID
    machine_id: UUID
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None = Field(description="Null while open.")
    planned: bool
    reason_id: UUID | None
    source: Literal["manual", "machine"]
    needs_reason: bool
    note: str | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class DowntimeQuery(ListQuery):
    machine_id: UUID | None = None
    site_id: UUID | None = None
    needs_reason: bool | None = None
    source: Literal["manual", "machine"] | None = None
    since: AwareDatetime | None = Field(None, description="Events that end after this instant (or are open).")
    until: AwareDatetime | None = Field(None, description="Events that start before this instant.")


# -- rejections -------------------------------------------------------------------------


class ShiftRef(_In):
    """Which shift instance a record belongs to: by id, by shift + local date, or the running one."""

    shift_instance_id: UUID | None = None
    shift_id: UUID | None = Field(None, description="A shift pattern, with shift_date.")
    shift_date: date | None = Field(None, description="The local date the shift starts on.")


class RejectionIn(ShiftRef):
    machine_id: UUID
    quantity: int = Field(gt=0, description="Parts scrapped (not counted as good anywhere else).")
    reason_id: UUID = Field(description="A reason whose loss bucket is quality.")
    occurred_at: AwareDatetime | None = Field(None, description="Defaults to now, or the shift's end for a past shift.")
    operator_id: UUID | None = Field(None, description="Defaults to you.")
    note: Note | None = None
    operation_id: UUID | None = Field(
        None, description="The order operation scrapped for; defaults to the one running on the machine at occurred_at.")


class RejectionOut(BaseModel):
    id: UUID
    machine_id: UUID
    shift_instance_id: UUID
    operator_id: UUID
    quantity: int
    reason_id: UUID
    occurred_at: datetime
    note: str | None
    created_by: UUID | None
    created_at: datetime
    operation_id: UUID | None = None


class RejectionQuery(ListQuery):
    machine_id: UUID | None = None
    shift_instance_id: UUID | None = None
    reason_id: UUID | None = None
