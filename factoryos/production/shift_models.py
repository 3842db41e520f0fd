"""Request and response shapes of shift patterns and shift instances."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, model_validator

from factoryos.errors import ValidationFailed
from factoryos.kpi import ShiftPattern
from factoryos.plant.listing import ListQuery

ShiftName = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=80)]
Weekday = Annotated[int, Field(ge=0, le=6)]


def _wall(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


# A local wall time without a zone: JSON Schema's `format: time` demands an offset ("22:00:00Z"),
# which a shift pattern in site local time must not have, so it is declared as what it is.
WallTime = Annotated[
    time,
    PlainSerializer(_wall, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$", "examples": ["22:00"]}),
]


class Break(BaseModel):
    """A break in site local wall time, resolved on each date like the shift's own times.

    On the nights the clocks change, each end resolves on its own to the first instant the site's
    clock shows that time or later. Spring (the skipped hour): a break lasts only as long as the
    clock shows it — in Berlin on 29 March 02:15–02:45 vanishes, 01:45–02:30 keeps 01:45–02:00,
    02:30–03:30 keeps 03:00–03:30. Autumn (the repeated hour): a time inside it means its first
    pass, in summer time — 02:00–02:30 is the first 02:00–02:30, but a break from inside the hour
    to after it also spans the whole second pass: 02:30–03:00 on 25 October lasts 1 h 30 min.
    `GET /shifts/instances` shows each night's breaks in UTC."""

    model_config = ConfigDict(extra="forbid")

    start: WallTime = Field(description="Local wall time, e.g. 10:00.")
    end: WallTime


def check_pattern(name: str, start: time, end: time, breaks: list[Break], weekdays: list[int]) -> None:
    """Let the KPI engine judge the pattern (breaks inside the shift, no overlaps).

    Its `ValidationFailed` passes through pydantic untouched, naming the field.
    """
    ShiftPattern(name, start, end, tuple((b.start, b.end) for b in breaks), frozenset(weekdays))


class ShiftPatternIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: UUID
    name: ShiftName
    start: WallTime = Field(description="Local start, e.g. 22:00.")
    end: WallTime = Field(description="Local end; at or before start means the shift crosses midnight.")
    breaks: list[Break] = Field(default_factory=list, max_length=12)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(range(7)), min_length=1, max_length=7,
                                    description="Local weekdays the shift starts on, Monday = 0.")
    active: bool = True

    @model_validator(mode="after")
    def _valid(self) -> ShiftPatternIn:
        check_pattern(self.name, self.start, self.end, self.breaks, self.weekdays)
        return self


class ShiftPatternPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ShiftName | None = None
    start: WallTime | None = None
    end: WallTime | None = None
    breaks: list[Break] | None = Field(None, max_length=12)
    weekdays: list[Weekday] | None = Field(None, min_length=1, max_length=7)
    active: bool | None = None


class ShiftPatternOut(BaseModel):
    id: UUID
    site_id: UUID
    name: str
    start: WallTime
    end: WallTime
    breaks: list[Break]
    weekdays: list[int]
    active: bool
    created_at: datetime
    updated_at: datetime


class ShiftPatternQuery(ListQuery):
    site_id: UUID | None = None
    active: bool | None = None


class UtcInterval(BaseModel):
    start: datetime
    end: datetime


class ShiftInstanceOut(BaseModel):
    id: UUID | None = Field(description="Set once production was recorded against the instance (it is then frozen).")
    pattern_id: UUID
    site_id: UUID
    name: str
    local_date: date = Field(description="The local date the shift starts on (a night shift belongs to it).")
    starts_at: datetime
    ends_at: datetime
    breaks: list[UtcInterval]
    length_seconds: float
    break_seconds: float


class ShiftInstanceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    site_id: UUID
    from_date: date = Field(alias="from", description="First local date (inclusive).")
    to_date: date = Field(alias="to", description="Last local date (inclusive), at most 62 days after `from`.")
    pattern_id: UUID | None = None

    @model_validator(mode="after")
    def _range(self) -> ShiftInstanceQuery:
        if self.to_date < self.from_date:
            raise ValidationFailed("`to` is before `from`", code="invalid_range", field="to")
        if (self.to_date - self.from_date).days > 62:
            raise ValidationFailed("at most 62 days per request", code="range_too_long", field="to")
        return self
