"""Response shapes of OEE reports; the query of `/kpis/oee`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from factoryos.errors import ValidationFailed
from factoryos.kpi import KpiTotals, Kpis

Scope = Literal["machine", "line", "site"]
MAX_RANGE_DAYS = 93
_US = 1_000_000


class KpiValues(BaseModel):
    """Ratios are exact up to the final division (null when the denominator is zero)."""

    availability: float | None
    performance: float | None = Field(description="May exceed 1 when the ideal cycle time is set too slow.")
    quality: float | None
    oee: float | None
    mtbf_seconds: float | None
    mttr_seconds: float | None
    first_pass_yield: float | None
    scrap_rate: float | None
    target_attainment: float | None

    @classmethod
    def of(cls, k: Kpis) -> KpiValues:
        return cls(
            availability=k.availability, performance=k.performance, quality=k.quality, oee=k.oee,
            mtbf_seconds=None if k.mtbf is None else k.mtbf.total_seconds(),
            mttr_seconds=None if k.mttr is None else k.mttr.total_seconds(),
            first_pass_yield=k.first_pass_yield, scrap_rate=k.scrap_rate, target_attainment=k.target_attainment,
        )


class KpiTotalsOut(BaseModel):
    """The additive components (what roll-ups sum before dividing)."""

    calendar_seconds: float
    break_seconds: float
    planned_stop_seconds: float
    setup_seconds: float
    unplanned_stop_seconds: float
    micro_stop_seconds: float
    planned_busy_seconds: float
    run_seconds: float
    ideal_seconds: float
    failure_count: int
    micro_stop_count: int
    good_count: int
    reject_count: int
    rework_count: int
    total_count: int
    target_quantity: int | None
    no_data_seconds: float = Field(0.0, description="Time the machine could not be read: never downtime nor a "
                                   "failure; the site's `no_data_policy` says how OEE counts it.")
    no_data_planned_seconds: float = Field(0.0, description="Part of `no_data_seconds` out of planned busy time.")
    no_data_unplanned_seconds: float = Field(0.0, description="Part of `no_data_seconds` charged to availability.")
    no_data_count: int = 0

    @classmethod
    def of(cls, t: KpiTotals) -> KpiTotalsOut:
        return cls(
            calendar_seconds=t.calendar_us / _US, break_seconds=t.break_us / _US,
            planned_stop_seconds=t.planned_stop_us / _US, setup_seconds=t.setup_us / _US,
            unplanned_stop_seconds=t.unplanned_stop_us / _US, micro_stop_seconds=t.micro_stop_us / _US,
            planned_busy_seconds=t.planned_busy_us / _US, run_seconds=t.run_us / _US, ideal_seconds=t.ideal_us / _US,
            failure_count=t.failure_count, micro_stop_count=t.micro_stop_count, good_count=t.good_count,
            reject_count=t.reject_count, rework_count=t.rework_count, total_count=t.total_count,
            target_quantity=t.target_quantity, no_data_seconds=t.no_data_us / _US,
            no_data_planned_seconds=t.no_data_planned_us / _US, no_data_unplanned_seconds=t.no_data_unplanned_us / _US,
            no_data_count=t.no_data_count,
        )


class MachineKpis(BaseModel):
    machine_id: UUID
    code: str
    name: str
    totals: KpiTotalsOut
    kpis: KpiValues


class OeeReport(BaseModel):
    scope: Scope
    id: UUID
    start: datetime = Field(description="Start of the reported time (UTC).")
    end: datetime = Field(description="End of the reported time (UTC), never after now.")
    windows: int = Field(description="Shift instances (or whole ranges for sites without shifts) counted.")
    totals: KpiTotalsOut
    kpis: KpiValues
    machines: list[MachineKpis] = Field(description="Per machine; the scope's figures are their sums, divided last.")


class OeeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    scope: Scope
    id: UUID = Field(description="The machine, line or site.")
    from_: AwareDatetime | None = Field(None, alias="from", description="Range start (with `to`).")
    to: AwareDatetime | None = Field(None, description="Range end, exclusive.")
    shift_instance_id: UUID | None = Field(None, description="One recorded shift instance instead of a range.")
    day: date | None = Field(None, alias="date",
                             description="The site's shifts starting on this local date instead of a range.")
    shift: Literal["running"] | None = Field(
        None, description="`running`: the shift running now at the site, from its start to now (no shift running: "
        "no windows), instead of a range. Served from a computation shared by every reader of the site: at most "
        "2 × max(FACTORYOS_LIVE_SNAPSHOT_SECONDS, 2) seconds old (`end` is the instant it was computed at).")

    @model_validator(mode="after")
    def _one_period(self) -> OeeQuery:
        given = [self.from_ is not None or self.to is not None, self.shift_instance_id is not None,
                 self.day is not None, self.shift is not None]
        if sum(given) != 1:
            raise ValidationFailed("give either from and to, or shift_instance_id, or date, or shift=running",
                                   code="period_required", field="from")
        if given[0]:
            if self.from_ is None or self.to is None:
                raise ValidationFailed("give from and to together", code="period_required",
                                       field="to" if self.to is None else "from")
            if self.to <= self.from_:
                raise ValidationFailed("`to` must be after `from`", code="invalid_range", field="to")
            if (self.to - self.from_).days > MAX_RANGE_DAYS:
                raise ValidationFailed(f"at most {MAX_RANGE_DAYS} days per request", code="range_too_long", field="to")
        return self
