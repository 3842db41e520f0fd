"""Re-authentication at the identity provider for an electronic signature (21 CFR Part 11 for
people who sign in only through OIDC or SAML): the signing terminal gets a code and a page, like
the device sign-in; in a browser the provider makes the person sign in again (OIDC prompt=login
with max_age=0, bound to the request by its nonce; SAML ForceAuthn); the terminal asks until it
is confirmed, then signs with the handle (`signature.reauth`). The checks that make it a proof
are made when signing (factoryos.sso.reauth.consume_reauth).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.responses import RedirectResponse, Response

from factoryos.errors import NotFound, ValidationFailed
from factoryos.identity.permissions import SIGNED_IN
from factoryos.sso import oidc, saml_flows
from factoryos.sso.oidc_config import client_of
from factoryos.sso.oidc_errors import OidcError
from factoryos.sso.oidc_flows import BROWSER_TTL, Flow, seal
from factoryos.sso.oidc_models import DeviceStartOut
from factoryos.sso.reauth import reauth_provider
from factoryos.sso.reauth_models import ReauthStartIn, ReauthStatusOut, ReauthStatusQuery
from factoryos.sso.registry import provider_row, provider_secret
from factoryos.sso.saml_models import DevicePageQuery
from server.api import PUBLIC, Context, Router
from server.auth import runtime_of
from server.routes.signin import problem_response
from server.routes.sso_saml import html_page, send_to_idp

router = Router(prefix="/api/v1/auth/sso", tags=("sso",))

CALLBACK = "/api/v1/auth/sso/oidc/callback"


@router.post("/reauth", permission=SIGNED_IN, body=ReauthStartIn, response=DeviceStartOut)
def sso_reauth_start(ctx: Context, body: ReauthStartIn) -> DeviceStartOut:
    """Before signing: confirm who you are at your identity provider (a code and a page, as at sign-in)."""
    tenant, user = ctx.tenant_id, ctx.user_id
    assert user is not None
    provider = reauth_provider(ctx.conn, tenant, user)
    if provider is None:
        raise NotFound("you do not sign in through an OpenID Connect or SAML provider: sign with your password",
                       code="sso_no_provider")
    handoff = saml_flows.start(ctx.conn, tenant, provider.provider_id, channel="device", purpose="reauth",
                               binding=oidc.new_secret(), user_id=user)
    # One short page for both protocols: its QR code must fit a terminal of 80×24.
    page = str(ctx.request.base_url).rstrip("/") + f"/api/v1/auth/sso/go/{tenant}"
    handle = saml_flows.seal_handle(runtime_of(ctx).keys, saml_flows.Handle(
        str(tenant), str(provider.provider_id), str(handoff["id"])))
    ctx.audit("sso_reauth_started", "sso_provider", provider.provider_id,
              after={"provider": provider.name, "protocol": provider.kind, "purpose": "signature"})
    expires_at: datetime = handoff["expires_at"]
    ttl = int(saml_flows.DEVICE_TTL.total_seconds())
    return DeviceStartOut(
        handle=handle, provider_id=provider.provider_id, provider_name=provider.name,
        user_code=handoff["user_code"], verification_uri=page,
        verification_uri_complete=f"{page}?code={quote(handoff['user_code'])}", interval=saml_flows.POLL_INTERVAL,
        expires_in=ttl, expires_at=expires_at,
    )


@router.get("/reauth/status", permission=SIGNED_IN, query=ReauthStatusQuery, response=ReauthStatusOut)
def sso_reauth_status(ctx: Context, query: ReauthStatusQuery) -> ReauthStatusOut:
    """Has the person confirmed at the provider? Then sign with `signature.reauth` = the handle."""
    sealed = saml_flows.unseal_handle(runtime_of(ctx).keys, query.handle)
    row = saml_flows.by_id(ctx.conn, ctx.tenant_id, UUID(sealed.provider_id), sealed.handoff_id)
    if row is None or row["purpose"] != "reauth" or row["user_id"] != ctx.user_id:
        raise ValidationFailed("this confirmation is unknown: start it again", code="sso_flow_invalid",
                               field="handle")
    name = provider_row(ctx.conn, ctx.tenant_id, row["provider_id"])["name"]
    if row["status"] == "pending":
        if saml_flows.expired(row):
            return ReauthStatusOut(status="refused", interval=0, provider_name=name,
                                   detail="the code has expired: start again")
        return ReauthStatusOut(status="pending", interval=saml_flows.POLL_INTERVAL, provider_name=name)
    if row["status"] == "done":
        return ReauthStatusOut(status="confirmed", interval=0, provider_name=name)
    refusal: dict[str, Any] = dict(row["refusal"] or {})
    return ReauthStatusOut(status="refused", interval=0, provider_name=name,
                           detail=str(refusal.get("detail") or "this confirmation was used or refused: start again"))


@router.get("/go/{company_id:uuid}", permission=PUBLIC, query=DevicePageQuery, response_media_types=("text/html",))
def sso_reauth_page(ctx: Context, company_id: UUID, query: DevicePageQuery) -> Response:
    """The page a signing terminal's code is typed at; with the code, on to the identity provider,
    asked to make the person sign in again (OIDC prompt=login and max_age=0; SAML ForceAuthn)."""
    ctx.set_tenant(company_id)
    form = ("<form method='get'><label>Code shown on the terminal <input name='code' autocomplete='off' "
            "autofocus></label> <button>Continue</button></form>")
    title = "Confirm who you are to sign"
    if not query.code:
        return html_page(title, "Type the code your terminal shows.", form=form)
    handoff = saml_flows.reauth_by_code(ctx.conn, company_id, query.code)
    if handoff is None or saml_flows.expired(handoff):
        return html_page(title, "This code is unknown, used or expired: start again at the terminal.", form=form)
    row = provider_row(ctx.conn, company_id, handoff["provider_id"])
    if not row["enabled"]:
        raise NotFound("this identity provider is turned off", code="sso_no_provider", field="code")
    if row["kind"] == "saml":
        return send_to_idp(ctx, row, handoff, force_authn=True)
    client = client_of(row["name"], dict(row["config"]), provider_secret(runtime_of(ctx).keys, row))
    redirect_uri = row["config"].get("redirect_uri") or str(ctx.request.base_url).rstrip("/") + CALLBACK
    verifier = oidc.new_secret()
    state = seal(runtime_of(ctx).keys, Flow("reauth", str(company_id), str(row["id"]), time.time() + BROWSER_TTL,
                                            nonce=handoff["binding"], verifier=verifier, redirect_uri=redirect_uri,
                                            handoff_id=str(handoff["id"])))
    try:
        url = oidc.authorization_url(client, redirect_uri=redirect_uri, state=state, nonce=handoff["binding"] or "",
                                     verifier=verifier, fresh_login=True)
    except OidcError as exc:
        return problem_response(ctx, exc)
    return RedirectResponse(url, status_code=302)
