"""Onboarding: a new company with its profile and its owner, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, select

from factoryos.db.tenant import set_tenant
from factoryos.errors import Conflict
from factoryos.identity import validation
from factoryos.identity.accounts import require_user, set_display_name, user_companies
from factoryos.identity.memberships import add_member
from factoryos.identity.permissions import OWNER
from factoryos.identity.records import MemberRecord
from factoryos.schema.identity import company_profiles
from factoryos.schema.tenancy import companies


@dataclass(frozen=True)
class CompanyDetails:
    name: str
    industry: str
    company_size: str
    city: str
    default_currency: str
    timezone: str | None = None

    @classmethod
    def validated(
        cls,
        *,
        name: str | None,
        industry: str | None,
        company_size: str | None,
        city: str | None,
        default_currency: str | None,
        timezone: str | None = None,
    ) -> CompanyDetails:
        return cls(
            name=validation.required_text(name, "company_name", max_length=200),
            industry=validation.required_text(industry, "industry", max_length=100),
            company_size=validation.company_size(company_size),
            city=validation.required_text(city, "city", max_length=100),
            default_currency=validation.currency(default_currency),
            timezone=validation.timezone_name(timezone),
        )


@dataclass(frozen=True)
class NewCompany:
    tenant_id: UUID
    owner: RowMapping
    membership: MemberRecord
    details: CompanyDetails

    def audit_view(self) -> dict[str, Any]:
        return {
            "name": self.details.name,
            "industry": self.details.industry,
            "company_size": self.details.company_size,
            "city": self.details.city,
            "default_currency": self.details.default_currency,
            "timezone": self.details.timezone,
        }


def create_company(conn: Connection, owner_id: UUID, display_name: str, details: CompanyDetails) -> NewCompany:
    """Company, profile and owner membership; leaves the connection set to the new tenant."""
    name = validation.display_name(display_name)
    # Locking the account serialises two setups by one owner, so the name check below holds.
    require_user(conn, owner_id, for_update=True)
    taken = {c.name.casefold() for c in user_companies(conn, owner_id) if c.role == OWNER}
    if details.name.casefold() in taken:
        raise Conflict("you already own a company with this name", code="company_name_taken", field="company_name")
    owner = set_display_name(conn, owner_id, name)
    tenant_id = uuid.uuid4()
    set_tenant(conn, tenant_id, owner_id)
    conn.execute(insert(companies).values(tenant_id=tenant_id, name=details.name))
    conn.execute(
        insert(company_profiles).values(
            tenant_id=tenant_id,
            industry=details.industry,
            company_size=details.company_size,
            city=details.city,
            default_currency=details.default_currency,
            timezone=details.timezone,
        )
    )
    membership = add_member(conn, tenant_id, owner_id, OWNER)
    return NewCompany(tenant_id, owner, membership, details)


def company_view(conn: Connection, tenant_id: UUID) -> dict[str, Any]:
    row = (
        conn.execute(
            select(companies.c.tenant_id, companies.c.name, company_profiles)
            .outerjoin(company_profiles, company_profiles.c.tenant_id == companies.c.tenant_id)
            .where(companies.c.tenant_id == tenant_id)
        )
        .mappings()
        .one()
    )
    return {
        "id": row["tenant_id"],
        "name": row["name"],
        "industry": row["industry"],
        "company_size": row["company_size"],
        "city": row["city"],
        "default_currency": row["default_currency"],
        "timezone": row["timezone"],
    }
