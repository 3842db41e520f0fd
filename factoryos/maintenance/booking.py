"""The downtime link: time a work order is in progress on a stopped machine is maintenance downtime.

When work starts on a machine that is stopped (an open downtime event, or a stop state), or
whose plan needs it stopped, the time from then on is booked to a maintenance reason: planned
maintenance for preventive work, corrective maintenance (unplanned) otherwise. Downtime of a
machine never overlaps (migration 0004), so an open event is split at the start: its earlier
part keeps its own reason (the failure), the new part gets the maintenance reason and, for a
machine-detected stop, the link to the state interval, so the poller still ends it when the
machine runs again. Finishing or cancelling the work ends the booked event; a stop that goes
on after the work is the machine's again (a new event needing a reason).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.kpi import MachineState
from factoryos.production.reasons import ensure_defaults
from factoryos.production.signals import STOP_STATES
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import loss_reasons as lr
from factoryos.schema.production import machine_state_intervals as msi

PLANNED_REASON = "PLANNED.MAINTENANCE"
CORRECTIVE_REASON = "BREAKDOWN.REPAIR"  # made on first use, under the default tree's BREAKDOWN


def maintenance_reason(conn: Connection, tenant_id: UUID, planned: bool) -> UUID:
    ensure_defaults(conn, tenant_id)
    code = PLANNED_REASON if planned else CORRECTIVE_REASON
    found = conn.execute(select(lr.c.id).where(lr.c.tenant_id == tenant_id, lr.c.code == code)).scalar()
    if found is not None:
        return found
    parent = conn.execute(select(lr.c.id).where(lr.c.tenant_id == tenant_id, lr.c.code == code.split(".")[0])).scalar()
    conn.execute(pg_insert(lr).values(tenant_id=tenant_id, parent_id=parent, level="reason" if parent else "category",
                                      code=code, name="Corrective maintenance" if not planned else "Planned maintenance",
                                      loss_bucket="availability", planned=planned).on_conflict_do_nothing())
    return conn.execute(select(lr.c.id).where(lr.c.tenant_id == tenant_id, lr.c.code == code)).scalar_one()


def _open_event(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping | None:
    return conn.execute(select(de).where(de.c.tenant_id == tenant_id, de.c.machine_id == machine_id,
                                         de.c.ended_at.is_(None)).order_by(de.c.started_at.desc()).limit(1)
                        .with_for_update()).mappings().first()


def machine_stopped(conn: Connection, tenant_id: UUID, machine_id: UUID) -> bool:
    if _open_event(conn, tenant_id, machine_id) is not None:
        return True
    state = conn.execute(select(msi.c.state).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine_id,
                                                   msi.c.ended_at.is_(None))).scalar()
    return state is not None and MachineState(state) in STOP_STATES | {MachineState.PLANNED_STOP}


def book_start(conn: Connection, tenant_id: UUID, user_id: UUID | None, machine_id: UUID, *, planned: bool,
               needs_stop: bool, label: str, now: datetime) -> UUID | None:
    """Open the maintenance downtime of work starting now (None: the machine runs, nothing to book)."""
    current = _open_event(conn, tenant_id, machine_id)
    if current is None and not needs_stop and not machine_stopped(conn, tenant_id, machine_id):
        return None
    reason = maintenance_reason(conn, tenant_id, planned)
    note = f"maintenance {label}"
    if current is not None and current["started_at"] >= now:
        conn.execute(update(de).where(de.c.tenant_id == tenant_id, de.c.id == current["id"])
                     .values(reason_id=reason, planned=planned, needs_reason=False, note=note, updated_at=func.now()))
        return current["id"]
    link, source = None, "manual"
    if current is not None:
        link, source = current["state_interval_id"], current["source"]
        conn.execute(update(de).where(de.c.tenant_id == tenant_id, de.c.id == current["id"])
                     .values(ended_at=now, state_interval_id=None, updated_at=func.now()))
    return conn.execute(de.insert().values(
        tenant_id=tenant_id, machine_id=machine_id, started_at=now, ended_at=None, planned=planned, reason_id=reason,
        source=source, needs_reason=False, state_interval_id=link, note=note, created_by=user_id,
    ).returning(de.c.id)).scalar_one()


def book_end(conn: Connection, tenant_id: UUID, event_id: UUID | None, now: datetime) -> None:
    """The work ended: so does its booked downtime, if the machine has not ended it already."""
    if event_id is None:
        return
    event = conn.execute(select(de).where(de.c.tenant_id == tenant_id, de.c.id == event_id).with_for_update()
                         ).mappings().first()
    if event is None or event["ended_at"] is not None:
        return
    if event["started_at"] >= now:
        conn.execute(de.delete().where(de.c.tenant_id == tenant_id, de.c.id == event_id))
        return
    link = event["state_interval_id"]
    conn.execute(update(de).where(de.c.tenant_id == tenant_id, de.c.id == event_id)
                 .values(ended_at=now, state_interval_id=None, updated_at=func.now()))
    if link is not None:
        # The machine is still down after the work: the rest of its stop waits for a reason again.
        conn.execute(de.insert().values(tenant_id=tenant_id, machine_id=event["machine_id"], started_at=now,
                                        planned=False, source="machine", needs_reason=True, state_interval_id=link))
