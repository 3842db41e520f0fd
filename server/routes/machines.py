"""Machines: the per-site registry with ideal speed and status mapping."""

from __future__ import annotations

from uuid import UUID

from factoryos.identity.certifications import require_every_machine
from factoryos.plant import machines
from factoryos.plant.listing import Page
from factoryos.plant.models import MachineIn, MachineOut, MachinePatch, MachineQuery
from server.api import Context, Router
from server.licensing import require_license_room

router = Router(prefix="/api/v1/machines", tags=("machines",))

VIEW = "assets.view"
MANAGE = "machines.manage"


@router.get("", permission=VIEW, query=MachineQuery, response=Page[MachineOut])
def list_machines(ctx: Context, query: MachineQuery) -> Page[MachineOut]:
    """Machines, filtered by site, line or status; `q` searches name and code."""
    page = machines.list_machines(ctx.conn, ctx.tenant_id, query)
    return Page[MachineOut](items=[machines.machine_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("", permission=MANAGE, body=MachineIn, response=MachineOut, status_code=201)
def create_machine(ctx: Context, body: MachineIn) -> MachineOut:
    """Register a machine with its ideal cycle time (or rate) and status mapping."""
    require_every_machine(ctx.conn)
    require_license_room(ctx, "machines")
    out = machines.machine_out(machines.create_machine(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "machine", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/{machine_id:uuid}", permission=VIEW, response=MachineOut)
def get_machine(ctx: Context, machine_id: UUID) -> MachineOut:
    """One machine."""
    return machines.machine_out(machines.Machines(ctx.conn, ctx.tenant_id).require(machine_id))


@router.patch("/{machine_id:uuid}", permission=MANAGE, body=MachinePatch, response=MachineOut)
def update_machine(ctx: Context, machine_id: UUID, body: MachinePatch) -> MachineOut:
    """Change a machine; `status: retired` keeps its history and stops new records."""
    before, after = machines.update_machine(ctx.conn, ctx.tenant_id, machine_id, body)
    out = machines.machine_out(after)
    ctx.audit("update", "machine", machine_id, before=machines.machine_out(before).model_dump(mode="json"),
              after=out.model_dump(mode="json"))
    return out


@router.delete("/{machine_id:uuid}", permission=MANAGE, status_code=204)
def delete_machine(ctx: Context, machine_id: UUID) -> None:
    """Remove a machine that has no production records (retire it otherwise)."""
    before = machines.delete_machine(ctx.conn, ctx.tenant_id, machine_id)
    ctx.audit("delete", "machine", machine_id, before=machines.machine_out(before).model_dump(mode="json"))
