"""The query of `/api/v1/reports/quality` (server and client)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factoryos.reports.days import report_day
from factoryos.reports.render import ReportFormat


class QualityReportQuery(BaseModel):
    """`/api/v1/reports/quality`: one product over whole local days."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    product: str = Field(min_length=1, max_length=60, description="The product's number (or id).")
    from_: date = Field(alias="from", description="First day, YYYY-MM-DD (the site's local days).")
    to: date = Field(description="Last day, included.")
    format: ReportFormat = Field(ReportFormat.PDF, description="pdf, xlsx or json.")

    @field_validator("from_", "to")
    @classmethod
    def _day(cls, value: date) -> date:
        return report_day(value)

    @field_validator("format", mode="before")
    @classmethod
    def _format(cls, value: object) -> ReportFormat:
        return ReportFormat.parse(str(value))
