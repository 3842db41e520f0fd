"""How every single sign-on is finished (LDAP here, OIDC in sso_oidc), and the password gate.

Not a router. `finish_sso_sign_in` is the one function both protocols end in: it maps, provisions
and links (factoryos.sso.signin), writes the audit rows, and opens the session exactly as a
password sign-in does (`server.routes.signin.sign_in`), answering `SignIn`. A refusal is answered
as problem+json *without* rolling back, so the audit rows and a lost membership stay.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, RowMapping

from factoryos.db.tenant import set_tenant
from factoryos.errors import FactoryOSError
from factoryos.identity import lockout
from factoryos.identity.accounts import CompanyChoice, find_by_email
from factoryos.identity.errors import CredentialError, InvalidCredentials
from factoryos.identity.memberships import MembershipRepository
from factoryos.identity.models import SignIn
from factoryos.identity.permissions import OWNER
from factoryos.sso.ldap import DirectoryRefused, DirectoryUnavailable, LdapDirectory
from factoryos.sso.ldap_config import LdapConfig
from factoryos.sso.registry import RoutedProvider, get_settings, provider_row, provider_secret, providers_for_email
from factoryos.sso.signin import NO_PASSWORD, AuditRow, ExternalIdentity, SsoRefused, resolve_sign_in
from server.api import Context
from server.auth import runtime_of
from server.problem import ProblemResponse
from server.routes.signin import problem_response, sign_in


def write_audit(ctx: Context, tenant_id: UUID, rows: list[AuditRow]) -> None:
    for row in rows:
        ctx.audit(row.action, row.entity_type, row.entity_id, before=row.before, after=row.after,
                  tenant_id=tenant_id, actor_id=row.actor_id)


def finish_sso_sign_in(ctx: Context, ext: ExternalIdentity) -> SignIn | ProblemResponse:
    """Sign the person in to `ext.tenant_id` through provider `ext.provider_id` (see module doc).

    The caller has verified the person with the provider (LDAP bind, OIDC ID token)."""
    rt = runtime_of(ctx)
    try:
        outcome = resolve_sign_in(ctx.conn, ext)
    except SsoRefused as exc:
        write_audit(ctx, ext.tenant_id, exc.audit)
        return problem_response(ctx, exc)
    write_audit(ctx, ext.tenant_id, outcome.audit)
    choice: CompanyChoice = outcome.choice
    return sign_in(ctx, rt, outcome.user, choice, outcome.companies, method=f"sso:{outcome.provider_kind}")


# ---- passwords: a directory's people, and the company's rules for local accounts ---------------

def _break_glass(conn: Connection, user: RowMapping | None, tenant_id: UUID) -> bool:
    """A local account that always signs in with its own password: the company's owner, or an
    installation administrator (neither can be signed in by a directory)."""
    if user is None or user["password_hash"] == NO_PASSWORD:
        return False
    if user["installation_admin"]:
        return True
    set_tenant(conn, tenant_id)
    try:
        member = MembershipRepository(conn, tenant_id).by_user(user["id"])
    finally:
        set_tenant(conn, None)
    return member is not None and member["role"] == OWNER


def directory_password_sign_in(ctx: Context, email: str, password: str) -> SignIn | ProblemResponse | None:
    """Sign in a person whose email domain a company routes to its LDAP directory; None when the
    email is not such a person's (the local password sign-in goes on)."""
    routed = [p for p in providers_for_email(ctx.conn, email) if p.kind == "ldap"]
    if not routed or _break_glass(ctx.conn, find_by_email(ctx.conn, email), routed[0].tenant_id):
        return None
    return ldap_sign_in(ctx, email, password, routed)


def ldap_sign_in(ctx: Context, email: str, password: str, routed: list[RoutedProvider]) -> SignIn | ProblemResponse:
    rt = runtime_of(ctx)
    key = lockout.throttle_keys(rt, email, ctx.client_ip)
    known = find_by_email(ctx.conn, email)
    known_id = known["id"] if known else None
    try:
        lockout.ensure_not_locked(ctx.conn, key)
    except CredentialError as exc:
        return problem_response(ctx, exc)
    unreachable: list[tuple[RoutedProvider, FactoryOSError]] = []
    for provider in routed:
        set_tenant(ctx.conn, provider.tenant_id)
        row = provider_row(ctx.conn, provider.tenant_id, provider.provider_id)
        directory = LdapDirectory(LdapConfig.model_validate(row["config"]), provider_secret(rt.keys, row), row["name"])
        try:
            person = directory.authenticate(email, password)
        except (DirectoryUnavailable, DirectoryRefused) as exc:
            unreachable.append((provider, exc))
            continue
        if person is None:
            continue
        lockout.clear(ctx.conn, key)
        groups = tuple(person.groups)
        ext = ExternalIdentity(tenant_id=provider.tenant_id, provider_id=provider.provider_id, subject=person.subject,
                               email=person.email or email, display_name=person.display_name, groups=groups)
        return finish_sso_sign_in(ctx, ext)
    set_tenant(ctx.conn, None)
    first = routed[0]
    if unreachable:
        down, why = unreachable[0]
        ctx.audit("login_failed", "sso_provider", down.provider_id, tenant_id=down.tenant_id,
                  actor_id=known_id, after={"email": email, "reason": why.code, "detail": why.detail})
        names = ", ".join(p.name for p, _ in unreachable)
        error = DirectoryUnavailable(
            f"{why.detail}. The company's owner can still sign in with their local password.",
            code=why.code, extra={"providers": names})
        return problem_response(ctx, error)
    locked = lockout.record_failure(ctx.conn, rt.policy, key)
    ctx.audit("login_failed", "sso_provider", first.provider_id, tenant_id=first.tenant_id, actor_id=known_id,
              after={"email": email, "reason": "invalid_credentials"})
    if locked is not None:
        return problem_response(ctx, locked)
    return problem_response(ctx, InvalidCredentials("email or password is not correct", user_id=known_id))


def refuse_local_sign_in(ctx: Context, user: RowMapping, choice: CompanyChoice | None) -> ProblemResponse | None:
    """The company's options for password sign-ins: SSO required for all but the owner, and
    two-factor sign-in required for local accounts. None: the sign-in may go on."""
    if choice is None or user["installation_admin"]:
        return None
    set_tenant(ctx.conn, choice.tenant_id)
    try:
        options = get_settings(ctx.conn, choice.tenant_id)
    finally:
        set_tenant(ctx.conn, None)
    error: FactoryOSError | None = None
    if choice.role == OWNER:
        return None  # break-glass: the owner always signs in (enabling MFA-required needs the owner's TOTP)
    if options.require_sso:
        error = SsoRefused(f"{choice.name} signs in through its directory or identity provider: "
                           "use your company sign-in instead of a local password", code="sso_required", audit=[])
    elif options.require_mfa_local and not user["totp_enabled"]:
        error = SsoRefused(f"{choice.name} requires two-factor sign-in for local accounts: ask an administrator "
                           "to help you set up an authenticator app", code="mfa_setup_required", audit=[])
    if error is None:
        return None
    ctx.audit("login_failed", "user", user["id"], tenant_id=choice.tenant_id, actor_id=user["id"],
              after={"email": user["email"], "reason": error.code})
    return problem_response(ctx, error)
