"""Nonconformances (/api/v1/nonconformances) and CAPAs (/api/v1/capas).

NCs: open, list, read, edit, disposition, close (signed). CAPAs: open from NCs, edit, actions, approve
steps (signed, never by the CAPA's owner).

Operators open and read NCs (`quality.inspect`); supervisors and quality staff edit them and
decide the disposition (`quality.manage`); closing the disposition is an electronic signature
by someone who may approve (`quality.approve`). An Advanced-edition module.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from factoryos.errors import ValidationFailed
from factoryos.licensing.document import Edition
from factoryos.nonconformances import capas, service, sources
from factoryos.nonconformances.capa_models import (
    ActionDoneIn,
    ActionIn,
    ActionOut,
    ActionQuery,
    ApproveIn,
    CapaIn,
    CapaOut,
    CapaPage,
    CapaPatch,
    CapaQuery,
)
from factoryos.nonconformances.nc_models import CloseIn, DispositionIn, NcIn, NcOut, NcPage, NcPatch, NcQuery
from factoryos.nonconformances.scrap_models import MachineScrapOut, MachineScrapQuery
from server.api import Context, Router
from server.routes.signatures import sign_record

router = Router(prefix="/api/v1/nonconformances", tags=("nonconformances",))

MODULE = ("Quality", Edition.ADVANCED)
INSPECT = "quality.inspect"
MANAGE = "quality.manage"
APPROVE = "quality.approve"


def _view(ctx: Context, nc_id: UUID) -> NcOut:
    return service.get_nc(ctx.conn, ctx.tenant_id, nc_id)


def _audit_view(out: NcOut) -> dict[str, Any]:
    return out.model_dump(mode="json", exclude={"history", "signatures", "capa_ids"})


@router.get("", permission=INSPECT, query=NcQuery, response=NcPage, module=MODULE)
def list_nonconformances(ctx: Context, query: NcQuery) -> NcPage:
    """Nonconformances, newest first, filtered by status, machine, product, order, lot or disposition."""
    return service.list_ncs(ctx.conn, ctx.tenant_id, query)


@router.post("", permission=INSPECT, body=NcIn, response=NcOut, status_code=201, module=MODULE)
def create_nonconformance(ctx: Context, body: NcIn) -> NcOut:
    """Open a nonconformance: machine, quantity and what is wrong; product, order and lot when known (which
    `quarantine_lot` puts in quarantine)."""
    nc_id = service.open_nc(ctx.conn, ctx.tenant_id, ctx.user_id, body)
    out = _view(ctx, nc_id)
    ctx.audit("create", "nonconformance", nc_id,
              after=_audit_view(out) | ({"lot_status": "quarantine"} if body.quarantine_lot else {}))
    return out


@router.get("/machine-scrap", permission=INSPECT, query=MachineScrapQuery, response=list[MachineScrapOut],
            module=MODULE)
def list_machine_scrap(ctx: Context, query: MachineScrapQuery) -> list[MachineScrapOut]:
    """Scrap the machines' reject counters counted in a period (at most 2 days), per machine, hour and the
    order that ran, newest first: what an NC can be opened from besides booked rejections."""
    found = sources.machine_scrap(ctx.conn, ctx.tenant_id, query.from_, query.to, query.machine_id)
    return [MachineScrapOut(machine_id=s.machine_id, start=s.start, end=s.end, quantity=s.quantity,
                            order_id=s.order_id, product_id=s.product_id) for s in found]


@router.get("/{nc_id:uuid}", permission=INSPECT, response=NcOut, module=MODULE)
def get_nonconformance(ctx: Context, nc_id: UUID) -> NcOut:
    """One nonconformance with its history, signatures (valid or not) and CAPAs."""
    return _view(ctx, nc_id)


@router.patch("/{nc_id:uuid}", permission=MANAGE, body=NcPatch, response=NcOut, module=MODULE)
def update_nonconformance(ctx: Context, nc_id: UUID, body: NcPatch) -> NcOut:
    """Correct an NC that is not closed (quantity, description, product, order, lot)."""
    before, after = service.update_nc(ctx.conn, ctx.tenant_id, nc_id, ctx.user_id, body)
    if before != after:
        ctx.audit("update", "nonconformance", nc_id, before=before,
                  after=after | ({"reason": body.reason} if body.reason else {}))
    return _view(ctx, nc_id)


@router.post("/{nc_id:uuid}/disposition", permission=MANAGE, body=DispositionIn, response=NcOut, module=MODULE)
def disposition_nonconformance(ctx: Context, nc_id: UUID, body: DispositionIn) -> NcOut:
    """Decide the disposition: scrap, rework, use as is, or return to the supplier (who decided is kept)."""
    before, after = service.disposition_nc(ctx.conn, ctx.tenant_id, nc_id, ctx.user_id, body)
    ctx.audit("update", "nonconformance", nc_id, before=before, after=after)
    return _view(ctx, nc_id)


@router.post("/{nc_id:uuid}/close", permission=APPROVE, body=CloseIn, response=NcOut, module=MODULE)
def close_nonconformance(ctx: Context, nc_id: UUID, body: CloseIn) -> NcOut:
    """Close the disposition with an electronic signature (password, TOTP when enrolled, meaning)."""
    row = service.require_nc(ctx.conn, ctx.tenant_id, nc_id, for_update=True)
    service.check_closable(row)
    signature = sign_record(ctx, record_type=service.RECORD_TYPE, record_id=nc_id, content=service.nc_content(row),
                            body=body.signature)
    service.close_nc(ctx.conn, ctx.tenant_id, row, signature.signer_id, signature.id)
    ctx.audit("update", "nonconformance", nc_id, before={"status": row["status"]},
              after={"status": "closed", "signature_id": str(signature.id), "meaning": signature.meaning})
    return _view(ctx, nc_id)


# -- CAPA ------------------------------------------------------------------------------------

capa_router = Router(prefix="/api/v1/capas", tags=("nonconformances",))


def _capa_view(out: CapaOut) -> dict[str, Any]:
    return out.model_dump(mode="json", include={"id", "number", "code", "title", "status", "owner_id", "problem",
                                                "containment", "nonconformance_ids"})


def _owner(ctx: Context, owner: str) -> UUID:
    if owner == "me":
        assert ctx.user_id is not None
        return ctx.user_id
    try:
        return UUID(owner)
    except ValueError:
        raise ValidationFailed("owner is `me` or a member's user id", field="owner") from None


@capa_router.get("", permission=INSPECT, query=CapaQuery, response=CapaPage, module=MODULE)
def list_capas(ctx: Context, query: CapaQuery) -> CapaPage:
    """CAPAs, newest first, filtered by status, owner or nonconformance; `q` searches title and problem."""
    return capas.list_capas(ctx.conn, ctx.tenant_id, query)


@capa_router.post("", permission=MANAGE, body=CapaIn, response=CapaOut, status_code=201, module=MODULE)
def create_capa(ctx: Context, body: CapaIn) -> CapaOut:
    """Open a CAPA for one or more nonconformances: the problem, its owner, the containment so far."""
    capa_id = capas.create_capa(ctx.conn, ctx.tenant_id, ctx.user_id, body)
    out = capas.get_capa(ctx.conn, ctx.tenant_id, capa_id)
    ctx.audit("create", "capa", capa_id, after=_capa_view(out))
    return out


@capa_router.get("/actions", permission=INSPECT, query=ActionQuery, response=list[ActionOut], module=MODULE)
def list_capa_actions(ctx: Context, query: ActionQuery) -> list[ActionOut]:
    """Open CAPA actions of an owner (default: you), soonest due first; `overdue=true` for the late ones.
    Late is judged by each action's site calendar (its CAPA's first NC's machine's site)."""
    return capas.list_actions(ctx.conn, ctx.tenant_id, _owner(ctx, query.owner), query)


@capa_router.get("/{capa_id:uuid}", permission=INSPECT, response=CapaOut, module=MODULE)
def get_capa(ctx: Context, capa_id: UUID) -> CapaOut:
    """One CAPA with its NCs, 5-Why, actions and each step's approval (valid or voided by a later change)."""
    return capas.get_capa(ctx.conn, ctx.tenant_id, capa_id)


