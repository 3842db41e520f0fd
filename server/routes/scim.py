"""SCIM 2.0 (RFC 7644) for a company's identity provider, and the admin API of its SCIM token.

The SCIM routes are PUBLIC to the framework: the caller is a company's SCIM token, not a person,
so each handler resolves the token itself (the transaction's tenant is then that company) and
answers SCIM's own media type and error bodies (RFC 7644 §3.12, with our stable `code` inside)
rather than problem+json. The request body is read raw for the same reason. Each call writes one
audit row in the company (and a rename one in each other company of the person: their sign-in
changed there too, and that company's SCIM record of them follows); a failed call's changes are
rolled back to a savepoint first, so its audit row is all that stays. A call with no valid token
has no company to be audited in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import anyio.from_thread
from starlette.responses import JSONResponse, Response

from factoryos.audit.writer import AuditEvent, record
from factoryos.db.tenant import set_tenant
from factoryos.errors import FactoryOSError
from factoryos.sso import scim_tokens, scim_users
from factoryos.sso.scim import (
    ScimError,
    parse_filter,
    parse_page,
    parse_patch,
    resource_types,
    schemas,
    service_provider_config,
)
from factoryos.sso.scim_discovery_models import ScimResourceType, ScimSchema, ScimServiceProviderConfig
from factoryos.sso.scim_models import (
    MEDIA_TYPE,
    ScimGroup,
    ScimListQuery,
    ScimListResponse,
    ScimStatus,
    ScimTokenIn,
    ScimTokenOut,
    ScimUser,
)
from factoryos.sso.scim_rename import RenameNotice
from factoryos.sso.scim_requests import ScimGroupIn, ScimPatchOp, ScimUserIn
from factoryos.sso.scim_tokens import ScimCaller
from factoryos.sso.scim_users import Outcome
from factoryos.sso.signin import AuditRow
from server.api import PUBLIC, Context, Router

log = logging.getLogger(__name__)

router = Router(prefix="/scim/v2", tags=("scim",))
admin_router = Router(prefix="/api/v1/sso/scim", tags=("sso",))

ADMIN = "admin.system"
# Every SCIM route answers in SCIM's media type, errors included. Bodies are declared as `form`: the
# document shows them (in that media type, or plain JSON) and the handler reads them itself, as
# leniently as SCIM asks, answering SCIM's errors rather than problem+json.
SCIM_JSON = (MEDIA_TYPE,)


def _answer(status: int, document: dict[str, Any] | None, headers: dict[str, str] | None = None) -> Response:
    if document is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(document, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _error(err: ScimError, headers: dict[str, str] | None = None) -> Response:
    return _answer(err.status, err.body().document(), headers)


def _base(ctx: Context) -> str:
    return str(ctx.request.base_url).rstrip("/") + router.prefix


def _caller(ctx: Context) -> ScimCaller | None:
    scheme, _, token = ctx.request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return scim_tokens.resolve_token(ctx.conn, token.strip())


def _body(ctx: Context) -> Any:
    """The request's JSON (already read by the framework: this returns at once)."""
    raw = anyio.from_thread.run(ctx.request.body)
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ScimError(400, "the body is not valid JSON", scim_type="invalidSyntax",
                        code="scim_invalid_syntax") from None
    if _has_nul(data):  # PostgreSQL text cannot hold them
        raise ScimError(400, "text may not contain NUL characters", scim_type="invalidValue",
                        code="scim_invalid_value")
    return data


