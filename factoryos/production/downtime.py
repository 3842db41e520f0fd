"""Downtime events: manual entries and machine-detected stops, and the reasons given for them.

Downtime of one machine never overlaps (a trigger enforces it; see migration 0004). A
manual event may not cover a stop the machine reported itself either: that stop already
has its event, and the operator gives it a reason instead of recording the time twice.

Setup entered by hand (a reason in the reason tree's `SETUP` category) is setup, like setup
from machine signals: its `planned` flag follows the site's `setup_is_planned`, the KPI
loader charges it as setup (planned time, or a setup loss), and it is never a failure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, text

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.integrations import facts
from factoryos.integrations.outbox import emit
from factoryos.kpi import MachineState
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.machines import require_machine
from factoryos.production.loss_models import DowntimeIn, DowntimeOut, DowntimePatch, DowntimeQuery, ReasonAssign
from factoryos.production.reasons import require_reason
from factoryos.schema.plant import machines, sites
from factoryos.schema.production import downtime_events as de
from factoryos.schema.production import machine_state_intervals as msi
from factoryos.plant.records import MachineRecord


SETUP_CATEGORY = "SETUP"  # the code of the reason tree's setup category (codes never change)

# The setup category and every reason under it.
_SETUP_REASONS = text(
    """
    with recursive tree(id) as (
        select id from loss_reasons where tenant_id = :tenant and parent_id is null and code = :code
        union all
        select r.id from loss_reasons r join tree on r.parent_id = tree.id where r.tenant_id = :tenant
    )
    select id from tree
    """
)


def setup_reason_ids(conn: Connection, tenant_id: UUID) -> set[UUID]:
    return set(conn.execute(_SETUP_REASONS, {"tenant": tenant_id, "code": SETUP_CATEGORY}).scalars())


def _planned_for(conn: Connection, tenant_id: UUID, machine: MachineRecord, reason: RowMapping) -> tuple[bool, str]:
    """Whether downtime with `reason` on `machine` is planned, and why (for error messages)."""
    if reason["id"] in setup_reason_ids(conn, tenant_id):
        site = conn.execute(select(sites.c.code, sites.c.setup_is_planned).where(
            sites.c.tenant_id == tenant_id, sites.c.id == machine["site_id"])).one()
        kind = "planned" if site.setup_is_planned else "unplanned"
        return site.setup_is_planned, f"setup is {kind} on site {site.code} (its setup_is_planned setting)"
    return reason["planned"], f"reason {reason['code']} is {'planned' if reason['planned'] else 'unplanned'}"


class DowntimeEvents(TenantRepository[RowMapping]):
    table = de
    entity = "downtime event"


def downtime_out(row: RowMapping) -> DowntimeOut:
    ended = row["ended_at"]
    return DowntimeOut(
        **{k: row[k] for k in ("id", "machine_id", "started_at", "ended_at", "planned", "reason_id", "source",
                               "needs_reason", "note", "created_by", "created_at", "updated_at")},
        duration_seconds=None if ended is None else (ended - row["started_at"]).total_seconds(),
    )


def _overlaps(table: Any, start: datetime, end: datetime | None) -> Any:
    """SQL: the row's [started_at, ended_at or ∞) meets [start, end or ∞)."""
    clauses = [or_(table.c.ended_at.is_(None), table.c.ended_at > start)]
    if end is not None:
        clauses.append(table.c.started_at < end)
    return and_(*clauses)


def _span(start: datetime, end: datetime | None) -> str:
    return f"{start.isoformat()} – {end.isoformat() if end else 'open'}"


def check_no_overlap(conn: Connection, tenant_id: UUID, machine: MachineRecord, start: datetime,
                     end: datetime | None, exclude: UUID | None = None) -> None:
    stmt = select(de).where(de.c.tenant_id == tenant_id, de.c.machine_id == machine["id"], _overlaps(de, start, end))
    if exclude is not None:
        stmt = stmt.where(de.c.id != exclude)
    clash = conn.execute(stmt.order_by(de.c.started_at).limit(1)).mappings().first()
    if clash is not None:
        raise Conflict(
            f"machine {machine['code']} already has {clash['source']} downtime "
            f"{_span(clash['started_at'], clash['ended_at'])} overlapping this one",
            code="downtime_overlap", field="started_at", extra={"conflicting_id": str(clash["id"])},
        )
    stop = conn.execute(
        select(msi).where(msi.c.tenant_id == tenant_id, msi.c.machine_id == machine["id"],
                          msi.c.state != MachineState.RUNNING.value, _overlaps(msi, start, end))
        .order_by(msi.c.started_at).limit(1)
    ).mappings().first()
    if stop is not None:
        raise Conflict(
            f"machine {machine['code']} reported {stop['state']} {_span(stop['started_at'], stop['ended_at'])} "
            "itself: give its downtime event a reason instead of entering the time again",
            code="downtime_overlaps_machine_stop", field="started_at",
        )