@capa_router.patch("/{capa_id:uuid}", permission=MANAGE, body=CapaPatch, response=CapaOut, module=MODULE)
def update_capa(ctx: Context, capa_id: UUID, body: CapaPatch) -> CapaOut:
    """Write the containment, the whys and root cause, the effectiveness check; an approved step edited is
    approved again."""
    before, after = capas.update_capa(ctx.conn, ctx.tenant_id, capa_id, body)
    if before != after:
        ctx.audit("update", "capa", capa_id, before=before,
                  after=after | ({"reason": body.reason} if body.reason else {}))
    return capas.get_capa(ctx.conn, ctx.tenant_id, capa_id)


@capa_router.post("/{capa_id:uuid}/actions", permission=MANAGE, body=ActionIn, response=CapaOut, status_code=201,
                  module=MODULE)
def add_capa_action(ctx: Context, capa_id: UUID, body: ActionIn) -> CapaOut:
    """Add a corrective or preventive action with its owner and due date."""
    action = capas.add_action(ctx.conn, ctx.tenant_id, capa_id, body)
    ctx.audit("create", "capa_action", action["id"], after={
        "capa_id": str(capa_id), "kind": action["kind"], "description": action["description"],
        "owner_id": str(action["owner_id"]), "due_date": action["due_date"].isoformat()})
    return capas.get_capa(ctx.conn, ctx.tenant_id, capa_id)


