"""Request and response shapes of the license API (GET/PUT /api/v1/system/license).

One definition for the server's routes, the OpenAPI document and the API client; plain
pydantic only, so the terminal app can import them.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

MAX_KEY_CHARS = 16_384


class LicenseLimits(BaseModel):
    machines: int
    users: int
    sites: int


class LicenseKey(BaseModel):
    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS,
                     description="The license key (FOS1.…) or the whole content of a .lic file.")


class LicenseStatus(BaseModel):
    status: str = Field(description="licensed, evaluation, expired or invalid")
    valid: bool = Field(description="A license is activated and in force.")
    evaluation: bool = Field(description="The evaluation allowance applies (no license in force).")
    edition: str
    customer: str | None = None
    license_id: str | None = None
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    days_left: int | None = None
    bound_to_host: str | None = Field(None, description="The host id the license is bound to; null ⇒ any host.")
    host_id: str = Field(description="This server's host id (what a bound license must name).")
    limits: LicenseLimits = Field(description="The limits in force.")
    in_use: LicenseLimits = Field(description="What this company uses of them.")
    code: str | None = Field(None, description="Why a license file that exists is not in force.")
    detail: str | None = None
