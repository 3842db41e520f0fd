"""Request and response shapes of inspections, due inspections and SPC (server and client)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.listing import ListQuery
from factoryos.quality.plan_models import MAX_CHARACTERISTICS, MAX_SAMPLE, Kind, Plain, Value, _Body, _In

Trigger = Literal["first_article", "parts", "time", "shift", "manual"]
TRIGGER_TEXT: dict[str, str] = {
    "first_article": "first article", "parts": "parts count", "time": "time", "shift": "shift", "manual": "by hand",
}


class ResultIn(_In):
    characteristic_id: UUID
    values: list[Value] | None = Field(None, min_length=1, max_length=MAX_SAMPLE,
                                       description="Measured: the sample's values (as many as its sample size).")
    passed: bool | None = Field(None, description="Attribute: pass (true) or fail (false).")
    defect: str | None = Field(None, min_length=1, max_length=200, description="Attribute, failed: the defect seen.")


class InspectionIn(_Body):
    machine_id: UUID
    plan_id: UUID = Field(description="The plan; its released version is recorded against.")
    trigger: Trigger | None = Field(None, description="Why it was made; default: what made it due, else `manual`.")
    results: list[ResultIn] = Field(min_length=1, max_length=MAX_CHARACTERISTICS,
                                    description="One result per characteristic of the version.")
    notes: str | None = Field(None, max_length=2000)


class ResultOut(BaseModel):
    characteristic_id: UUID
    lineage_id: UUID
    seq: int
    name: str
    kind: Kind
    unit: str | None
    decimals: int
    nominal: Plain | None
    lsl: Plain | None
    usl: Plain | None
    values: list[Plain] | None
    mean: Plain | None
    range: Plain | None
    passed: bool | None
    defect: str | None
    out_of_spec: bool
    message: str | None = Field(description="What is wrong, in plain words (null when in specification).")


class InspectionOut(BaseModel):
    id: UUID
    plan_id: UUID
    plan_name: str
    version: int
    machine_id: UUID
    machine_code: str
    product_id: UUID | None
    product_number: str | None
    job_id: UUID | None
    job_number: str | None
    operation_id: UUID | None
    trigger: Trigger
    recorded_at: datetime
    recorded_by: UUID | None
    recorded_by_name: str | None
    result: Literal["pass", "fail"]
    out_of_spec: int = Field(description="Characteristics out of specification.")
    notes: str | None
    results: list[ResultOut]


class InspectionSummary(BaseModel):
    id: UUID
    plan_id: UUID
    plan_name: str
    version: int
    machine_id: UUID
    machine_code: str
    product_number: str | None
    job_number: str | None
    trigger: Trigger
    recorded_at: datetime
    recorded_by_name: str | None
    result: Literal["pass", "fail"]
    out_of_spec: int


class InspectionPage(BaseModel):
    items: list[InspectionSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class InspectionQuery(ListQuery):
    machine_id: UUID | None = None
    plan_id: UUID | None = None
    product_id: UUID | None = None
    result: Literal["pass", "fail"] | None = None
    from_: datetime | None = Field(None, alias="from", description="Recorded at or after (with a zone).")
    to: datetime | None = Field(None, description="Recorded before (with a zone).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DueInspection(BaseModel):
    plan_id: UUID
    plan_name: str
    version: int
    machine_id: UUID
    machine_code: str
    trigger: Trigger = Field(description="The rule that made it due first.")
    reasons: list[str] = Field(description="Every rule that makes it due, in plain words.")
    due_since: datetime | None = Field(description="When it became due (null: by parts, when unknown).")
    overdue: bool = Field(description="Due longer than the plan's grace (or past twice the parts interval).")
    parts_since: int | None = Field(description="Parts counted since the last inspection (by-parts plans).")
    product_number: str | None
    job_number: str | None
    operation_id: UUID | None


class DueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    machine_id: UUID


class OverdueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: UUID | None = None


class DueList(BaseModel):
    at: datetime
    items: list[DueInspection]


# -- SPC -------------------------------------------------------------------------------------------


class SpcQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    characteristic_id: UUID = Field(description="Any version's characteristic: the chart follows it across versions.")
    from_: datetime | None = Field(None, alias="from", description="Inspections at or after (with a zone).")
    to: datetime | None = Field(None, description="Inspections before (with a zone).")
    limit: int = Field(200, ge=2, le=2000, description="The latest subgroups, at most.")


class SpcLimits(BaseModel):
    centre: float
    upper: float
    lower: float


class SpcPoint(BaseModel):
    inspection_id: UUID
    recorded_at: datetime
    value: float = Field(description="The subgroup mean (X̄) or the value (I).")
    spread: float | None = Field(description="The subgroup range (R) or the moving range (MR).")
    values: list[float]
    rules: list[str] = Field(description="Rules this point breaks: beyond_limits, run_one_side, trend.")


class SpcCapability(BaseModel):
    mean: float
    sigma_within: float | None = Field(description="R̄/d2 (MR̄/1.128 for individuals).")
    sigma_overall: float | None = Field(description="The sample standard deviation of every value (n − 1).")
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    values: int = Field(description="The sample size: individual values the figures rest on.")
    subgroups: int


class SpcOut(BaseModel):
    characteristic_id: UUID
    lineage_id: UUID
    name: str
    unit: str | None
    decimals: int
    lsl: Plain | None
    usl: Plain | None
    nominal: Plain | None
    kind: Literal["xbar_r", "i_mr"] | None = Field(description="Null: fewer than 2 subgroups to chart.")
    n: int = Field(description="Values per subgroup.")
    location: SpcLimits | None = Field(description="X̄ (or I) chart: centre line and 3σ limits.")
    spread: SpcLimits | None = Field(description="R (or MR) chart.")
    points: list[SpcPoint]
    capability: SpcCapability | None
    violations: int
    rule_text: dict[str, str]

