"""SAML 2.0 sign-in (FactoryOS as service provider): our SP metadata, the browser sign-in, the
assertion consumer service (HTTP-POST binding), and the terminal hand-off that mirrors the OIDC
device grant (the terminal shows a code and a page; the person completes SAML in a browser at
the server; the terminal polls and is signed in). Every sign-in ends in the shared
`finish_sso_sign_in` (group → role mapping, just-in-time account).

Per provider, stable public URLs (the company and provider ids name them, no sign-in needed):
  …/saml/{company}/{provider}/metadata   our SP metadata: the entity id the IdP knows us by
  …/saml/{company}/{provider}/acs        where the IdP posts its response
  …/saml/{company}/{provider}/start      browser sign-in
  …/saml/{company}/{provider}/device     the page a terminal's code is typed at
Every refusal (unsigned or wrongly signed, another service's assertion, expired, replayed, an
expired IdP certificate) is answered with its own code and audited in the provider's company.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote
from uuid import UUID

from sqlalchemy import RowMapping
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from factoryos.errors import FactoryOSError, NotFound, ValidationFailed
from factoryos.identity.models import SignIn
from factoryos.sso import saml, saml_flows
from factoryos.sso.oidc_errors import DeviceCodeExpired, DeviceCodeUsed
from factoryos.sso.oidc_flows import binding_hash
from factoryos.sso.oidc_models import DevicePollIn, DevicePollOut, DeviceStartIn, DeviceStartOut
from factoryos.sso.saml_models import DevicePageQuery, SamlAcsForm, SamlStartQuery
from factoryos.sso.signin import ExternalIdentity
from server.api import PUBLIC, Context, Router
from server.auth import runtime_of
from server.routes.signin import problem_response
from server.routes.sso_signin import finish_sso_sign_in

router = Router(prefix=saml.PREFIX, tags=("sso",))

COOKIE = "factoryos_saml"  # binds a browser sign-in to the browser that started it
HTML = ("text/html",)


def _sp(ctx: Context, row: RowMapping) -> saml.ServiceProvider:
    return saml.ServiceProvider.of(row["name"], dict(row["config"]), base_url=str(ctx.request.base_url),
                                   company_id=row["tenant_id"], provider_id=row["id"])


def html_page(title: str, message: str, status: int = 200, form: str = "") -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>FactoryOS – {escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p>{form}</body></html>", status_code=status)


def _audit_refusal(ctx: Context, row: RowMapping, exc: FactoryOSError, channel: str) -> None:
    ctx.audit("login_failed", "sso_provider", row["id"], tenant_id=row["tenant_id"],
              after={"reason": exc.code, "provider": row["name"], "flow": f"saml-{channel}",
                     "detail": getattr(exc, "reason", exc.detail)})
    ctx.set_tenant(row["tenant_id"])  # writing into another company than the caller's unset it


def send_to_idp(ctx: Context, row: RowMapping, handoff: RowMapping, *, force_authn: bool = False) -> Response:
    try:
        request = saml.authn_request(_sp(ctx, row), relay_state=str(handoff["id"]), force_authn=force_authn)
    except saml.SamlRefused as exc:
        _audit_refusal(ctx, row, exc, handoff["channel"])
        return problem_response(ctx, exc)
    saml_flows.set_request(ctx.conn, handoff, request.request_id)
    if request.url is not None:
        return RedirectResponse(request.url, status_code=302)
    return HTMLResponse(request.form_html or "")


# ---- our SP metadata ---------------------------------------------------------------------------

@router.get("/{company_id:uuid}/{provider_id:uuid}/metadata", permission=PUBLIC,
            response_media_types=("application/samlmetadata+xml",))
def saml_sp_metadata(ctx: Context, company_id: UUID, provider_id: UUID) -> Response:
    """This provider's SP metadata, for the identity provider (entity id, ACS URL, signed assertions)."""
    row = saml_flows.saml_provider(ctx.conn, company_id, provider_id)
    return Response(saml.sp_metadata(_sp(ctx, row)), media_type="application/samlmetadata+xml")


# ---- browser sign-in ----------------------------------------------------------------------------

@router.get("/{company_id:uuid}/{provider_id:uuid}/start", permission=PUBLIC, query=SamlStartQuery,
            status_code=302, response_media_types=HTML)
def saml_browser_start(ctx: Context, company_id: UUID, provider_id: UUID, query: SamlStartQuery) -> Response:
    """Browser sign-in: sends the browser to the identity provider with a SAML request."""
    row = saml_flows.saml_provider(ctx.conn, company_id, provider_id)
    cookie = secrets.token_urlsafe(32)
    handoff = saml_flows.start(ctx.conn, company_id, provider_id, channel="browser", binding=binding_hash(cookie))
    response = send_to_idp(ctx, row, handoff)
    # The IdP's page posts to the ACS from another site: only a SameSite=None cookie comes along.
    secure = ctx.request.url.scheme == "https"
    response.set_cookie(COOKIE, cookie, max_age=int(saml_flows.BROWSER_TTL.total_seconds()),
                        path=f"{saml.PREFIX}/{company_id}/{provider_id}", httponly=True,
                        samesite="none" if secure else "lax", secure=secure)
    return response


