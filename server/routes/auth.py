"""Sign-in: register, login (with TOTP), refresh, logout, profile, MFA enrollment."""

from __future__ import annotations

import logging

from factoryos.identity import lockout, mfa
from factoryos.identity.accounts import register_quietly, require_user, user_companies
from factoryos.identity.companies import company_view
from factoryos.identity.errors import CredentialError, MfaRequired, RefreshRejected, RefreshReused
from factoryos.identity.login import check_credentials, choose_company
from factoryos.identity.memberships import MembershipRepository
from factoryos.identity.models import (
    AccountOut,
    CompanyOut,
    ConfirmBody,
    DisableBody,
    Enrollment,
    LoginBody,
    LogoutBody,
    Me,
    RecoveryCodes,
    RefreshBody,
    RegisterAccepted,
    RegisterBody,
    SignIn,
    TokenPair,
)
from factoryos.identity.permissions import ROLE_TITLES, SIGNED_IN
from factoryos.identity.sessions import revoke_session, revoke_user_sessions, rotate
from server.api import PUBLIC, Context, Router
from server.auth import runtime_of
from server.problem import ProblemResponse
from server.routes.signin import access_token, problem_response, sign_in
from server.routes.sso_signin import directory_password_sign_in, refuse_local_sign_in

log = logging.getLogger(__name__)

router = Router(prefix="/api/v1/auth", tags=("auth",))


def audit_failed_login(ctx: Context, exc: CredentialError, email: str) -> None:
    """One login_failed row in each company of a known account; unknown emails are only logged.

    Attempts on an already locked pair or address are counted on the lock, not audited one by
    one: a flood of guesses cannot fill a company's audit trail."""
    if exc.user_id is None or getattr(exc, "repeated", False):
        return
    for company in user_companies(ctx.conn, exc.user_id):
        ctx.audit(
            "login_failed",
            "user",
            exc.user_id,
            tenant_id=company.tenant_id,
            actor_id=exc.user_id,
            after={"email": email, "reason": exc.code},
        )


@router.post("/register", permission=PUBLIC, body=RegisterBody, response=RegisterAccepted, status_code=202)
def register(ctx: Context, body: RegisterBody) -> RegisterAccepted:
    """Create an account, then sign in with it. The answer is the same whether or not the email
    had an account already (no account enumeration): a taken email's sign-in fails instead."""
    rt = runtime_of(ctx)
    lockout.guard_probe(ctx.conn, rt.policy, rt, ctx.client_ip)
    # Every registration counts towards the address's probe limit, so being throttled tells
    # nothing either.
    lockout.count_probe(ctx.conn, rt.policy, rt, ctx.client_ip)
    user = register_quietly(ctx.conn, rt, email=body.email, password=body.password, display_name=body.display_name)
    if user is not None:
        log.info("account %s registered", user["id"])
    return RegisterAccepted()


@router.post("/login", permission=PUBLIC, body=LoginBody, response=SignIn)
def login(ctx: Context, body: LoginBody) -> SignIn | ProblemResponse:
    """Sign in with email and password (then a TOTP code when enrolled), into one company.

    An email of a domain a company routes to its LDAP directory is checked by the directory
    (except the company's local break-glass owner)."""
    rt = runtime_of(ctx)
    directory = directory_password_sign_in(ctx, body.email, body.password)
    if directory is not None:
        return directory
    try:
        user = check_credentials(
            ctx.conn,
            rt,
            email=body.email,
            password=body.password,
            totp_code=body.totp_code,
            recovery_code=body.recovery_code,
            client_ip=ctx.client_ip,
        )
    except MfaRequired as exc:
        return problem_response(ctx, exc)
    except CredentialError as exc:
        audit_failed_login(ctx, exc, body.email)
        return problem_response(ctx, exc)  # committed: the lockout counter and audit rows stay
    choice, companies = choose_company(ctx.conn, user["id"], body.company_id)
    refused = refuse_local_sign_in(ctx, user, choice)  # the company's SSO / MFA options
    if refused is not None:
        return refused
    method = "password+totp" if body.totp_code else "password+recovery_code" if body.recovery_code else "password"
    return sign_in(ctx, rt, user, choice, companies, method=method)