@capa_router.post("/{capa_id:uuid}/actions/{action_id:uuid}/done", permission=INSPECT, body=ActionDoneIn,
                  response=CapaOut, module=MODULE)
def complete_capa_action(ctx: Context, capa_id: UUID, action_id: UUID, body: ActionDoneIn) -> CapaOut:
    """Mark an action done (its owner, or whoever manages quality)."""
    assert ctx.principal is not None and ctx.user_id is not None
    done = capas.complete_action(ctx.conn, ctx.tenant_id, capa_id, action_id, ctx.user_id,
                                 MANAGE in ctx.principal.permissions, body)
    ctx.audit("update", "capa_action", action_id, before={"done_at": None},
              after={"done_at": done["done_at"].isoformat(), "note": done["done_note"]})
    return capas.get_capa(ctx.conn, ctx.tenant_id, capa_id)


@capa_router.post("/{capa_id:uuid}/approve", permission=APPROVE, body=ApproveIn, response=CapaOut, module=MODULE)
def approve_capa_step(ctx: Context, capa_id: UUID, body: ApproveIn) -> CapaOut:
    """Approve a step with an electronic signature (not by the CAPA's owner); effectiveness closes the CAPA."""
    row = capas.require_capa(ctx.conn, ctx.tenant_id, capa_id, for_update=True)
    content = capas.check_approvable(ctx.conn, ctx.tenant_id, row, body.step)
    signature = sign_record(ctx, record_type=capas.record_type(body.step), record_id=capa_id, content=content,
                            body=body.signature, forbid_signer=row["owner_id"])
    closes = body.step == "effectiveness"
    if closes:
        capas.close_capa(ctx.conn, ctx.tenant_id, capa_id)
    ctx.audit("update", "capa", capa_id, before={"status": row["status"], "approved": None},
              after={"status": "closed" if closes else row["status"], "approved": body.step,
                     "signature_id": str(signature.id)})
    return capas.get_capa(ctx.conn, ctx.tenant_id, capa_id)
