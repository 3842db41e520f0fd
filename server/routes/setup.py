"""Onboarding: the profile on first contact, and a new company with its owner.

Declared PUBLIC because the caller may not have a company yet (the framework authorizes
company tokens only); each handler authenticates the account itself via `account_caller`.
"""

from __future__ import annotations

from factoryos.identity.accounts import CompanyChoice, require_user, set_display_name, user_companies
from factoryos.identity.companies import CompanyDetails, create_company
from factoryos.identity.models import AccountOut, CompanyRef, OwnerSetupBody, Profile, SetupBody, SignIn
from factoryos.identity.permissions import OWNER
from server.api import PUBLIC, Context, Router
from server.auth import account_caller, runtime_of
from server.routes.signin import sign_in

router = Router(prefix="/api/v1/setup", tags=("setup",))


@router.post("", permission=PUBLIC, body=SetupBody, response=Profile)
def setup_profile(ctx: Context, body: SetupBody) -> Profile:
    """Idempotent: the existing profile, or the profile created on first contact."""
    caller = account_caller(ctx)
    user = require_user(ctx.conn, caller.user_id)
    if user["display_name"] is None:
        user = set_display_name(ctx.conn, caller.user_id, body.display_name or "")
    companies = user_companies(ctx.conn, caller.user_id)
    return Profile(
        account=AccountOut.of(user), companies=[CompanyRef.of(c) for c in companies], setup_required=not companies
    )


@router.post("/owner", permission=PUBLIC, body=OwnerSetupBody, response=SignIn, status_code=201)
def setup_owner(ctx: Context, body: OwnerSetupBody) -> SignIn:
    """Create a company with you as its owner (company, profile and membership at once)."""
    caller = account_caller(ctx)
    rt = runtime_of(ctx)
    details = CompanyDetails.validated(
        name=body.company_name,
        industry=body.industry,
        company_size=body.company_size,
        city=body.city,
        default_currency=body.default_currency,
        timezone=body.timezone,
    )
    created = create_company(ctx.conn, caller.user_id, body.display_name, details)
    tenant = created.tenant_id
    ctx.audit("create", "company", tenant, tenant_id=tenant, actor_id=caller.user_id, after=created.audit_view())
    ctx.audit(
        "create",
        "membership",
        created.membership["id"],
        tenant_id=tenant,
        actor_id=caller.user_id,
        after={"user_id": str(caller.user_id), "role": OWNER},
    )
    companies = user_companies(ctx.conn, caller.user_id)
    choice = CompanyChoice(tenant, details.name, OWNER)
    return sign_in(ctx, rt, created.owner, choice, companies, method="setup")
