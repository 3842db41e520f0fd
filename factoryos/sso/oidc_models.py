"""API shapes of OpenID Connect sign-in: the device handoff for terminals and the browser flow."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.identity.models import SignIn


class DeviceStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320,
                              description="Your email: its domain names the company's provider.")
    provider_id: UUID | None = Field(None, description="The provider, when the email's domain has several "
                                                       "(or with company_id instead of an email).")
    company_id: UUID | None = Field(None, description="With provider_id, when no email is given.")


class DeviceStartOut(BaseModel):
    handle: str = Field(description="Opaque: give it to /device/poll. Keep it private until signed in.")
    provider_id: UUID
    provider_name: str
    user_code: str = Field(description="What the person types at the provider's page.")
    verification_uri: str = Field(description="Where to type it.")
    verification_uri_complete: str | None = Field(None, description="The same page with the code filled in "
                                                                    "(for a QR code).")
    interval: int = Field(description="Seconds between polls.")
    expires_in: int
    expires_at: datetime


class DevicePollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(min_length=20, max_length=4000)


class DevicePollOut(BaseModel):
    status: Literal["pending", "slow_down", "signed_in"] = Field(
        description="pending: not yet; slow_down: poll less often (interval grew); signed_in: see sign_in.")
    interval: int = Field(description="Seconds to wait before the next poll.")
    sign_in: SignIn | None = Field(None, description="When signed in: the same answer as POST /auth/login.")


class BrowserStartQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320)
    company_id: UUID | None = None


class BrowserStartOut(BaseModel):
    """Sent with a 302 to the provider: a browser follows `Location`, a script may read this."""

    authorization_url: str = Field(description="The provider's sign-in page for this sign-in (also `Location`).")


class CallbackQuery(BaseModel):
    """What the provider sends the browser back with (RFC 6749 4.1.2, RFC 9207)."""

    model_config = ConfigDict(extra="ignore")

    state: str | None = Field(None, max_length=4000)
    code: str | None = Field(None, max_length=4000)
    error: str | None = Field(None, max_length=200)
    error_description: str | None = Field(None, max_length=2000)
    iss: str | None = Field(None, max_length=500)