@router.post("/refresh", permission=PUBLIC, body=RefreshBody, response=TokenPair)
def refresh(ctx: Context, body: RefreshBody) -> TokenPair | ProblemResponse:
    """Swap a refresh token for a new pair (the old one stops working)."""
    rt = runtime_of(ctx)
    try:
        rotated = rotate(ctx.conn, rt, body.refresh_token)
    except RefreshReused as exc:
        ctx.audit(
            "session_revoked",
            "session",
            exc.session_id,
            tenant_id=exc.tenant_id,
            actor_id=exc.user_id,
            after={"reason": "refresh_reused"},
        )
        return problem_response(ctx, exc)
    except RefreshRejected as exc:
        return problem_response(ctx, exc)  # committed: a removed member's session is closed
    ctx.audit("token_refresh", "session", rotated.session_id, tenant_id=rotated.tenant_id, actor_id=rotated.user_id)
    token, expires, seconds = access_token(rt, rotated.user_id, rotated.tenant_id, rotated.session_id)
    return TokenPair(
        access_token=token,
        expires_at=expires,
        expires_in=seconds,
        refresh_token=rotated.refresh_token,
        session_id=rotated.session_id,
    )


@router.post("/logout", permission=SIGNED_IN, body=LogoutBody, status_code=204)
def logout(ctx: Context, body: LogoutBody) -> None:
    """End this session (or all of yours in this company): its tokens stop working at once."""
    principal = ctx.principal
    assert principal is not None
    if body.everywhere:
        count = revoke_user_sessions(ctx.conn, principal.tenant_id, principal.user_id, "logout")
        ctx.audit("logout", "session", principal.session_id, after={"sessions": count, "everywhere": True})
    else:
        if principal.session_id is not None:  # an account token has no session: nothing to end
            revoke_session(ctx.conn, principal.tenant_id, principal.session_id, "logout")
        ctx.audit("logout", "session", principal.session_id)


@router.get("/me", permission=SIGNED_IN, response=Me)
def me(ctx: Context) -> Me:
    """Your account, this company, your role and effective permissions."""
    principal = ctx.principal
    assert principal is not None
    user = require_user(ctx.conn, principal.user_id)
    member = MembershipRepository(ctx.conn, principal.tenant_id).require_user(principal.user_id)
    company = company_view(ctx.conn, principal.tenant_id)
    return Me(
        account=AccountOut.of(user),
        company=CompanyOut(**company),
        role=principal.role,
        role_title=ROLE_TITLES.get(principal.role, principal.role),
        permissions=sorted(principal.permissions),
        granted=sorted(member["granted"]),
        denied=sorted(member["denied"]),
        session_id=principal.session_id,
    )


@router.post("/mfa/enroll", permission=SIGNED_IN, response=Enrollment, shows_secret=True)
def mfa_enroll(ctx: Context) -> Enrollment:
    """Start two-factor enrollment: a new secret and its otpauth URI (draw it as a QR code)."""
    principal = ctx.principal
    assert principal is not None  # SIGNED_IN
    enrollment = mfa.begin_enrollment(ctx.conn, runtime_of(ctx), principal.user_id)
    ctx.audit("update", "user_mfa", principal.user_id, after={"state": "enrolling"})
    return Enrollment(secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri)


@router.post("/mfa/confirm", permission=SIGNED_IN, body=ConfirmBody, response=RecoveryCodes, shows_secret=True)
def mfa_confirm(ctx: Context, body: ConfirmBody) -> RecoveryCodes:
    """Turn two-factor sign-in on with a first code; returns one-time recovery codes."""
    principal = ctx.principal
    assert principal is not None  # SIGNED_IN
    codes = mfa.confirm_enrollment(ctx.conn, runtime_of(ctx), principal.user_id, body.code)
    ctx.audit("update", "user_mfa", principal.user_id, before={"enabled": False}, after={"enabled": True})
    return RecoveryCodes(recovery_codes=codes)


@router.post("/mfa/disable", permission=SIGNED_IN, body=DisableBody, status_code=204)
def mfa_disable(ctx: Context, body: DisableBody) -> None:
    """Turn two-factor sign-in off (needs the password and a current code)."""
    principal = ctx.principal
    assert principal is not None  # SIGNED_IN
    mfa.disable(
        ctx.conn,
        runtime_of(ctx),
        principal.user_id,
        password=body.password,
        code=body.totp_code,
        recovery_code=body.recovery_code,
    )
    ctx.audit("update", "user_mfa", principal.user_id, before={"enabled": True}, after={"enabled": False})
