"""OpenID Connect sign-in: the device handoff for terminals (RFC 8628) and the browser flow
(authorization code with PKCE). Both end in the SSO sign-in every provider kind shares
(`finish_sso_sign_in`: group → role mapping, just-in-time account, the login answer).

A refusal (provider down, token for another application, expired or reused code, declined)
is answered with its own code naming the provider, and audited in the provider's company.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone
from uuid import UUID

from sqlalchemy import select
from starlette.responses import JSONResponse, Response

from factoryos.db.tenant import set_tenant
from factoryos.errors import ValidationFailed
from factoryos.identity.models import SignIn
from factoryos.schema.sso import sso_providers
from factoryos.sso import oidc, saml_flows
from factoryos.sso.oidc_errors import AccessDenied, DeviceCodeExpired, OidcError, ProviderError
from factoryos.sso.oidc_flows import BROWSER_TTL, Flow, Resolved, binding_hash, reopen, resolve, seal, unseal
from factoryos.sso.oidc_models import (
    BrowserStartOut,
    BrowserStartQuery,
    CallbackQuery,
    DevicePollIn,
    DevicePollOut,
    DeviceStartIn,
    DeviceStartOut,
)
from factoryos.sso.signin import ExternalIdentity
from server.api import PUBLIC, Context, Router
from server.auth import runtime_of
from server.routes import sso_saml
from server.routes.signin import problem_response
from server.routes.sso_signin import finish_sso_sign_in

router = Router(prefix="/api/v1/auth/sso", tags=("sso",))

CALLBACK = "/api/v1/auth/sso/oidc/callback"
COOKIE = "factoryos_oidc"  # binds a browser sign-in to the browser that started it
COOKIE_PATH = "/api/v1/auth/sso/oidc"


def _refused(ctx: Context, r: Resolved, exc: OidcError, flow: str) -> Response:
    """Audit the failure in the provider's company and answer it (the audit row commits)."""
    ctx.audit("login_failed", "sso_provider", r.row["id"], tenant_id=r.tenant_id,
              after={"reason": exc.code, "provider": r.row["name"], "flow": flow, "detail": exc.reason})
    return problem_response(ctx, exc)


def _signed_in(ctx: Context, r: Resolved, who: oidc.ExternalIdentity) -> SignIn | Response:
    return finish_sso_sign_in(ctx, ExternalIdentity(
        tenant_id=r.tenant_id, provider_id=r.row["id"], subject=who.subject, email=who.email or "",
        display_name=who.name, groups=who.groups,
    ))


def _is_saml(ctx: Context, body: DeviceStartIn) -> bool:
    """Whether the terminal's sign-in goes to a SAML provider (same start and poll for both)."""
    if body.email:
        return saml_flows.route_email(ctx.conn, body.email, body.provider_id) is not None
    if body.provider_id is None or body.company_id is None:
        return False
    set_tenant(ctx.conn, body.company_id)
    kind = ctx.conn.execute(select(sso_providers.c.kind).where(sso_providers.c.tenant_id == body.company_id,
                                                               sso_providers.c.id == body.provider_id)).scalar()
    return kind == "saml"


@router.post("/device", permission=PUBLIC, body=DeviceStartIn, response=DeviceStartOut)
def sso_device_start(ctx: Context, body: DeviceStartIn) -> DeviceStartOut | Response:
    """Start signing a terminal in: a code and a page for the person's phone or PC (OIDC device
    grant, or the SAML hand-off when the email's provider is a SAML one)."""
    rt = runtime_of(ctx)
    if _is_saml(ctx, body):
        return sso_saml.device_start(ctx, body)
    r = resolve(ctx.conn, rt.keys, email=body.email, provider_id=body.provider_id, company_id=body.company_id)
    try:
        start = oidc.start_device(r.client)
    except OidcError as exc:
        return _refused(ctx, r, exc, "device")
    expires_at = time.time() + start.expires_in
    handle = seal(rt.keys, Flow("device", str(r.tenant_id), str(r.row["id"]), expires_at,
                                device_code=start.device_code, interval=start.interval))
    ctx.audit("sso_device_started", "sso_provider", r.row["id"], tenant_id=r.tenant_id,
              after={"provider": r.row["name"], "expires_in": start.expires_in})
    return DeviceStartOut(
        handle=handle, provider_id=r.row["id"], provider_name=r.row["name"], user_code=start.user_code,
        verification_uri=start.verification_uri, verification_uri_complete=start.verification_uri_complete,
        interval=start.interval, expires_in=start.expires_in,
        expires_at=datetime.fromtimestamp(expires_at, timezone.utc),
    )


