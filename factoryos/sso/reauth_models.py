"""API shapes of re-authentication at the identity provider for an electronic signature (people
who sign in only through OIDC or SAML). The start answers like the device sign-in start."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReauthStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReauthStatusQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=20, max_length=4000, description="From POST /auth/sso/reauth.")


class ReauthStatusOut(BaseModel):
    status: Literal["pending", "confirmed", "refused"] = Field(description=(
        "pending: not yet; confirmed: sign with `signature.reauth` = the handle; refused: see detail."))
    interval: int = Field(description="Seconds to wait before asking again.")
    provider_name: str
    detail: str | None = None