def _has_nul(data: Any) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _call(ctx: Context, what: str, run: Callable[[ScimCaller, str], Outcome]) -> Response:
    """Authenticate the token, run `run` in a savepoint, write the call's one audit row, answer."""
    caller = _caller(ctx)
    if caller is None:
        log.info("SCIM %s refused: no valid token (from %s)", what, ctx.client_ip)
        return _error(ScimError(401, "send the company's SCIM token as Authorization: Bearer <token>",
                                code="scim_unauthorized"), {"WWW-Authenticate": 'Bearer realm="scim"'})
    try:
        with ctx.conn.begin_nested():
            outcome = run(caller, _base(ctx))
    except ScimError as err:
        ctx.audit("scim_refused", "scim_request", None, tenant_id=caller.tenant_id,
                  after={"call": what, "status": err.status, "scim_type": err.scim_type, "code": err.code,
                         "detail": err.detail})
        return _error(err)
    except FactoryOSError as exc:  # a rule of the core (e.g. a membership conflict): same SCIM shape
        refused = ScimError(exc.status if exc.status < 500 else 400, exc.detail, code=exc.code)
        ctx.audit("scim_refused", "scim_request", None, tenant_id=caller.tenant_id,
                  after={"call": what, "status": refused.status, "code": refused.code, "detail": refused.detail})
        return _error(refused)
    for tenant, row in outcome.chain_rows(caller.tenant_id):
        if tenant != caller.tenant_id and outcome.renamed is not None:
            _rename_elsewhere(ctx, tenant, outcome.renamed)
            continue
        after = {**row.after, "call": what} if row.after is not None else None
        ctx.audit(row.action, row.entity_type, row.entity_id, before=row.before, after=after, tenant_id=tenant)
    headers = None
    if outcome.status == 201 and outcome.document is not None:
        headers = {"Location": outcome.document["meta"]["location"]}
    return _answer(outcome.status, outcome.document, headers)


def _rename_elsewhere(ctx: Context, tenant: UUID, notice: RenameNotice) -> None:
    """The rename in another company of the person, inside that company's tenant: its SCIM record of
    them follows, and a row in its chain. The request id ties the row to the call; the caller's address
    and user agent (the other company's identity provider) stay out."""
    set_tenant(ctx.conn, tenant)
    try:
        row = notice.follow(ctx.conn, tenant)
        record(ctx.conn, AuditEvent(tenant_id=tenant, action=row.action, entity_type=row.entity_type,
                                    entity_id=str(row.entity_id), before=row.before, after=row.after,
                                    request_id=ctx.request_id))
    finally:
        set_tenant(ctx.conn, None)


def _read(document: dict[str, Any], entity_type: str, entity_id: Any = None, **facts: Any) -> Outcome:
    return Outcome(200, document, AuditRow("read", entity_type, entity_id, after=facts))


def _members_wanted(query: ScimListQuery) -> bool:
    excluded = {a.strip().lower() for a in (query.excluded_attributes or "").split(",")}
    wanted = {a.strip().lower() for a in (query.attributes or "").split(",") if a.strip()}
    return "members" not in excluded and (not wanted or "members" in wanted)


# ---- discovery -------------------------------------------------------------------------------------

@router.get("/ServiceProviderConfig", permission=PUBLIC, response_media_types=SCIM_JSON,
            response=ScimServiceProviderConfig)
def scim_service_provider_config(ctx: Context) -> Response:
    """What this SCIM service supports (PATCH and `eq` filters; no bulk, sort or ETags)."""
    return _call(ctx, "GET ServiceProviderConfig", lambda c, base: _read(
        service_provider_config(base).document(), "scim_config", "ServiceProviderConfig"))


Discovered = TypeVar("Discovered", ScimSchema, ScimResourceType)


def _discovery_list(items: list[Discovered]) -> dict[str, Any]:
    return ScimListResponse(total_results=len(items), start_index=1, items_per_page=len(items),
                            resources=items).document()


def _one(items: list[Discovered], wanted: str, kind: str) -> dict[str, Any]:
    for item in items:
        if item.id == wanted:
            return item.document()
    raise ScimError(404, f"{kind} {wanted} not found", code="scim_not_found")


@router.get("/Schemas", permission=PUBLIC, response_media_types=SCIM_JSON, response=ScimListResponse[ScimSchema])
def scim_schemas(ctx: Context) -> Response:
    """The User and Group schemas as this service keeps them."""
    return _call(ctx, "GET Schemas", lambda c, base: _read(_discovery_list(schemas(base)), "scim_config", "Schemas"))


@router.get("/Schemas/{schema_id}", permission=PUBLIC, response_media_types=SCIM_JSON, response=ScimSchema)
def scim_schema(ctx: Context, schema_id: str) -> Response:
    """One schema, by its URN."""
    return _call(ctx, "GET Schema", lambda c, base: _read(_one(schemas(base), schema_id, "schema"),
                                                          "scim_config", schema_id))


@router.get("/ResourceTypes", permission=PUBLIC, response_media_types=SCIM_JSON,
            response=ScimListResponse[ScimResourceType])
