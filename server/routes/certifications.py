"""Per-machine certification: limit a member to the machines they are certified for."""

from __future__ import annotations

from uuid import UUID

from factoryos.db.tenant import current_site_scope
from factoryos.identity.certifications import change_machines
from factoryos.identity.certifications_models import MachinesBody
from factoryos.identity.memberships import Actor, get_member
from factoryos.identity.models import Member
from server.api import Context, Router

router = Router(prefix="/api/v1/users", tags=("users",))

MANAGE = "permissions.manage"  # as a member's sites


@router.put("/{user_id:uuid}/machines", permission=MANAGE, body=MachinesBody, response=Member)
def update_user_machines(ctx: Context, user_id: UUID, body: MachinesBody) -> Member:
    """Limit a member to the machines they are certified for (within their sites), or (null) lift the
    limit; effective on their next request: they see and record only those machines."""
    p = ctx.principal
    assert p is not None
    actor = Actor(p.user_id, p.tenant_id, p.permissions, current_site_scope(ctx.conn))
    before, after = change_machines(ctx.conn, actor, user_id, body.machine_ids)
    ctx.audit("update", "membership", user_id, before=before, after=after)
    return Member(**get_member(ctx.conn, ctx.tenant_id, user_id))
