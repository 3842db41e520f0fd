"""Response shapes the client returns.

Plant and production shapes are the server's own models (plain pydantic modules in
`factoryos`); the identity shapes are declared in `server/`, which clients must not
import, so they are mirrored here (fields the client reads; unknown ones are ignored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from factoryos.identity.permissions import INVITABLE_ROLES, PERMISSIONS, ROLE_TITLES, ROLES
from factoryos.plant.listing import Page
from factoryos.plant.models import LineOut, MachineOut, SiteOut
from factoryos.plant.status import StatusMapping
from factoryos.production.anomaly_models import AnomalyOut
from factoryos.production.entry_models import EntryOut, PlanOut
from factoryos.production.kpi_models import KpiTotalsOut, KpiValues, LiveMachine, LiveView, OeeReport
from factoryos.production.loss_models import DowntimeOut, ReasonOut, RejectionOut
from factoryos.production.shift_models import ShiftInstanceOut, ShiftPatternOut

__all__ = [
    "INVITABLE_ROLES", "PERMISSIONS", "ROLES", "ROLE_TITLES",
    "Account", "AnomalyOut", "AuditEntry", "AuditPage", "CompanyOut", "CompanyRef", "DowntimeOut", "Enrollment",
    "EntryOut",
    "Invite", "InvitePage", "KpiTotalsOut", "KpiValues", "LineOut", "LiveMachine", "LiveView", "MachineOut", "Me",
    "Member", "MemberPage", "NewInvite", "OeeReport", "Page", "PlanOut", "ReasonOut", "RecoveryCodes",
    "RejectionOut", "ShiftInstanceOut", "ShiftPatternOut", "SignIn", "SiteOut", "StatusMapping", "TokenPair",
]


class Account(BaseModel):
    id: UUID
    email: str
    display_name: str | None
    mfa_enabled: bool


class CompanyRef(BaseModel):
    id: UUID
    name: str
    role: str


class TokenPair(BaseModel):
    access_token: str
    expires_at: datetime
    expires_in: int
    refresh_token: str | None = None
    session_id: UUID | None = None


class SignIn(TokenPair):
    account: Account
    company: CompanyRef | None
    companies: list[CompanyRef]


class CompanyOut(BaseModel):
    id: UUID
    name: str
    timezone: str | None = None


class Me(BaseModel):
    account: Account
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
    otpauth_uri: str


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


class Member(BaseModel):
    id: UUID
    email: str
    display_name: str | None
    role: str
    granted: list[str]
    denied: list[str]
    permissions: list[str]
    joined_at: datetime
    invited_by: UUID | None
    mfa_enabled: bool


class MemberPage(BaseModel):
    items: list[Member]
    next_cursor: str | None


class Invite(BaseModel):
    id: UUID
    code_hint: str
    role: str
    created_by: UUID
    created_at: datetime
    expires_at: datetime


class NewInvite(Invite):
    code: str


class InvitePage(BaseModel):
    items: list[Invite]
    next_cursor: str | None


class AuditEntry(BaseModel):
    seq: int
    ts: datetime
    actor_id: UUID | None
    action: str
    entity_type: str
    entity_id: str | None
    before: Any
    after: Any
    client_ip: str | None
    user_agent: str | None
    request_id: str | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None