def scim_resource_types(ctx: Context) -> Response:
    """User and Group."""
    return _call(ctx, "GET ResourceTypes", lambda c, base: _read(_discovery_list(resource_types(base)),
                                                                 "scim_config", "ResourceTypes"))


@router.get("/ResourceTypes/{type_id}", permission=PUBLIC, response_media_types=SCIM_JSON, response=ScimResourceType)
def scim_resource_type(ctx: Context, type_id: str) -> Response:
    """One resource type."""
    return _call(ctx, "GET ResourceType", lambda c, base: _read(_one(resource_types(base), type_id, "resource type"),
                                                                "scim_config", type_id))


# ---- users -----------------------------------------------------------------------------------------

@router.get("/Users", permission=PUBLIC, response_media_types=SCIM_JSON, query=ScimListQuery,
            response=ScimListResponse[ScimUser])
def scim_list_users(ctx: Context, query: ScimListQuery) -> Response:
    """Users, oldest first; `filter=userName eq "…"` (or externalId, id), `startIndex` (1-based), `count`."""
    def run(caller: ScimCaller, base: str) -> Outcome:
        flt = parse_filter(query.filter, scim_users.USER_FILTERS)
        page = parse_page(query.start_index, query.count)
        doc = scim_users.list_users(ctx.conn, caller, base, flt, page)
        return _read(doc, "scim_user", None, filter=query.filter, start_index=page.start_index,
                     results=doc["itemsPerPage"], total=doc["totalResults"])
    return _call(ctx, "GET Users", run)


@router.post("/Users", permission=PUBLIC, response_media_types=SCIM_JSON, form=ScimUserIn, response=ScimUser,
             status_code=201)
def scim_create_user(ctx: Context) -> Response:
    """Provision a person: `userName` is their email (of the provider's domains, or already a member)."""
    return _call(ctx, "POST Users", lambda c, base: scim_users.create_user(ctx.conn, c, base, _body(ctx)))


@router.get("/Users/{user_id}", permission=PUBLIC, response_media_types=SCIM_JSON, response=ScimUser)
def scim_get_user(ctx: Context, user_id: str) -> Response:
    """One user."""
    return _call(ctx, "GET User", lambda c, base: _read(scim_users.get_user(ctx.conn, c, base, user_id),
                                                        "scim_user", user_id))


@router.put("/Users/{user_id}", permission=PUBLIC, response_media_types=SCIM_JSON, form=ScimUserIn, response=ScimUser)
def scim_replace_user(ctx: Context, user_id: str) -> Response:
    """Replace a user's attributes (a new `userName` changes their sign-in email; `active: false` deactivates)."""
    return _call(ctx, "PUT User", lambda c, base: scim_users.replace_user(ctx.conn, c, base, user_id, _body(ctx)))


@router.patch("/Users/{user_id}", permission=PUBLIC, response_media_types=SCIM_JSON, form=ScimPatchOp,
              response=ScimUser)
def scim_patch_user(ctx: Context, user_id: str) -> Response:
    """add/replace/remove operations; `replace active false` ends the person's sessions at once."""
    return _call(ctx, "PATCH User", lambda c, base: scim_users.patch_user(ctx.conn, c, base, user_id,
                                                                          parse_patch(_body(ctx))))


@router.delete("/Users/{user_id}", permission=PUBLIC, response_media_types=SCIM_JSON, status_code=204)
def scim_delete_user(ctx: Context, user_id: str) -> Response:
    """Remove the person from the company (their sessions end; the account itself stays)."""
    return _call(ctx, "DELETE User", lambda c, base: scim_users.delete_user(ctx.conn, c, user_id))


# ---- groups ----------------------------------------------------------------------------------------

@router.get("/Groups", permission=PUBLIC, response_media_types=SCIM_JSON, query=ScimListQuery,
            response=ScimListResponse[ScimGroup])
def scim_list_groups(ctx: Context, query: ScimListQuery) -> Response:
    """Groups, oldest first; `filter=displayName eq "…"` (or externalId, id); `excludedAttributes=members`."""
    def run(caller: ScimCaller, base: str) -> Outcome:
        flt = parse_filter(query.filter, scim_users.GROUP_FILTERS)
        page = parse_page(query.start_index, query.count)
        doc = scim_users.list_groups(ctx.conn, caller, base, flt, page, members=_members_wanted(query))
        return _read(doc, "scim_group", None, filter=query.filter, start_index=page.start_index,
                     results=doc["itemsPerPage"], total=doc["totalResults"])
    return _call(ctx, "GET Groups", run)


