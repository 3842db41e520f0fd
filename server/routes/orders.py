"""Manufacturing orders: list, create, edit, delete, status by hand, and the ERP's confirmations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from factoryos.materials.completion import lot_at_completion
from factoryos.orders import orders
from factoryos.orders.confirmations import confirmations_since
from factoryos.orders.order_models import (
    ConfirmationPage,
    ConfirmationQuery,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    OrderQuery,
    OrderStatusIn,
    ReasonQuery,
)
from factoryos.orders.order_status import set_order_status
from server.api import Context, Router

router = Router(prefix="/api/v1/orders", tags=("orders",))

VIEW = "orders.view"
ACT = "orders.act"


def _why(after: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return after | {"reason": reason} if reason else after


@router.get("", permission=VIEW, query=OrderQuery, response=OrderPage)
def list_orders(ctx: Context, query: OrderQuery) -> OrderPage:
    """Orders by due date, filtered by number, status, site, machine or product; `q` searches."""
    return orders.list_orders(ctx.conn, ctx.tenant_id, query)


@router.post("", permission=ACT, body=OrderIn, response=OrderOut, status_code=201)
def create_order(ctx: Context, body: OrderIn) -> OrderOut:
    """Create an order by hand; its operations come from the product's routing."""
    order_id = orders.create_order(ctx.conn, ctx.tenant_id, ctx.user_id, body)
    out = orders.get_order(ctx.conn, ctx.tenant_id, order_id)
    ctx.audit("create", "job", order_id, after=out.model_dump(mode="json", exclude={"operations"}) | {
        "operations": [{"seq": o.seq, "name": o.name, "machine_id": str(o.machine_id) if o.machine_id else None}
                       for o in out.operations]})
    return out


@router.get("/confirmations", permission=VIEW, query=ConfirmationQuery, response=ConfirmationPage)
def list_confirmations(ctx: Context, query: ConfirmationQuery) -> ConfirmationPage:
    """What each ended run produced, after the cursor `since`: the ERP reads these back."""
    return confirmations_since(ctx.conn, ctx.tenant_id, query.since, query.limit)


@router.get("/{order_id:uuid}", permission=VIEW, response=OrderOut)
def get_order(ctx: Context, order_id: UUID) -> OrderOut:
    """One order with its operations and what each produced."""
    return orders.get_order(ctx.conn, ctx.tenant_id, order_id)


@router.patch("/{order_id:uuid}", permission=ACT, body=OrderPatch, response=OrderOut)
def update_order(ctx: Context, order_id: UUID, body: OrderPatch) -> OrderOut:
    """Edit an open order: the number only before production, the quantity never below what was made."""
    before, after = orders.update_order(ctx.conn, ctx.tenant_id, order_id, body)
    if before != after:
        ctx.audit("update", "job", order_id, before=before, after=_why(after, body.reason))
    return orders.get_order(ctx.conn, ctx.tenant_id, order_id)


@router.delete("/{order_id:uuid}", permission=ACT, query=ReasonQuery, status_code=204)
def delete_order(ctx: Context, order_id: UUID, query: ReasonQuery) -> None:
    """Delete an order nothing was produced for; one with production is cancelled instead."""
    before = orders.delete_order(ctx.conn, ctx.tenant_id, order_id)
    ctx.audit("delete", "job", order_id, before=before, after=_why({}, query.reason) or None)


@router.post("/{order_id:uuid}/status", permission=ACT, body=OrderStatusIn, response=OrderOut)
def change_order_status(ctx: Context, order_id: UUID, body: OrderStatusIn) -> OrderOut:
    """Release, take back to planned, cancel, or complete a paused order by hand."""
    before, after = set_order_status(ctx.conn, ctx.tenant_id, order_id, body.status)
    out = orders.get_order(ctx.conn, ctx.tenant_id, order_id)
    lot: dict[str, Any] = {}
    if after["status"] == "completed" and before["status"] != "completed":
        # Completed by hand: its last operation's finished lot, as at a machine (factoryos.materials.completion).
        last = max((o for o in out.operations if o.status != "cancelled"), key=lambda o: o.seq, default=None)
        made = lot_at_completion(ctx.conn, ctx.tenant_id, ctx.user_id, last.id, datetime.now(UTC)) if last else None
        if made is not None:
            lot = {"lot": {"id": str(made.lot.id), "number": made.lot.number, "quantity": str(made.lot.quantity),
                           "receipt": made.receipt.id, "backflushed": [m.id for m in made.backflushed]}}
    if before["status"] != after["status"]:
        ctx.audit("update", "job", order_id, before={"status": before["status"]},
                  after=_why({"status": after["status"]} | lot, body.reason))
    return out