# ---- terminals: the device hand-off ------------------------------------------------------------

def _resolve(ctx: Context, body: DeviceStartIn) -> RowMapping:
    if body.email:
        routed = saml_flows.route_email(ctx.conn, body.email, body.provider_id)
        if routed is None:
            raise NotFound("no SAML sign-in serves this email's domain: sign in with your password or ask your "
                           "administrator", code="sso_no_provider", field="email")
        return saml_flows.saml_provider(ctx.conn, *routed)
    if body.provider_id is not None and body.company_id is not None:
        return saml_flows.saml_provider(ctx.conn, body.company_id, body.provider_id)
    raise ValidationFailed("give your email (or a company and provider id)", code="sso_no_provider", field="email")


def device_start(ctx: Context, body: DeviceStartIn) -> DeviceStartOut:
    """Start a terminal's SAML sign-in (also reached through POST /auth/sso/device)."""
    row = _resolve(ctx, body)
    sp = _sp(ctx, row)
    saml.idp_metadata(sp)  # unusable metadata is said now, not after the person typed the code
    handoff = saml_flows.start(ctx.conn, row["tenant_id"], row["id"], channel="device")
    page = sp.acs_url.removesuffix("/acs") + "/device"
    handle = saml_flows.seal_handle(runtime_of(ctx).keys, saml_flows.Handle(
        str(row["tenant_id"]), str(row["id"]), str(handoff["id"])))
    ctx.audit("sso_device_started", "sso_provider", row["id"], tenant_id=row["tenant_id"],
              after={"provider": row["name"], "protocol": "saml",
                     "expires_in": int(saml_flows.DEVICE_TTL.total_seconds())})
    expires_at: datetime = handoff["expires_at"]
    return DeviceStartOut(
        handle=handle, provider_id=row["id"], provider_name=row["name"], user_code=handoff["user_code"],
        verification_uri=page, verification_uri_complete=f"{page}?code={quote(handoff['user_code'])}",
        interval=saml_flows.POLL_INTERVAL, expires_in=int(saml_flows.DEVICE_TTL.total_seconds()),
        expires_at=expires_at,
    )


def device_poll(ctx: Context, body: DevicePollIn) -> DevicePollOut | Response:
    """Has the person finished in the browser? Pending, or the sign-in (also reached through
    POST /auth/sso/device/poll)."""
    handle = saml_flows.unseal_handle(runtime_of(ctx).keys, body.handle)
    row = saml_flows.saml_provider(ctx.conn, UUID(handle.tenant_id), UUID(handle.provider_id))
    handoff = saml_flows.by_id(ctx.conn, row["tenant_id"], row["id"], handle.handoff_id)
    if handoff is None or handoff["purpose"] != "sign_in":
        raise ValidationFailed("this sign-in is unknown to the server: start it again", code="sso_flow_invalid",
                               field="handle")
    status = handoff["status"]
    if status == "pending" and not saml_flows.expired(handoff):
        # Not audited: a pending poll changes nothing (the start and the outcome are).
        return DevicePollOut(status="pending", interval=saml_flows.POLL_INTERVAL)
    if status in ("pending", "consumed"):
        error = DeviceCodeExpired(row["name"]) if status == "pending" else DeviceCodeUsed(row["name"])
        _audit_refusal(ctx, row, error, "device")
        return problem_response(ctx, error)
    saml_flows.finish(ctx.conn, handoff, status="consumed")
    if status == "refused":
        refusal: dict[str, Any] = dict(handoff["refusal"] or {})
        return problem_response(ctx, saml.SamlRefused(row["name"], str(refusal.get("detail", "refused")),
                                                      code=str(refusal.get("code", "saml_response_invalid")),
                                                      status=int(refusal.get("status", 401))))
    who: dict[str, Any] = dict(handoff["identity"] or {})
    result = finish_sso_sign_in(ctx, _external(row, who))
    if isinstance(result, SignIn):
        return DevicePollOut(status="signed_in", interval=0, sign_in=result)
    return result


def _external(row: RowMapping, who: dict[str, Any]) -> ExternalIdentity:
    return ExternalIdentity(tenant_id=row["tenant_id"], provider_id=row["id"], subject=str(who["subject"]),
                            email=str(who.get("email") or ""), display_name=who.get("name"),
                            groups=tuple(who.get("groups") or ()))


@router.post("/device", permission=PUBLIC, body=DeviceStartIn, response=DeviceStartOut)
def saml_device_start(ctx: Context, body: DeviceStartIn) -> DeviceStartOut:
    """Start signing a terminal in through SAML: a code and a page for the person's phone or PC."""
    return device_start(ctx, body)


@router.post("/device/poll", permission=PUBLIC, body=DevicePollIn, response=DevicePollOut)
def saml_device_poll(ctx: Context, body: DevicePollIn) -> DevicePollOut | Response:
    """Has the person finished? Pending, or the sign-in (as POST /auth/login answers)."""
    return device_poll(ctx, body)


