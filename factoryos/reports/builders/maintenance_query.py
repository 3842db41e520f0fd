"""The query of `/api/v1/reports/maintenance` (server and client)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from factoryos.reports.days import report_day
from factoryos.reports.render import ReportFormat


class MaintenanceReportQuery(BaseModel):
    """`/api/v1/reports/maintenance`: whole local days of the company's first site."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from", description="First day, YYYY-MM-DD.")
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
