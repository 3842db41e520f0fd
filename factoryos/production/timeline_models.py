"""Shapes of a machine's timeline (states and counts per hour) and its query."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from factoryos.errors import ValidationFailed

MAX_RANGE = timedelta(days=2)


class TimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    machine_id: UUID
    from_: AwareDatetime = Field(alias="from", description="Start of the period.")
    to: AwareDatetime = Field(description="End of the period, exclusive; at most 2 days after `from`.")

    @model_validator(mode="after")
    def _period(self) -> TimelineQuery:
        if self.to <= self.from_:
            raise ValidationFailed("`to` must be after `from`", code="invalid_range", field="to")
        if self.to - self.from_ > MAX_RANGE:
            raise ValidationFailed("at most 2 days per request", code="range_too_long", field="to")
        return self


class StateSpan(BaseModel):
    state: str
    started_at: datetime = Field(description="Clipped to the period.")
    ended_at: datetime | None = Field(description="Clipped to the period; null while the state lasts.")


class HourCounts(BaseModel):
    start: datetime = Field(description="Start of the site's local hour (clipped to the period), UTC.")
    end: datetime
    good: int
    reject: int


class MachineTimeline(BaseModel):
    machine_id: UUID
    start: datetime
    end: datetime
    states: list[StateSpan] = Field(description="The machine's states in the period, oldest first.")
    hours: list[HourCounts] = Field(description="Counts per local hour of the site, oldest first.")
