"""What a report request names: the topic, a site or line, a period and an output format."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from factoryos.errors import ValidationFailed
from factoryos.reports.model import ReportKind
from factoryos.reports.render import ReportFormat


class ReportTopic(StrEnum):
    """The report endpoints (`/api/v1/reports/{topic}`) and CLI commands."""

    PRODUCTION = "production"
    MACHINES = "machines"
    SHIFTS = "shifts"
    OPERATORS = "operators"
    REJECTIONS = "rejections"
    DOWNTIME = "downtime"

    @property
    def kind(self) -> ReportKind:
        return _KINDS[self]


_KINDS = {
    ReportTopic.PRODUCTION: ReportKind.OEE_SUMMARY,
    ReportTopic.MACHINES: ReportKind.PRODUCTION_BY_MACHINE,
    ReportTopic.SHIFTS: ReportKind.PRODUCTION_BY_SHIFT,
    ReportTopic.OPERATORS: ReportKind.PRODUCTION_BY_OPERATOR,
    ReportTopic.REJECTIONS: ReportKind.REJECTIONS_BY_REASON,
    ReportTopic.DOWNTIME: ReportKind.DOWNTIME_BY_REASON,
}


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    format: ReportFormat = Field(ReportFormat.PDF, description="pdf, xlsx or json.")
    site_id: UUID | None = Field(None, description="The site (or give `line_id`).")
    line_id: UUID | None = Field(None, description="One line of the site instead of the whole site.")
    from_: str | None = Field(
        None, alias="from", max_length=40,
        description="Range start: an instant with offset, a local date-time or a local date (site timezone).")
    to: str | None = Field(
        None, max_length=40,
        description="Range end, exclusive; a local date includes that whole day.")
    day: date | None = Field(None, alias="date",
                             description="The shifts starting on this local date (with `shift`: one of them).")
    shift: str | None = Field(None, min_length=1, max_length=80,
                              description="With `date`: the shift's name (e.g. Night) or pattern id.")
    raw: bool = Field(True, description="Include the raw entries (XLSX and JSON; the PDF gives their count).")

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> ReportFormat:
        return ReportFormat.parse(str(value))

    @model_validator(mode="after")
    def _scope_and_period(self) -> ReportQuery:
        if self.site_id is None and self.line_id is None:
            raise ValidationFailed("give site_id or line_id", code="scope_required", field="site_id")
        ranged = self.from_ is not None or self.to is not None
        if ranged and self.day is not None:
            raise ValidationFailed("give either from and to, or date (and shift)", code="period_ambiguous",
                                   field="date")
        if self.shift is not None and self.day is None:
            raise ValidationFailed("a shift needs the date it starts on", code="shift_needs_date", field="date")
        if not ranged and self.day is None:
            raise ValidationFailed("give from and to, or date (and shift)", code="period_required", field="from")
        if ranged and (self.from_ is None or self.to is None):
            raise ValidationFailed("give from and to together", code="period_required",
                                   field="to" if self.to is None else "from")
        return self


class OrderReportQuery(BaseModel):
    """`/api/v1/reports/orders`: one manufacturing order, by id or by number."""

    model_config = ConfigDict(extra="forbid")

    format: ReportFormat = Field(ReportFormat.PDF, description="pdf, xlsx or json.")
    order_id: UUID | None = Field(None, description="The order (or give `number`).")
    number: str | None = Field(None, min_length=1, max_length=60, description="The order number, e.g. MO-1001.")

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> ReportFormat:
        return ReportFormat.parse(str(value))

    @model_validator(mode="after")
    def _one_order(self) -> OrderReportQuery:
        if (self.order_id is None) == (self.number is None):
            raise ValidationFailed("give order_id or number (one of them)", code="required",
                                   field="order_id")
        return self
