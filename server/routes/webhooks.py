"""Webhook endpoints of the signed-in company (/api/v1/webhooks): admins only (`admin.system`).

An endpoint's URL and secret decide where the company's production data goes, so every route,
reading ones included, needs the permission that administers the company's system settings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from factoryos.identity.keys import DerivedKeys
from factoryos.integrations import endpoints
from factoryos.integrations.outbox import emit_test
from factoryos.integrations.webhook_models import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPage,
    EndpointPatch,
    RotateIn,
)
from factoryos.keys import secret_key
from server.api import Context, Router

router = Router(prefix="/api/v1/webhooks", tags=("webhooks",))

ADMIN = "admin.system"
ENTITY = "webhook_endpoint"


def _keys(ctx: Context) -> DerivedKeys:
    return DerivedKeys.from_secret(secret_key(ctx.settings))


@router.get("", permission=ADMIN, response=EndpointPage)
def list_webhooks(ctx: Context) -> EndpointPage:
    """The company's webhook endpoints (secrets are never shown again)."""
    return EndpointPage(items=endpoints.list_endpoints(ctx.conn, ctx.tenant_id))


@router.post("", permission=ADMIN, body=EndpointIn, response=EndpointCreated, status_code=201, shows_secret=True)
def create_webhook(ctx: Context, body: EndpointIn) -> EndpointCreated:
    """Register an endpoint; the answer carries its signing secret, this once."""
    made = endpoints.create_endpoint(ctx.conn, ctx.tenant_id, ctx.user_id, _keys(ctx), body)
    ctx.audit("create", ENTITY, made.id, after=endpoints.audit_view(EndpointOut(**made.model_dump(exclude={"secret"}))))
    return made


@router.get("/{endpoint_id:uuid}", permission=ADMIN, response=EndpointOut)
def get_webhook(ctx: Context, endpoint_id: UUID) -> EndpointOut:
    """One endpoint, with its failure count and why it was disabled."""
    return endpoints.get_endpoint(ctx.conn, ctx.tenant_id, endpoint_id)


@router.patch("/{endpoint_id:uuid}", permission=ADMIN, body=EndpointPatch, response=EndpointOut)
def update_webhook(ctx: Context, endpoint_id: UUID, body: EndpointPatch) -> EndpointOut:
    """Change the URL, events or description; enable or disable (enabling clears the failure count)."""
    before, after = endpoints.update_endpoint(ctx.conn, ctx.tenant_id, endpoint_id, body)
    ctx.audit("update", ENTITY, endpoint_id, before=endpoints.audit_view(before), after=endpoints.audit_view(after))
    return after


@router.delete("/{endpoint_id:uuid}", permission=ADMIN, status_code=204)
def delete_webhook(ctx: Context, endpoint_id: UUID) -> None:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    before = endpoints.delete_endpoint(ctx.conn, ctx.tenant_id, endpoint_id)
    ctx.audit("delete", ENTITY, endpoint_id, before=endpoints.audit_view(before))


@router.post("/{endpoint_id:uuid}/rotate-secret", permission=ADMIN, body=RotateIn, response=EndpointCreated,
             shows_secret=True)
def rotate_webhook_secret(ctx: Context, endpoint_id: UUID, body: RotateIn) -> EndpointCreated:
    """A new signing secret, shown this once; the old one signs too for `overlap_hours` (both signatures sent)."""
    before, after = endpoints.rotate_secret(ctx.conn, ctx.tenant_id, endpoint_id, _keys(ctx),
                                            timedelta(hours=body.overlap_hours))
    ctx.audit("rotate_secret", ENTITY, endpoint_id,
              before={"previous_secret_until": _iso(before.previous_secret_until), "updated_at": _iso(before.updated_at)},
              after={"previous_secret_until": _iso(after.previous_secret_until), "updated_at": _iso(after.updated_at)})
    return after


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@router.post("/{endpoint_id:uuid}/test", permission=ADMIN, response=DeliveryOut, status_code=202)
def test_webhook(ctx: Context, endpoint_id: UUID) -> DeliveryOut:
    """Queue a signed `webhook.test` event for this endpoint (sent within seconds, tried once).

    Follow its outcome in the delivery log."""
    endpoints.require(ctx.conn, ctx.tenant_id, endpoint_id)
    delivery_id = emit_test(ctx.conn, ctx.tenant_id, endpoint_id)
    out = endpoints.get_delivery(ctx.conn, ctx.tenant_id, endpoint_id, delivery_id)
    ctx.audit("test", ENTITY, endpoint_id, after={"delivery_id": str(out.id), "event_id": str(out.event_id)})
    return out


@router.get("/{endpoint_id:uuid}/deliveries", permission=ADMIN, query=DeliveryQuery, response=DeliveryPage)
def list_webhook_deliveries(ctx: Context, endpoint_id: UUID, query: DeliveryQuery) -> DeliveryPage:
    """The endpoint's delivery log, newest first: status, attempts, last answer or error."""
    return endpoints.list_deliveries(ctx.conn, ctx.tenant_id, endpoint_id, query)


@router.post("/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/retry", permission=ADMIN, response=DeliveryOut)
def retry_webhook_delivery(ctx: Context, endpoint_id: UUID, delivery_id: UUID) -> DeliveryOut:
    """Send a failed delivery again (the dead-letter replay): pending, due now, with the same event id."""
    before, after = endpoints.retry_delivery(ctx.conn, ctx.tenant_id, endpoint_id, delivery_id)
    ctx.audit("retry", "webhook_delivery", delivery_id, before=before.model_dump(mode="json"),
              after=after.model_dump(mode="json"))
    return after
