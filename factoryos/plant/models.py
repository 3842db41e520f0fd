"""Request and response shapes of the plant registry (also what the typed client reads)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from factoryos.errors import ValidationFailed
from factoryos.kpi import NoDataPolicy, cycle_time, cycle_time_from_rate, load_zone
from factoryos.plant.listing import ListQuery
from factoryos.plant.status import StatusMapping


def _checked_zone(name: str) -> str:
    # A ValueError (not ValidationFailed) keeps pydantic's field path in the 422.
    try:
        load_zone(name)
    except ValidationFailed as exc:
        raise ValueError(exc.detail) from None
    return name


Name = Annotated[str, AfterValidator(str.strip), Field(min_length=1, max_length=200)]
Code = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$", description="Short unique code, e.g. PRESS-01.")
]
Timezone = Annotated[
    str, Field(max_length=64, description="IANA name, e.g. Europe/Berlin."), AfterValidator(_checked_zone)
]
MachineStatus = Literal["active", "retired"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- sites ------------------------------------------------------------------------------


NO_DATA_POLICY_HELP = (
    "How OEE counts time a machine could not be read (never downtime nor a failure): `busy` keeps it in "
    "planned busy and run time, reported as the loss 'no data'; `planned` counts it like a planned stop; "
    "`unplanned` as an availability loss."
)


PaperSize = Literal["A4", "Letter"]
PAPER_HELP = "The reports' paper: A4 or Letter; null (the default) is Letter in US time zones, A4 elsewhere."


class SiteIn(_In):
    name: Name
    code: Code
    timezone: Timezone
    address: str | None = Field(None, max_length=2000)
    micro_stop_seconds: int = Field(120, ge=0, le=3600, description="Stops shorter than this are performance loss.")
    setup_is_planned: bool = Field(False, description="Count setup as planned time instead of availability loss.")
    no_data_policy: NoDataPolicy = Field(NoDataPolicy.BUSY, description=NO_DATA_POLICY_HELP)
    paper_size: PaperSize | None = Field(None, description=PAPER_HELP)


class SitePatch(_In):
    name: Name | None = None
    code: Code | None = None
    timezone: Timezone | None = None
    address: str | None = Field(None, max_length=2000)
    micro_stop_seconds: int | None = Field(None, ge=0, le=3600)
    setup_is_planned: bool | None = None
    no_data_policy: NoDataPolicy | None = Field(None, description=NO_DATA_POLICY_HELP)
    paper_size: PaperSize | None = Field(None, description=PAPER_HELP)


class SiteOut(BaseModel):
    id: UUID
    name: str
    code: str
    timezone: str
    address: str | None
    micro_stop_seconds: int
    setup_is_planned: bool
    no_data_policy: NoDataPolicy = NoDataPolicy.BUSY
    paper_size: PaperSize | None = None
    created_at: datetime


class SiteQuery(ListQuery):
    pass


# -- areas and lines --------------------------------------------------------------------


class AreaIn(_In):
    site_id: UUID
    name: Name
    code: Code


class AreaPatch(_In):
    name: Name | None = None
    code: Code | None = None


class AreaOut(BaseModel):
    id: UUID
    site_id: UUID
    name: str
    code: str
    created_at: datetime


class AreaQuery(ListQuery):
    site_id: UUID | None = None


class LineIn(_In):
    site_id: UUID
    area_id: UUID | None = None
    name: Name
    code: Code


class LinePatch(_In):
    area_id: UUID | None = None
    name: Name | None = None
    code: Code | None = None


class LineOut(BaseModel):
    id: UUID
    site_id: UUID
    area_id: UUID | None
    name: str
    code: str
    created_at: datetime


class LineQuery(ListQuery):
    site_id: UUID | None = None
    area_id: UUID | None = None


# -- machines ---------------------------------------------------------------------------


class MachineIn(_In):
    site_id: UUID
    line_id: UUID | None = None
    name: Name
    code: Code
    ideal_cycle_seconds: Decimal | None = Field(None, gt=0, le=86400, max_digits=14, decimal_places=6,
                                                description="Ideal time per unit; or give ideal_rate_per_hour.")
    ideal_rate_per_hour: Decimal | None = Field(None, gt=0, le=10_000_000, description="Ideal units per hour.")
    capacity_per_hour: Decimal | None = Field(None, gt=0, le=10_000_000,
                                              description="Nameplate capacity (informational).")
    status: MachineStatus = "active"
    status_mapping: StatusMapping = Field(default_factory=StatusMapping)
    catalog_model_id: UUID | None = Field(None, description="A machine model from the global catalog.")

    @model_validator(mode="after")
    def _one_speed(self) -> MachineIn:
        if (self.ideal_cycle_seconds is None) == (self.ideal_rate_per_hour is None):
            raise ValidationFailed("give exactly one of ideal_cycle_seconds or ideal_rate_per_hour",
                                   code="invalid_cycle_time", field="ideal_cycle_seconds")
        return self


class MachinePatch(_In):
    line_id: UUID | None = None
    name: Name | None = None
    code: Code | None = None
    ideal_cycle_seconds: Decimal | None = Field(None, gt=0, le=86400, max_digits=14, decimal_places=6)
    ideal_rate_per_hour: Decimal | None = Field(None, gt=0, le=10_000_000)
    capacity_per_hour: Decimal | None = Field(None, gt=0, le=10_000_000)
    status: MachineStatus | None = None
    status_mapping: StatusMapping | None = None
    catalog_model_id: UUID | None = None

    @model_validator(mode="after")
    def _one_speed(self) -> MachinePatch:
        if self.ideal_cycle_seconds is not None and self.ideal_rate_per_hour is not None:
            raise ValidationFailed("give only one of ideal_cycle_seconds or ideal_rate_per_hour",
                                   code="invalid_cycle_time", field="ideal_cycle_seconds")
        return self


class MachineOut(BaseModel):
    id: UUID
    site_id: UUID
    line_id: UUID | None
    name: str
    code: str
    ideal_cycle_seconds: float
    ideal_rate_per_hour: float
    capacity_per_hour: float | None
    status: MachineStatus
    status_mapping: StatusMapping
    catalog_model_id: UUID | None
    created_at: datetime
    updated_at: datetime


class MachineQuery(ListQuery):
    site_id: UUID | None = None
    line_id: UUID | None = None
    status: MachineStatus | None = None


def ideal_cycle_seconds(cycle: Decimal | None, rate: Decimal | None) -> Decimal:
    """The stored ideal cycle time (s, 6 decimals) from whichever of cycle or rate was given."""
    delta = cycle_time(cycle) if cycle is not None else cycle_time_from_rate(rate)  # type: ignore[arg-type]
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


# -- site operators ---------------------------------------------------------------------


class OperatorIn(_In):
    user_id: UUID


class OperatorOut(BaseModel):
    user_id: UUID
    site_id: UUID
    email: str
    display_name: str | None
    created_at: datetime
