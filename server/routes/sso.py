"""Single sign-on: a company's identity providers and options (admin), and the public sign-in config."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select

from factoryos.errors import PermissionDenied, ValidationFailed
from factoryos.schema.identity import memberships, users
from factoryos.sso import registry
from factoryos.sso.models import (
    AuthConfig,
    AuthConfigQuery,
    ProviderIn,
    ProviderList,
    ProviderOut,
    ProviderPatch,
    ProviderTestIn,
    ProviderTestOut,
    SignInMethod,
    SsoSettings,
    SsoSettingsPatch,
)
from factoryos.sso.probe import probe_ldap, probe_other
from factoryos.sso.saml_models import sp_urls
from server.api import PUBLIC, Context, Router
from server.auth import runtime_of

router = Router(prefix="/api/v1/sso", tags=("sso",))
auth_router = Router(prefix="/api/v1/auth", tags=("auth",))

ADMIN = "admin.system"


@auth_router.get("/config", permission=PUBLIC, query=AuthConfigQuery, response=AuthConfig)
def auth_config(ctx: Context, query: AuthConfigQuery) -> AuthConfig:
    """What the sign-in screen offers: installation mode, self-registration, and for an email the
    company's providers (password stays listed for local accounts and the break-glass owner)."""
    installation = "multi_company" if registry.company_count(ctx.conn) > 1 else "single_company"
    password = SignInMethod(kind="password", name="Password")
    if not query.email or registry.email_domain(query.email) is None:
        return AuthConfig(installation=installation, self_registration=True, methods=[password])
    routed = registry.providers_for_email(ctx.conn, query.email)
    if not routed:
        return AuthConfig(installation=installation, self_registration=True,
                          email_domain=registry.email_domain(query.email), methods=[password])
    methods = [SignInMethod(kind=p.kind, provider_id=p.provider_id, name=p.name, device_flow=p.kind == "oidc")
               for p in routed]
    ctx.set_tenant(routed[0].tenant_id)
    options = registry.get_settings(ctx.conn, routed[0].tenant_id)
    ctx.set_tenant(None)
    note = None
    if options.require_sso:
        note = f"{routed[0].company_name} signs in through its directory; only the owner uses a local password"
    elif any(p.kind == "ldap" for p in routed):
        note = f"use your {routed[0].name} password"
    if not any(p.kind == "ldap" for p in routed):
        methods.append(password)  # an LDAP method already asks for the password
    return AuthConfig(installation=installation, self_registration=True, email_domain=registry.email_domain(query.email),
                      company_name=routed[0].company_name, methods=methods, password_note=note)


# ---- providers (admin) ---------------------------------------------------------------------------

def _with_sp(ctx: Context, out: ProviderOut) -> ProviderOut:
    """A SAML provider answers with the addresses its identity provider must be given."""
    if out.kind != "saml":
        return out
    base = out.config.get("sp_base_url") or str(ctx.request.base_url)
    return out.model_copy(update={"sp": sp_urls(str(base), ctx.tenant_id, out.id)})


@router.get("/providers", permission=ADMIN, response=ProviderList)
def list_providers(ctx: Context) -> ProviderList:
    """The company's identity providers, by name; secrets are never returned."""
    return ProviderList(items=[_with_sp(ctx, p) for p in registry.list_providers(ctx.conn, ctx.tenant_id)])


@router.post("/providers", permission=ADMIN, body=ProviderIn, response=ProviderOut, status_code=201)
def create_provider(ctx: Context, body: ProviderIn) -> ProviderOut:
    """Add an identity provider with its group → role rules."""
    out = registry.create_provider(ctx.conn, runtime_of(ctx).keys, ctx.tenant_id, body)
    ctx.audit("create", "sso_provider", out.id, after=registry.audit_view(out))
    return _with_sp(ctx, out)


@router.get("/providers/{provider_id:uuid}", permission=ADMIN, response=ProviderOut)
def get_provider(ctx: Context, provider_id: UUID) -> ProviderOut:
    """One identity provider."""
    return _with_sp(ctx, registry.get_provider(ctx.conn, ctx.tenant_id, provider_id))