@router.post("/device/poll", permission=PUBLIC, body=DevicePollIn, response=DevicePollOut)
def sso_device_poll(ctx: Context, body: DevicePollIn) -> DevicePollOut | Response:
    """Has the person finished at the provider? Pending, or the sign-in (as POST /auth/login answers)."""
    rt = runtime_of(ctx)
    if body.handle.startswith(saml_flows.HANDLE_PREFIX):
        return sso_saml.device_poll(ctx, body)
    flow = unseal(rt.keys, body.handle, "device", field="handle")
    r = reopen(ctx.conn, rt.keys, flow)
    try:
        if flow.expired:
            raise DeviceCodeExpired(r.row["name"])
        answer = oidc.poll_device(r.client, flow.device_code or "")
        if isinstance(answer, oidc.Pending):
            # Not audited: a pending poll changes nothing (the start and the outcome are).
            slow = answer.slow_down
            return DevicePollOut(status="slow_down" if slow else "pending", interval=flow.interval + (5 if slow else 0))
        who = oidc.identity(r.client, answer, nonce=None)
    except OidcError as exc:
        return _refused(ctx, r, exc, "device")
    result = _signed_in(ctx, r, who)
    if isinstance(result, SignIn):
        return DevicePollOut(status="signed_in", interval=0, sign_in=result)
    return result


@router.get("/oidc/{provider_id:uuid}/start", permission=PUBLIC, query=BrowserStartQuery, response=BrowserStartOut,
            status_code=302)
def sso_oidc_start(ctx: Context, provider_id: UUID, query: BrowserStartQuery) -> Response:
    """Browser sign-in: sends the browser to the provider (state, nonce and PKCE kept sealed)."""
    rt = runtime_of(ctx)
    r = resolve(ctx.conn, rt.keys, email=query.email, provider_id=provider_id, company_id=query.company_id)
    redirect_uri = r.row["config"].get("redirect_uri") or str(ctx.request.base_url).rstrip("/") + CALLBACK
    nonce, verifier, binding = oidc.new_secret(), oidc.new_secret(), oidc.new_secret()
    state = seal(rt.keys, Flow("browser", str(r.tenant_id), str(r.row["id"]), time.time() + BROWSER_TTL,
                               nonce=nonce, verifier=verifier, redirect_uri=redirect_uri,
                               binding=binding_hash(binding)))
    try:
        url = oidc.authorization_url(r.client, redirect_uri=redirect_uri, state=state, nonce=nonce, verifier=verifier)
    except OidcError as exc:
        return _refused(ctx, r, exc, "browser")
    response = JSONResponse(BrowserStartOut(authorization_url=url).model_dump(mode="json"), status_code=302,
                            headers={"Location": url})
    response.set_cookie(COOKIE, binding, max_age=BROWSER_TTL, path=COOKIE_PATH, httponly=True, samesite="lax",
                        secure=ctx.request.url.scheme == "https")
    return response