def _overlap_backstop(machine: MachineRecord) -> dict[str, Conflict]:
    return {"downtime_events_no_overlap": Conflict(
        f"machine {machine['code']} already has downtime overlapping this one", code="downtime_overlap",
        field="started_at")}


def create_downtime(conn: Connection, tenant_id: UUID, user_id: UUID | None, data: DowntimeIn,
                    now: datetime) -> RowMapping:
    machine = require_machine(conn, tenant_id, data.machine_id, active=True)
    if data.ended_at is not None and data.ended_at <= data.started_at:
        raise ValidationFailed("ended_at must be after started_at", code="invalid_period", field="ended_at")
    if data.ended_at is None and data.started_at > now:
        raise ValidationFailed("an open downtime event cannot start in the future", code="starts_in_future",
                               field="started_at")
    planned = data.planned
    if data.reason_id is not None:
        reason = require_reason(conn, tenant_id, data.reason_id, "downtime")
        expected, why = _planned_for(conn, tenant_id, machine, reason)
        if planned is not None and planned != expected:
            raise ValidationFailed(why, code="planned_mismatch", field="planned")
        planned = expected
    elif planned is None:
        raise ValidationFailed("give a reason_id, or say whether the stop was planned", code="planned_required",
                               field="planned")
    check_no_overlap(conn, tenant_id, machine, data.started_at, data.ended_at)
    with constraint_errors(conn, _overlap_backstop(machine)):
        row = DowntimeEvents(conn, tenant_id).insert(
            machine_id=machine["id"], started_at=data.started_at, ended_at=data.ended_at, planned=planned,
            reason_id=data.reason_id, source="manual", needs_reason=data.reason_id is None, note=data.note,
            created_by=user_id,
        )
    emit(conn, tenant_id, facts.downtime_opened(row["machine_id"], row["started_at"], row["ended_at"], None, "manual"))
    return row


def update_downtime(
    conn: Connection, tenant_id: UUID, event_id: UUID, patch: DowntimePatch
) -> tuple[RowMapping, RowMapping]:
    repo = DowntimeEvents(conn, tenant_id)
    before = repo.require(event_id, for_update=True)
    values: dict[str, Any] = {}
    if "note" in patch.model_fields_set:
        values["note"] = patch.note
    if "ended_at" in patch.model_fields_set:
        if before["source"] != "manual":
            raise ValidationFailed("the times of a machine-detected stop come from the machine",
                                   code="machine_event_times", field="ended_at")
        if patch.ended_at is not None and patch.ended_at <= before["started_at"]:
            raise ValidationFailed("ended_at must be after started_at", code="invalid_period", field="ended_at")
        machine = require_machine(conn, tenant_id, before["machine_id"])
        check_no_overlap(conn, tenant_id, machine, before["started_at"], patch.ended_at, exclude=event_id)
        values["ended_at"] = patch.ended_at
    if not values:
        return before, before
    values["updated_at"] = func.now()
    machine = require_machine(conn, tenant_id, before["machine_id"])
    with constraint_errors(conn, _overlap_backstop(machine)):
        after = repo.update(event_id, **values)
    assert after is not None
    if before["ended_at"] is None and after["ended_at"] is not None:
        emit(conn, tenant_id, [facts.downtime_ended(after["machine_id"], after["started_at"], after["ended_at"], None,
                                                    "manual")])
    return before, after


def assign_reason(
    conn: Connection, tenant_id: UUID, event_id: UUID, body: ReasonAssign
) -> tuple[RowMapping, RowMapping]:
    repo = DowntimeEvents(conn, tenant_id)
    before = repo.require(event_id, for_update=True)
    reason = require_reason(conn, tenant_id, body.reason_id, "downtime")
    planned, _ = _planned_for(conn, tenant_id, require_machine(conn, tenant_id, before["machine_id"]), reason)
    values: dict[str, Any] = {"reason_id": reason["id"], "planned": planned, "needs_reason": False,
                              "updated_at": func.now()}
    if body.note is not None:
        values["note"] = body.note
    after = repo.update(event_id, **values)
    assert after is not None
    emit(conn, tenant_id, [facts.downtime_reasoned(event_id, after["machine_id"], after["started_at"],
                                                   after["ended_at"], after["reason_id"], after["planned"],
                                                   after["updated_at"])])
    return before, after


def list_downtime(conn: Connection, tenant_id: UUID, query: DowntimeQuery) -> Page:
    clauses = []
    for name in ("machine_id", "needs_reason", "source"):
        if getattr(query, name) is not None:
            clauses.append(de.c[name] == getattr(query, name))
    if query.site_id is not None:
        clauses.append(de.c.machine_id.in_(
            select(machines.c.id).where(machines.c.tenant_id == tenant_id, machines.c.site_id == query.site_id)))
    if query.since is not None:
        clauses.append(or_(de.c.ended_at.is_(None), de.c.ended_at > query.since))
    if query.until is not None:
        clauses.append(de.c.started_at < query.until)
    return DowntimeEvents(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("note",)
    )