@router.post("/Groups", permission=PUBLIC, response_media_types=SCIM_JSON, form=ScimGroupIn, response=ScimGroup,
             status_code=201)
def scim_create_group(ctx: Context) -> Response:
    """Create a group (with members); the provider's rules matching its displayName give them roles."""
    return _call(ctx, "POST Groups", lambda c, base: scim_users.create_group(ctx.conn, c, base, _body(ctx)))


@router.get("/Groups/{group_id}", permission=PUBLIC, response_media_types=SCIM_JSON, query=ScimListQuery, response=ScimGroup)
def scim_get_group(ctx: Context, group_id: str, query: ScimListQuery) -> Response:
    """One group."""
    return _call(ctx, "GET Group", lambda c, base: _read(
        scim_users.get_group(ctx.conn, c, base, group_id, members=_members_wanted(query)), "scim_group", group_id))


@router.put("/Groups/{group_id}", permission=PUBLIC, response_media_types=SCIM_JSON, form=ScimGroupIn, response=ScimGroup)
def scim_replace_group(ctx: Context, group_id: str) -> Response:
    """Replace a group's name and members; the roles of members who came or went are recomputed."""
    return _call(ctx, "PUT Group", lambda c, base: scim_users.replace_group(ctx.conn, c, base, group_id, _body(ctx)))


@router.patch("/Groups/{group_id}", permission=PUBLIC, response_media_types=SCIM_JSON, form=ScimPatchOp,
              response=ScimGroup)
def scim_patch_group(ctx: Context, group_id: str) -> Response:
    """Add or remove members (`members[value eq "…"]`), rename; roles follow at once."""
    return _call(ctx, "PATCH Group", lambda c, base: scim_users.patch_group(ctx.conn, c, base, group_id,
                                                                            parse_patch(_body(ctx))))


@router.delete("/Groups/{group_id}", permission=PUBLIC, response_media_types=SCIM_JSON, status_code=204)
def scim_delete_group(ctx: Context, group_id: str) -> Response:
    """Delete a group; its members' roles are recomputed without it."""
    return _call(ctx, "DELETE Group", lambda c, base: scim_users.delete_group(ctx.conn, c, group_id))


# ---- the company's SCIM token (admin) ---------------------------------------------------------------

@admin_router.get("", permission=ADMIN, response=ScimStatus)
def get_scim_status(ctx: Context) -> ScimStatus:
    """Whether SCIM is on, the current token's last characters, the provider whose rules apply."""
    return scim_tokens.status(ctx.conn, ctx.tenant_id)


@admin_router.post("/token", permission=ADMIN, body=ScimTokenIn, response=ScimTokenOut, status_code=201,
                   shows_secret=True)
def issue_scim_token(ctx: Context, body: ScimTokenIn) -> ScimTokenOut:
    """Issue the SCIM token (shown this once), replacing the current one at once or after `overlap_minutes`."""
    before = scim_tokens.status(ctx.conn, ctx.tenant_id)
    token, after = scim_tokens.issue(ctx.conn, ctx.tenant_id, ctx.user_id, body)
    view = after.model_dump(mode="json", exclude={"users", "groups"})
    if before.enabled:
        ctx.audit("rotate", "scim_token", ctx.tenant_id, before=before.model_dump(mode="json", exclude={"users", "groups"}),
                  after={**view, "overlap_minutes": body.overlap_minutes})
    else:
        ctx.audit("create", "scim_token", ctx.tenant_id, after=view)
    return ScimTokenOut(**after.model_dump(), token=token)


@admin_router.delete("/token", permission=ADMIN, status_code=204)
def turn_off_scim(ctx: Context) -> None:
    """Turn SCIM off: every token ends at once (provisioned people and groups stay)."""
    before = scim_tokens.status(ctx.conn, ctx.tenant_id)
    ended = scim_tokens.turn_off(ctx.conn, ctx.tenant_id)
    if ended:
        ctx.audit("delete", "scim_token", ctx.tenant_id, before={**before.model_dump(mode="json"), "ended": ended})