@router.get("/{company_id:uuid}/{provider_id:uuid}/device", permission=PUBLIC, query=DevicePageQuery,
            response_media_types=HTML)
def saml_device_page(ctx: Context, company_id: UUID, provider_id: UUID, query: DevicePageQuery) -> Response:
    """The page a terminal's code is typed at; with the code, on to the identity provider."""
    row = saml_flows.saml_provider(ctx.conn, company_id, provider_id)
    form = ("<form method='get'><label>Code shown on the terminal <input name='code' autocomplete='off' "
            "autofocus></label> <button>Continue</button></form>")
    if not query.code:
        return html_page(f"Sign in with {row['name']}", "Type the code your terminal shows.", form=form)
    handoff = saml_flows.by_code(ctx.conn, company_id, provider_id, query.code)
    if handoff is None or handoff["status"] != "pending" or saml_flows.expired(handoff):
        return html_page(f"Sign in with {row['name']}", "This code is unknown, used or expired: start the sign-in "
                                                    "again at the terminal.", form=form)
    return send_to_idp(ctx, row, handoff, force_authn=handoff["purpose"] == "reauth")


# ---- the assertion consumer service ------------------------------------------------------------

def _form(ctx: Context) -> dict[str, str]:
    # The API reads mutating bodies before the handler runs (starlette keeps them): the IdP posts
    # an HTML form, not JSON, so it is parsed here.
    raw: bytes = getattr(ctx.request, "_body", b"")
    try:
        return {k: v[0] for k, v in parse_qs(raw.decode("ascii"), max_num_fields=10).items()}
    except (UnicodeDecodeError, ValueError):
        return {}


@router.post("/{company_id:uuid}/{provider_id:uuid}/acs", permission=PUBLIC, form=SamlAcsForm, response=SignIn,
             response_media_types=HTML)
def saml_acs(ctx: Context, company_id: UUID, provider_id: UUID) -> Response:
    """Where the identity provider posts its answer (HTTP-POST binding): checked, then the person
    is signed in (browser) or their terminal's sign-in completed (device)."""
    row = saml_flows.saml_provider(ctx.conn, company_id, provider_id)
    form = _form(ctx)
    handoff = saml_flows.by_id(ctx.conn, company_id, provider_id, form.get("RelayState", ""))
    if handoff is None or not form.get("SAMLResponse"):
        error: FactoryOSError = ValidationFailed(
            "this answer belongs to no sign-in started here (sign-ins must start at FactoryOS): start again",
            code="sso_flow_invalid", field="RelayState")
        _audit_refusal(ctx, row, error, "acs")
        return problem_response(ctx, error)
    channel = handoff["channel"]
    try:
        if handoff["status"] == "pending" and saml_flows.expired(handoff):
            raise saml.SamlRefused(row["name"], "the sign-in took too long: start it again", code="sso_flow_expired",
                                   status=410)
        if channel == "browser":
            cookie = ctx.request.cookies.get(COOKIE, "")
            if not cookie or not secrets.compare_digest(binding_hash(cookie), handoff["binding"] or ""):
                raise saml.SamlRefused(row["name"], "this sign-in was started in another browser: start it again "
                                                    "here", code="sso_state_mismatch", status=400)
        assertion = saml.consume(_sp(ctx, row), form["SAMLResponse"], request_id=handoff["request_id"] or "")
        if not saml_flows.consume_assertion_id(ctx.conn, company_id, provider_id, assertion):
            raise saml.SamlRefused(row["name"], "this assertion was already used (a replay): sign in again",
                                   code="saml_assertion_replayed", status=409)
        if handoff["status"] != "pending":
            raise saml.SamlRefused(row["name"], "this sign-in is already finished: start it again",
                                   code="sso_flow_invalid", status=409)
    except saml.SamlRefused as exc:
        _audit_refusal(ctx, row, exc, channel)
        if handoff["status"] == "pending":
            saml_flows.finish(ctx.conn, handoff, refusal={"code": exc.code, "detail": exc.reason,
                                                          "status": exc.status})
        return problem_response(ctx, exc)
    who = saml_flows.identity_record(assertion)
    if channel == "device":
        saml_flows.finish(ctx.conn, handoff, identity=who)
        ctx.audit("sso_device_completed", "sso_provider", row["id"], tenant_id=company_id,
                  after={"provider": row["name"], "protocol": "saml", "email": who["email"],
                         "assertion_id": who["assertion_id"], "purpose": handoff["purpose"]})
        return html_page("Signed in", f"{row['name']} confirmed who you are: go back to your terminal.")
    saml_flows.finish(ctx.conn, handoff, identity=who, status="consumed")
    result = finish_sso_sign_in(ctx, _external(row, who))
    if not isinstance(result, SignIn):
        return result
    response = JSONResponse(result.model_dump(mode="json"))
    response.delete_cookie(COOKIE, path=f"{saml.PREFIX}/{company_id}/{provider_id}")
    return response