@router.get("/oidc/callback", permission=PUBLIC, query=CallbackQuery, response=SignIn)
def sso_oidc_callback(ctx: Context, query: CallbackQuery) -> Response:
    """Where the provider sends the browser back: the code is exchanged and the person signed in."""
    rt = runtime_of(ctx)
    if not query.state:
        raise ValidationFailed("the provider sent no state: start the sign-in again", code="sso_flow_invalid",
                               field="state")
    flow = unseal(rt.keys, query.state, ("browser", "reauth"), field="state")
    r = reopen(ctx.conn, rt.keys, flow)
    name = r.row["name"]
    if flow.kind == "reauth":
        return _reauth_callback(ctx, r, flow, query)
    try:
        if flow.expired:
            raise OidcError(name, "the sign-in took too long: start it again", code="sso_flow_expired", status=410)
        cookie = ctx.request.cookies.get(COOKIE, "")
        if not cookie or not secrets.compare_digest(binding_hash(cookie), flow.binding or ""):
            raise OidcError(name, "this sign-in was started in another browser: start it again here",
                            code="sso_state_mismatch", status=400)
        if query.error == "access_denied":
            raise AccessDenied(name)
        if query.error or not query.code:
            raise ProviderError(name, f"the provider answered {query.error or 'without a code'}"
                                      + (f": {query.error_description}" if query.error_description else ""))
        if query.iss is not None and query.iss != oidc.discover(r.client).issuer:  # RFC 9207: mix-up attacks
            raise ProviderError(name, f"the answer comes from {query.iss}, not this provider", code="sso_wrong_issuer",
                                status=401)
        tokens = oidc.exchange_code(r.client, code=query.code, redirect_uri=flow.redirect_uri or "",
                                    verifier=flow.verifier or "")
        who = oidc.identity(r.client, tokens, nonce=flow.nonce)
    except OidcError as exc:
        return _refused(ctx, r, exc, "browser")
    result = _signed_in(ctx, r, who)
    if not isinstance(result, SignIn):
        return result
    response = JSONResponse(result.model_dump(mode="json"))
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def _reauth_callback(ctx: Context, r: Resolved, flow: Flow, query: CallbackQuery) -> Response:
    """A signature's re-authentication comes back: the fresh ID token (its nonce binds it to the
    pending signature) completes the hand-off the signing terminal waits on."""
    name = r.row["name"]
    handoff = saml_flows.by_id(ctx.conn, r.tenant_id, r.row["id"], flow.handoff_id or "")
    try:
        if handoff is None or handoff["purpose"] != "reauth" or handoff["status"] != "pending" \
                or flow.expired or saml_flows.expired(handoff):
            raise OidcError(name, "this confirmation is used or expired: start again at the terminal",
                            code="sso_flow_expired", status=410)
        if query.error == "access_denied":
            raise AccessDenied(name)
        if query.error or not query.code:
            raise ProviderError(name, f"the provider answered {query.error or 'without a code'}")
        tokens = oidc.exchange_code(r.client, code=query.code, redirect_uri=flow.redirect_uri or "",
                                    verifier=flow.verifier or "")
        claims = oidc.validate_id_token(r.client, oidc.discover(r.client), tokens.id_token, nonce=flow.nonce)
        if not isinstance(claims.get("auth_time"), int | float):
            raise ProviderError(name, "the provider did not say when the person signed in (auth_time)",
                                code="sso_token_invalid", status=401)
    except OidcError as exc:
        if handoff is not None and handoff["status"] == "pending":
            saml_flows.finish(ctx.conn, handoff, refusal={"code": exc.code, "detail": exc.reason,
                                                          "status": exc.status})
        return _refused(ctx, r, exc, "reauth")
    auth_time = datetime.fromtimestamp(float(claims["auth_time"]), timezone.utc)
    saml_flows.finish(ctx.conn, handoff, identity={"subject": str(claims["sub"]), "email": claims.get("email"),
                                                   "auth_time": auth_time.isoformat()})
    ctx.audit("sso_reauth_confirmed", "sso_provider", r.row["id"], tenant_id=r.tenant_id,
              actor_id=handoff["user_id"], after={"provider": name, "protocol": "oidc", "subject": str(claims["sub"]),
                                                  "auth_time": auth_time.isoformat()})
    return sso_saml.html_page("Confirmed", f"{name} confirmed who you are: go back to your terminal to sign.")
