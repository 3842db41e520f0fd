"""Site edges of the signed-in company (/api/v1/edges, admins only), and the edge's own call
(/api/v1/edge/config, authenticated by the edge's token, not by a person).

An edge's credentials let a process at a site publish that site's production, so registering,
rotating and revoking one need the permission that administers the company's system settings,
and each is audited.
"""

from __future__ import annotations

from uuid import UUID

from factoryos.edge import registry
from factoryos.edge.edge_models import EdgeConfigOut, EdgeCreated, EdgeIn, EdgeOut, EdgePage
from factoryos.identity.keys import DerivedKeys
from factoryos.keys import secret_key
from server.api import PUBLIC, Context, Router

router = Router(prefix="/api/v1/edges", tags=("edges",))
edge_router = Router(prefix="/api/v1/edge", tags=("edges",))

ADMIN = "admin.system"
ENTITY = "edge"


@router.get("", permission=ADMIN, response=EdgePage)
def list_edges(ctx: Context) -> EdgePage:
    """The company's site edges, revoked ones last (secrets are never shown again)."""
    return EdgePage(items=registry.list_edges(ctx.conn, ctx.tenant_id))


@router.post("", permission=ADMIN, body=EdgeIn, response=EdgeCreated, status_code=201, shows_secret=True)
def create_edge(ctx: Context, body: EdgeIn) -> EdgeCreated:
    """Register an edge for a site; the answer carries its secret and token, this once."""
    made = registry.create_edge(ctx.conn, ctx.tenant_id, ctx.user_id, body)
    ctx.audit("create", ENTITY, made.id, after=registry.audit_view(EdgeOut(**made.model_dump(exclude={"secret", "token"}))))
    return made


@router.get("/{edge_id:uuid}", permission=ADMIN, response=EdgeOut)
def get_edge(ctx: Context, edge_id: UUID) -> EdgeOut:
    """One edge."""
    return registry.get_edge(ctx.conn, ctx.tenant_id, edge_id)


@router.post("/{edge_id:uuid}/rotate", permission=ADMIN, response=EdgeCreated, shows_secret=True)
def rotate_edge(ctx: Context, edge_id: UUID) -> EdgeCreated:
    """New credentials, shown this once; the old secret stops working at once (at the broker when its
    password file is written again)."""
    before, after = registry.rotate_edge(ctx.conn, ctx.tenant_id, edge_id)
    ctx.audit("rotate_secret", ENTITY, edge_id, before=registry.audit_view(before),
              after=registry.audit_view(EdgeOut(**after.model_dump(exclude={"secret", "token"}))))
    return after


@router.post("/{edge_id:uuid}/revoke", permission=ADMIN, response=EdgeOut)
def revoke_edge(ctx: Context, edge_id: UUID) -> EdgeOut:
    """Revoke an edge for good: its calls are refused and the ingest drops what it still publishes."""
    before, after = registry.revoke_edge(ctx.conn, ctx.tenant_id, edge_id)
    ctx.audit("revoke", ENTITY, edge_id, before=registry.audit_view(before), after=registry.audit_view(after))
    return after


@edge_router.get("/config", permission=PUBLIC, response=EdgeConfigOut)
def edge_config(ctx: Context) -> EdgeConfigOut:
    """For the edge itself (Authorization: Bearer edge_…): its site's machine connections to poll."""
    scheme, _, token = ctx.request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        raise registry.EdgeUnauthorized("send the edge's token as Authorization: Bearer edge_…")
    caller = registry.resolve_token(ctx.conn, token.strip())
    return registry.edge_config(ctx.conn, caller, DerivedKeys.from_secret(secret_key(ctx.settings)))
