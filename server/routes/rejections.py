"""Rejections: scrapped parts with a quality reason."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import RowMapping

from factoryos.plant.listing import Page
from factoryos.production import rejections
from factoryos.production.loss_models import RejectionIn, RejectionOut, RejectionQuery
from server.api import Context, Router

router = Router(prefix="/api/v1/rejections", tags=("production",))

VIEW = "assets.view"
ENTRY = "production.entry"


def _out(row: RowMapping) -> RejectionOut:
    return RejectionOut.model_validate(dict(row))


@router.get("", permission=VIEW, query=RejectionQuery, response=Page[RejectionOut])
def list_rejections(ctx: Context, query: RejectionQuery) -> Page[RejectionOut]:
    """Rejections by machine, shift instance or reason; `q` searches the note."""
    page = rejections.list_rejections(ctx.conn, ctx.tenant_id, query)
    return Page[RejectionOut](items=[_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("", permission=ENTRY, body=RejectionIn, response=RejectionOut, status_code=201)
def create_rejection(ctx: Context, body: RejectionIn) -> RejectionOut:
    """Report scrapped parts with a quality reason; send an Idempotency-Key for safe retries."""
    out = _out(rejections.create_rejection(ctx.conn, ctx.tenant_id, ctx.user_id, body, datetime.now(UTC)))
    ctx.audit("create", "rejection", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/{rejection_id:uuid}", permission=VIEW, response=RejectionOut)
def get_rejection(ctx: Context, rejection_id: UUID) -> RejectionOut:
    """One rejection."""
    return _out(rejections.Rejections(ctx.conn, ctx.tenant_id).require(rejection_id))


@router.delete("/{rejection_id:uuid}", permission=ENTRY, status_code=204)
def delete_rejection(ctx: Context, rejection_id: UUID) -> None:
    """Withdraw a wrong rejection (the audit log keeps it)."""
    before = rejections.delete_rejection(ctx.conn, ctx.tenant_id, rejection_id)
    ctx.audit("delete", "rejection", rejection_id, before=_out(before).model_dump(mode="json"))