@router.patch("/providers/{provider_id:uuid}", permission=ADMIN, body=ProviderPatch, response=ProviderOut)
def update_provider(ctx: Context, provider_id: UUID, body: ProviderPatch) -> ProviderOut:
    """Change a provider; `rules` replaces all its mapping rules (they apply at each person's next sign-in)."""
    before, after = registry.update_provider(ctx.conn, runtime_of(ctx).keys, ctx.tenant_id, provider_id, body)
    if after is not before:
        audit_after = registry.audit_view(after)
        if body.secret is not None:
            audit_after["secret_changed"] = True
        ctx.audit("update", "sso_provider", provider_id, before=registry.audit_view(before), after=audit_after)
    return _with_sp(ctx, after)


@router.delete("/providers/{provider_id:uuid}", permission=ADMIN, status_code=204)
def delete_provider(ctx: Context, provider_id: UUID) -> None:
    """Remove a provider, its rules and its links to accounts (the accounts and memberships stay)."""
    before = registry.delete_provider(ctx.conn, ctx.tenant_id, provider_id)
    ctx.audit("delete", "sso_provider", provider_id, before=registry.audit_view(before))


@router.post("/providers/{provider_id:uuid}/test", permission=ADMIN, body=ProviderTestIn, response=ProviderTestOut,
             long_running=True)
def test_provider(ctx: Context, provider_id: UUID, body: ProviderTestIn) -> ProviderTestOut:
    """Try the saved settings: LDAP connects, binds, finds `username` with their groups and the role the
    rules give them (and checks `password` when given). The answer is in words; nothing is stored."""
    row = registry.provider_row(ctx.conn, ctx.tenant_id, provider_id)
    secret = registry.provider_secret(runtime_of(ctx).keys, row)
    if row["kind"] == "ldap":
        out = probe_ldap(row["name"], dict(row["config"]), secret,
                         registry.mapping_rules(ctx.conn, ctx.tenant_id, provider_id), row["default_role"], body)
    else:
        out = probe_other(row["kind"], row["name"], dict(row["config"]), secret)
    ctx.audit("test", "sso_provider", provider_id,
              after={"username": body.username, "password_checked": body.password is not None, "ok": out.ok,
                     "summary": out.summary, "role": out.role})
    return out


# ---- the company's sign-in options -------------------------------------------------------------

@router.get("/settings", permission=ADMIN, response=SsoSettings)
def get_settings(ctx: Context) -> SsoSettings:
    """Whether SSO is required for everyone but the owner, and MFA for local accounts."""
    return registry.get_settings(ctx.conn, ctx.tenant_id)


@router.patch("/settings", permission=ADMIN, body=SsoSettingsPatch, response=SsoSettings)
def update_settings(ctx: Context, body: SsoSettingsPatch) -> SsoSettings:
    """Require SSO (needs an enabled provider) or MFA for local accounts (needs the owner's own TOTP,
    so that the break-glass owner always signs in with password and code)."""
    if body.require_sso and not any(p.enabled for p in registry.list_providers(ctx.conn, ctx.tenant_id)):
        raise ValidationFailed("add and enable an identity provider before requiring SSO",
                               code="sso_no_provider", field="require_sso")
    if body.require_mfa_local:
        owner_totp = ctx.conn.execute(
            select(users.c.totp_enabled).join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.tenant_id == ctx.tenant_id, memberships.c.role == "owner")
        ).scalar()
        if not owner_totp:
            raise PermissionDenied("the owner must turn on two-factor sign-in first: they are the break-glass "
                                   "account and must always be able to sign in", code="sso_owner_needs_mfa",
                                   field="require_mfa_local")
    before, after = registry.update_settings(ctx.conn, ctx.tenant_id, body)
    if after != before:
        ctx.audit("update", "sso_settings", ctx.tenant_id, before=before.model_dump(), after=after.model_dump())
    return after
