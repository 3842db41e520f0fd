"""Response shapes the client returns: the server's own models, re-exported.

Every shape is declared once in `factoryos` (plain pydantic modules) and used by the
server's routes, the OpenAPI document and this client alike. `Account` and `Invite` are
the client's names for `AccountOut` and `InviteOut`.
"""

from __future__ import annotations

from factoryos.identity.models import AccountOut as Account
from factoryos.identity.models import (
    CompanyOut,
    CompanyRef,
    Enrollment,
    InvitePage,
    Me,
    Member,
    MemberPage,
    NewInvite,
    RecoveryCodes,
    SignIn,
    TokenPair,
)
from factoryos.identity.models import InviteOut as Invite
from factoryos.identity.permissions import INVITABLE_ROLES, PERMISSIONS, ROLE_TITLES, ROLES
from factoryos.live.models import LiveMachine, LiveOrder, LiveView
from factoryos.plant.listing import Page
from factoryos.plant.models import LineOut, MachineOut, SiteOut
from factoryos.plant.status import StatusMapping
from factoryos.production.anomaly_models import AnomalyOut
from factoryos.production.entry_models import EntryOut, PlanOut
from factoryos.production.kpi_models import KpiTotalsOut, KpiValues, OeeReport
from factoryos.production.loss_models import DowntimeOut, ReasonOut, RejectionOut
from factoryos.production.shift_models import ShiftInstanceOut, ShiftPatternOut
from factoryos.production.timeline_models import HourCounts, MachineTimeline, StateSpan
from factoryos.system.models import AuditEntry, AuditPage

__all__ = [
    "INVITABLE_ROLES", "PERMISSIONS", "ROLES", "ROLE_TITLES",
    "Account", "AnomalyOut", "AuditEntry", "AuditPage", "CompanyOut", "CompanyRef", "DowntimeOut", "Enrollment",
    "EntryOut", "HourCounts",
    "Invite", "InvitePage", "KpiTotalsOut", "KpiValues", "LineOut", "LiveMachine", "LiveOrder", "LiveView",
    "MachineOut", "MachineTimeline", "Me",
    "Member", "MemberPage", "NewInvite", "OeeReport", "Page", "PlanOut", "ReasonOut", "RecoveryCodes",
    "RejectionOut", "ShiftInstanceOut", "ShiftPatternOut", "SignIn", "SiteOut", "StateSpan", "StatusMapping",
    "TokenPair",
]
