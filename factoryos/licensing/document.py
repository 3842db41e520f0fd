"""The license document: who may run which edition, with which limits, until when."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Edition(StrEnum):
    CORE = "core"
    ADVANCED = "advanced"
    ENTERPRISE = "enterprise"


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    machines: int = Field(ge=1, description="Machines that may be monitored.")
    users: int = Field(ge=1, description="User accounts across all tenants.")
    sites: int = Field(ge=1, description="Sites (plants).")


class License(BaseModel):
    """Signed payload. Unknown fields are refused so a newer format is not half-read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int = 1
    license_id: str = Field(min_length=1, max_length=64)
    customer: str = Field(min_length=1, max_length=200)
    edition: Edition
    limits: Limits
    issued_at: dt.datetime
    expires_at: dt.datetime
    host_id: str | None = Field(None, description="Bind to one host (see hostid.py); None ⇒ any host.")

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at

    def days_left(self, now: dt.datetime) -> int:
        return max(0, (self.expires_at - now).days)
