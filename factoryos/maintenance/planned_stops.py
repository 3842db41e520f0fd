"""Preventive work that will stop a machine, for the production plan: approved or scheduled
orders of plans that need the machine stopped, before they start. A scheduled order's window is
its scheduled start plus the plan's estimated duration; an approved order without a schedule has
no window yet and is listed whatever the period (the planner still has to place it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, and_, or_, select

from factoryos.maintenance.models import PlannedStop
from factoryos.maintenance.work_orders import number_label
from factoryos.schema.maintenance import maintenance_plans as mp
from factoryos.schema.maintenance import maintenance_work_orders as wo
from factoryos.schema.plant import machines

MINUTE = timedelta(minutes=1)


def planned_stops(conn: Connection, tenant_id: UUID, start: datetime, end: datetime, *,
                  site_id: UUID | None = None, machine_id: UUID | None = None) -> list[PlannedStop]:
    stmt = (
        select(wo.c.id, wo.c.number, wo.c.status, wo.c.machine_id, machines.c.code, wo.c.title, wo.c.scheduled_for,
               wo.c.due_at, mp.c.estimated_minutes)
        .select_from(wo.join(mp, and_(mp.c.tenant_id == wo.c.tenant_id, mp.c.id == wo.c.plan_id))
                     .join(machines, and_(machines.c.tenant_id == wo.c.tenant_id, machines.c.id == wo.c.machine_id)))
        .where(wo.c.tenant_id == tenant_id, wo.c.kind == "preventive", wo.c.status.in_(("approved", "scheduled")),
               mp.c.needs_stop,
               or_(wo.c.scheduled_for.is_(None),
                   and_(wo.c.scheduled_for < end, wo.c.scheduled_for + mp.c.estimated_minutes * MINUTE > start)))
        .order_by(wo.c.scheduled_for.asc().nulls_last(), machines.c.code, wo.c.number))
    if site_id is not None:
        stmt = stmt.where(machines.c.site_id == site_id)
    if machine_id is not None:
        stmt = stmt.where(wo.c.machine_id == machine_id)
    out = []
    for r in conn.execute(stmt):
        starts = r.scheduled_for
        out.append(PlannedStop(
            work_order_id=r.id, number=number_label(r.number), status=r.status, machine_id=r.machine_id,
            machine_code=r.code, title=r.title, starts_at=starts,
            ends_at=starts + r.estimated_minutes * MINUTE if starts is not None else None,
            estimated_minutes=r.estimated_minutes, due_at=r.due_at))
    return out
