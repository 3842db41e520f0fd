"""Query shapes of the SAML browser pages (the sign-in start and the page a terminal's code is typed in)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DevicePageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str | None = Field(None, max_length=20, description="The code the terminal shows.")


class SamlStartQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
