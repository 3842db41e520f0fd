"""Per-machine certification: a member may be limited to the machines they are certified for.

`memberships.machine_ids` NULL: no limit (every machine of their sites). Otherwise the request
transaction carries the list in `app.machine_ids` (set with the site scope where the live
membership is read, identity.access) and the database's RESTRICTIVE `machine_scope` policy
(migration 0025) keeps other machines and their rows out of every read and write, the way the
site scope does. The two combine: a person sees the machines in both lists.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select, text, update

from factoryos.errors import PermissionDenied, ValidationFailed
from factoryos.identity.memberships import Actor, MembershipRepository, _editable_target
from factoryos.schema.identity import memberships
from factoryos.schema.plant import machines

MACHINE_SETTING = "app.machine_ids"
_GET_MACHINES = text("select nullif(current_setting('app.machine_ids', true), '')::uuid[]")
_GET_SCOPES = text("select nullif(current_setting('app.site_ids', true), '')::uuid[], "
                   "nullif(current_setting('app.machine_ids', true), '')::uuid[]")


def current_machine_scope(conn: Connection) -> tuple[UUID, ...] | None:
    """The machines this transaction is limited to, or None for no limit."""
    value = conn.execute(_GET_MACHINES).scalar()
    return tuple(UUID(str(m)) for m in value) if value is not None else None


def current_scopes(conn: Connection) -> tuple[tuple[UUID, ...] | None, tuple[UUID, ...] | None]:
    """(sites, machines) this transaction is limited to, each None for no limit: one round trip."""
    row = conn.execute(_GET_SCOPES).one()
    return tuple(tuple(UUID(str(i)) for i in v) if v is not None else None for v in row)  # type: ignore[return-value]


def require_every_machine(conn: Connection) -> None:
    """Refuse adding a machine to a member limited to some machines: they would not see it, and
    the database would refuse the row anyway; this says why."""
    if current_machine_scope(conn) is not None:
        raise PermissionDenied("you work only on some machines: adding a machine needs an administrator of every "
                               "machine", code="machine_scope_exceeds_own")


def known_machines(conn: Connection, tenant_id: UUID, machine_ids: list[UUID]) -> list[UUID]:
    """The ids, deduplicated in order, all machines this transaction sees; else 422 naming the first unknown.

    Read under the caller's own site and machine scope: a machine outside it is as unknown as
    another company's."""
    wanted = list(dict.fromkeys(machine_ids))
    found = set(conn.execute(select(machines.c.id).where(machines.c.tenant_id == tenant_id,
                                                         machines.c.id.in_(wanted))).scalars())
    for machine_id in wanted:
        if machine_id not in found:
            raise ValidationFailed(f"there is no machine {machine_id} in this company", code="unknown_machine",
                                   field=f"machine_ids[{machine_ids.index(machine_id)}]")
    return wanted


def change_machines(conn: Connection, actor: Actor, user_id: UUID,
                    machine_ids: list[UUID] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set a member's certified machines (None: no limit); returns (before, after) for the audit.

    Nobody changes their own list, and a member limited to some machines can hand out only
    those: never no limit, never a member certified for machines they cannot see."""
    if user_id == actor.user_id:
        raise PermissionDenied("you cannot change your own certified machines", code="cannot_scope_self",
                               field="machine_ids")
    target = _editable_target(MembershipRepository(conn, actor.tenant_id), actor, user_id)
    own = current_machine_scope(conn)
    if own is not None:
        if machine_ids is None:
            raise PermissionDenied("you are limited to some machines: you cannot lift anyone's limit",
                                   code="machine_scope_exceeds_own", field="machine_ids")
        if target["machine_ids"] is None or set(target["machine_ids"]) - set(own):
            raise PermissionDenied("this member works on machines you do not see: ask an administrator of every "
                                   "machine", code="target_outranks_you", field="machine_ids")
    new = known_machines(conn, actor.tenant_id, machine_ids) if machine_ids is not None else None
    before = {"role": target["role"], "machine_ids": _ids(target["machine_ids"])}
    conn.execute(update(memberships)
                 .where(memberships.c.tenant_id == actor.tenant_id, memberships.c.id == target["id"])
                 .values(machine_ids=new, updated_at=func.now()))
    return before, {"role": target["role"], "machine_ids": _ids(new)}


def _ids(machine_ids: list[UUID] | None) -> list[str] | None:
    return [str(m) for m in machine_ids] if machine_ids is not None else None
