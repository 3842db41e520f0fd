"""Request and response shapes of the identity API (auth, setup, invites, users).

One definition for the server's routes, the OpenAPI document and the API client. Plain
pydantic only: the terminal app imports these, so no SQLAlchemy, schema or HTTP framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class _Choice(Protocol):
    """A company the account may sign in to (`factoryos.identity.accounts.CompanyChoice`)."""

    @property
    def tenant_id(self) -> UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...


# --- sign-in ----------------------------------------------------------------------------


class AccountOut(BaseModel):
    id: UUID
    email: str
    display_name: str | None
    mfa_enabled: bool

    @classmethod
    def of(cls, user: Mapping[Any, Any]) -> AccountOut:  # a users row
        return cls(
            id=user["id"], email=user["email"], display_name=user["display_name"], mfa_enabled=user["totp_enabled"]
        )


class CompanyRef(BaseModel):
    id: UUID
    name: str
    role: str

    @classmethod
    def of(cls, choice: _Choice) -> CompanyRef:
        return cls(id=choice.tenant_id, name=choice.name, role=choice.role)


class TokenPair(BaseModel):
    token_type: Literal["bearer"] = "bearer"
    access_token: str
    expires_at: datetime
    expires_in: int
    refresh_token: str | None = None
    session_id: UUID | None = None


class SignIn(TokenPair):
    """Tokens plus who signed in where. Without a company: an account token only (no refresh)."""

    account: AccountOut
    company: CompanyRef | None
    companies: list[CompanyRef]


# --- auth -------------------------------------------------------------------------------


class RegisterBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    display_name: str | None = Field(None, max_length=200)


class RegisterAccepted(BaseModel):
    """The one answer to a registration, whether or not the email had an account already:
    the caller learns nothing about other people's accounts. Sign in next, with the same
    email and password; that fails if the email belonged to someone else."""

    status: Literal["accepted"] = "accepted"
    detail: str = ("If this email can be registered, it now has an account: sign in with the same email "
                   "and password. If it already had one, sign in with that account's password.")


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(None, max_length=12, description="6-digit code when two-factor sign-in is on.")
    recovery_code: str | None = Field(
        None, max_length=24, description="A one-time recovery code instead of the TOTP code."
    )
    company_id: UUID | None = Field(
        None, description="Which company to sign in to (needed when you belong to several)."
    )


class RefreshBody(BaseModel):
    refresh_token: str = Field(max_length=200)


class LogoutBody(BaseModel):
    everywhere: bool = Field(False, description="End all of your sessions in this company, not just this one.")


class CompanyOut(BaseModel):
    id: UUID
    name: str
    industry: str | None
    company_size: str | None
    city: str | None
    default_currency: str | None
    timezone: str | None


class Me(BaseModel):
    account: AccountOut
    company: CompanyOut
    role: str
    role_title: str
    permissions: list[str]
    granted: list[str]
    denied: list[str]
    session_id: UUID | None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


class Enrollment(BaseModel):
    secret: str
    otpauth_uri: str = Field(description="Render as a QR code for the authenticator app.")


class ConfirmBody(BaseModel):
    code: str = Field(max_length=12)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once instead of a TOTP code.")


class DisableBody(BaseModel):
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(None, max_length=12)
    recovery_code: str | None = Field(None, max_length=24)


# --- setup ------------------------------------------------------------------------------


class SetupBody(BaseModel):
    display_name: str | None = Field(None, max_length=200, description="Needed on first contact only.")


class Profile(BaseModel):
    account: AccountOut
    companies: list[CompanyRef]
    setup_required: bool = Field(description="True until the account belongs to a company.")


class OwnerSetupBody(BaseModel):
    display_name: str = Field(max_length=300)
    company_name: str = Field(max_length=300)
    industry: str = Field(max_length=300)
    company_size: str = Field(max_length=20, description="1-10, 11-50, 51-200, 201-500, 501-1000 or 1000+")
    city: str = Field(max_length=300)
    default_currency: str = Field(max_length=10, description="ISO 4217 code, e.g. EUR")
    timezone: str | None = Field(None, max_length=64, description="IANA name, e.g. Europe/Berlin")


# --- invites ----------------------------------------------------------------------------


class InviteBody(BaseModel):
    role: str = Field(description="admin, plant_manager, supervisor, estimator, operator or read_only")


class InviteOut(BaseModel):
    id: UUID
    code_hint: str
    role: str
    created_by: UUID
    created_at: datetime
    expires_at: datetime


class NewInvite(InviteOut):
    code: str = Field(description="Shown once: give it to the person joining (e.g. K7MX-3QPD).")


class InvitePage(BaseModel):
    items: list[InviteOut]
    next_cursor: str | None


class InviteQuery(BaseModel):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200)


class AcceptBody(BaseModel):
    code: str = Field(max_length=20)
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024, description="A new password, or your existing one if you have an account.")
    display_name: str | None = Field(None, max_length=200, description="Needed for a new account.")
    totp_code: str | None = Field(None, max_length=12)
    recovery_code: str | None = Field(None, max_length=24)


# --- users ------------------------------------------------------------------------------


class Member(BaseModel):
    id: UUID = Field(description="The user's id.")
    email: str
    display_name: str | None
    role: str
    granted: list[str]
    denied: list[str]
    permissions: list[str] = Field(description="Effective: role + granted − denied.")
    site_ids: list[UUID] | None = Field(
        None, description="The only sites this member sees and acts on; null: every site of the company.")
    machine_ids: list[UUID] | None = Field(
        None, description="The only machines this member is certified for, sees and records on (within their "
                          "sites); null: every machine of their sites.")
    joined_at: datetime
    invited_by: UUID | None
    mfa_enabled: bool


class MemberPage(BaseModel):
    items: list[Member]
    next_cursor: str | None


class MemberQuery(BaseModel):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200)
    q: str | None = Field(None, max_length=200, description="Filter by name or email.")


class SitesBody(BaseModel):
    """Limit a member to some sites, or (null) give them every site again."""

    model_config = ConfigDict(extra="forbid")

    site_ids: list[UUID] | None = Field(
        ..., min_length=1, max_length=200,
        description="Ids of this company's sites; null clears the limit (every site).")


class PermissionsBody(BaseModel):
    """Single permissions on top of the role. Roles do not change here."""

    model_config = ConfigDict(extra="forbid")

    granted: list[str] | None = Field(None, max_length=50)
    denied: list[str] | None = Field(None, max_length=50)
