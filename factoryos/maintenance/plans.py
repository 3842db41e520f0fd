"""Maintenance plans and when they fall due.

A plan counts from its anchor (when it was made, or when its last preventive work order was
finished) and is due when any of its triggers is reached, whichever comes first:
- calendar: every N days after the anchor, or every N weeks moved forward to a weekday (a
  local date of the machine's site; due from that date's midnight there);
- run hours: the machine's `running` time since the anchor (while the asset was on it);
- cycles: the parts its counters counted since the anchor.
`next_due_run_hours` / `next_due_cycles` set a first due point on the asset's own counters
(e.g. a mould bought with 180 000 shots); they are used up when the plan's work is done.
A trigger is `soon` within its lead (days, run hours, cycles) before due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, RowMapping, func, select

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import ValidationFailed
from factoryos.maintenance import usage
from factoryos.maintenance.assets import display_name, ensure_machine_assets, require_asset
from factoryos.maintenance.models import ChecklistItem, PlanIn, PlanOut, PlanPatch, PlanQuery, TriggerState
from factoryos.schema.maintenance import maintenance_assets as ma
from factoryos.schema.maintenance import maintenance_plans as mp
from factoryos.schema.maintenance import maintenance_work_orders as wo
from factoryos.schema.plant import machines, sites

MAX_DAYS = 3650
MAX_WEEKS = 520
MAX_HOURS = Decimal(1_000_000)
MAX_CYCLES = 10**12
_ORDER = {"ok": 0, "soon": 1, "due": 2}


class Plans(TenantRepository):
    table = mp
    entity = "maintenance plan"


def _positive(value: Any, field: str, limit: Any) -> None:
    if value is not None and value <= 0:
        raise ValidationFailed(f"{field} must be greater than 0", code="interval_not_positive", field=field)
    if value is not None and value > limit:
        raise ValidationFailed(f"{field} may be at most {limit}", code="interval_too_long", field=field)


def _check_triggers(values: dict[str, Any]) -> None:
    """The merged plan's triggers, each refused naming its field."""
    _positive(values.get("every_days"), "every_days", MAX_DAYS)
    _positive(values.get("every_weeks"), "every_weeks", MAX_WEEKS)
    _positive(values.get("every_run_hours"), "every_run_hours", MAX_HOURS)
    _positive(values.get("every_cycles"), "every_cycles", MAX_CYCLES)
    _positive(values.get("estimated_minutes"), "estimated_minutes", 100_000)
    if values.get("every_days") is not None and values.get("every_weeks") is not None:
        raise ValidationFailed("give every_days or every_weeks, not both", code="calendar_conflict", field="every_weeks")
    weekday = values.get("weekday")
    if weekday is not None and (values.get("every_weeks") is None or not 1 <= weekday <= 7):
        raise ValidationFailed("weekday is 1 (Monday) … 7 (Sunday) and needs every_weeks", code="invalid_weekday",
                               field="weekday")
    if all(values.get(k) is None for k in ("every_days", "every_weeks", "every_run_hours", "every_cycles",
                                           "next_due_run_hours", "next_due_cycles")):
        raise ValidationFailed("a plan needs a trigger: every_days, every_weeks, every_run_hours or every_cycles",
                               code="plan_needs_trigger", field="every_days")


def _check_first_due(conn: Connection, tenant_id: UUID, asset: RowMapping, body: PlanIn, now: datetime) -> None:
    if body.next_due_run_hours is None and body.next_due_cycles is None:
        return
    current = usage.totals(conn, tenant_id, asset, now)
    if body.next_due_cycles is not None and body.next_due_cycles <= current.cycles:
        raise ValidationFailed(f"next_due_cycles {body.next_due_cycles} is not above the asset's current count "
                               f"{current.cycles}", code="count_below_current", field="next_due_cycles",
                               extra={"current": current.cycles})
    if body.next_due_run_hours is not None and float(body.next_due_run_hours) <= current.run_hours:
        raise ValidationFailed(f"next_due_run_hours {body.next_due_run_hours} is not above the asset's current "
                               f"run hours {current.run_hours:.1f}", code="count_below_current",
                               field="next_due_run_hours", extra={"current": round(current.run_hours, 3)})


def create_plan(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: PlanIn, now: datetime) -> RowMapping:
    asset = require_asset(conn, tenant_id, body.asset_id, active=True)
    values = body.model_dump(exclude={"last_done_at"})
    _check_triggers(values)
    if body.last_done_at is not None and body.last_done_at > now:
        raise ValidationFailed("last_done_at is in the future", code="last_done_in_future", field="last_done_at")
    _check_first_due(conn, tenant_id, asset, body, now)
    values["checklist"] = [c.model_dump() for c in body.checklist]
    return Plans(conn, tenant_id).insert(**values, created_by=user_id, anchor_at=body.last_done_at or now)


def update_plan(conn: Connection, tenant_id: UUID, plan_id: UUID, body: PlanPatch) -> tuple[RowMapping, RowMapping]:
    repo = Plans(conn, tenant_id)
    before = repo.require(plan_id, for_update=True)
    values = body.model_dump(exclude_unset=True)
    if "checklist" in values:
        values["checklist"] = [c.model_dump() for c in body.checklist or []]
    for key in ("name", "estimated_minutes", "needs_stop", "requires_signature", "active", "lead_days",
                "lead_run_hours", "lead_cycles"):
        if key in values and values[key] is None:
            raise ValidationFailed(f"{key} cannot be null", code="null_not_allowed", field=key)
    _check_triggers({**dict(before), **values})
    if not values:
        return before, before
    after = repo.update(plan_id, **values, updated_at=func.now())
    assert after is not None
    return before, after


def require_plan(conn: Connection, tenant_id: UUID, plan_id: UUID) -> RowMapping:
    return Plans(conn, tenant_id).require(plan_id)


# -- due --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    state: str
    triggers: list[TriggerState]

    @property
    def fired(self) -> TriggerState | None:
        """The trigger that made the plan due: the calendar's, or the one furthest past due."""
        due = [t for t in self.triggers if t.state == "due"]
        return max(due, key=lambda t: -t.remaining / t.interval if t.interval else 0) if due else None


def _site_zone(conn: Connection, tenant_id: UUID, machine_id: UUID | None) -> ZoneInfo:
    if machine_id is None:
        return ZoneInfo("UTC")
    tz = conn.execute(select(sites.c.timezone).select_from(machines.join(sites, sites.c.id == machines.c.site_id))
                      .where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)).scalar_one()
    return ZoneInfo(tz)


def calendar_due(plan: RowMapping | dict[str, Any], zone: ZoneInfo) -> datetime | None:
    anchor = plan["anchor_at"]
    if plan["every_days"] is not None:
        return anchor + timedelta(days=plan["every_days"])
    if plan["every_weeks"] is None:
        return None
    day = anchor.astimezone(zone).date() + timedelta(weeks=plan["every_weeks"])
    if plan["weekday"] is not None:
        day += timedelta(days=(plan["weekday"] - day.isoweekday()) % 7)
    return datetime.combine(day, time(0), zone)


def _state(remaining: float, lead: float) -> str:
    return "due" if remaining <= 0 else "soon" if remaining <= lead else "ok"


def plan_due(conn: Connection, tenant_id: UUID, plan: RowMapping, asset: RowMapping, now: datetime) -> Due:
    spans = usage.asset_spans(conn, tenant_id, asset)
    current_machine = next((s.machine_id for s in reversed(spans) if s.end is None), None)
    anchor = plan["anchor_at"]
    out: list[TriggerState] = []
    due_at = calendar_due(plan, _site_zone(conn, tenant_id, current_machine))
    if due_at is not None:
        period = (due_at - anchor).total_seconds() / 86400
        remaining = (due_at - now).total_seconds() / 86400
        out.append(TriggerState(trigger="calendar", state=_state(remaining, plan["lead_days"]),
                                used=round((now - anchor).total_seconds() / 86400, 3), interval=round(period, 3),
                                remaining=round(remaining, 3), due_at=due_at))
    if plan["every_run_hours"] is not None or plan["next_due_run_hours"] is not None:
        if plan["next_due_run_hours"] is not None:
            total = usage.totals(conn, tenant_id, asset, now, spans).run_hours
            used, interval = total, float(plan["next_due_run_hours"])
        else:
            used = usage.run_seconds(conn, tenant_id, spans, anchor, now) / 3600
            interval = float(plan["every_run_hours"])
        remaining = interval - used
        out.append(TriggerState(trigger="run_hours", state=_state(remaining, float(plan["lead_run_hours"])),
                                used=round(used, 3), interval=interval, remaining=round(remaining, 3), due_at=None))
    if plan["every_cycles"] is not None or plan["next_due_cycles"] is not None:
        if plan["next_due_cycles"] is not None:
            used_c = usage.totals(conn, tenant_id, asset, now, spans).cycles
            interval_c = int(plan["next_due_cycles"])
        else:
            used_c = usage.cycles(conn, tenant_id, spans, anchor, now)
            interval_c = int(plan["every_cycles"])
        out.append(TriggerState(trigger="cycles", state=_state(interval_c - used_c, int(plan["lead_cycles"])),
                                used=used_c, interval=interval_c, remaining=interval_c - used_c, due_at=None))
    state = max((t.state for t in out), key=_ORDER.__getitem__, default="ok")
    return Due(state, out)


def plan_out(conn: Connection, tenant_id: UUID, plan: RowMapping, now: datetime,
             asset: RowMapping | None = None) -> PlanOut:
    asset = asset or require_asset(conn, tenant_id, plan["asset_id"], field=None)
    due = plan_due(conn, tenant_id, plan, asset, now)
    open_wo = conn.execute(select(wo.c.id).where(wo.c.tenant_id == tenant_id, wo.c.plan_id == plan["id"],
                                                 wo.c.status.not_in(("done", "cancelled")))).scalar()
    spans = usage.asset_spans(conn, tenant_id, asset)
    floats = {k: None if plan[k] is None else float(plan[k]) for k in ("every_run_hours", "next_due_run_hours")}
    return PlanOut(
        **{k: plan[k] for k in ("id", "asset_id", "name", "every_days", "every_weeks", "weekday", "every_cycles",
                                "next_due_cycles", "lead_days", "lead_cycles", "estimated_minutes", "needs_stop",
                                "requires_signature", "active", "anchor_at", "created_at")},
        **floats,
        lead_run_hours=float(plan["lead_run_hours"]),
        asset_name=display_name(conn, tenant_id, asset),
        machine_id=next((s.machine_id for s in reversed(spans) if s.end is None), None),
        checklist=[ChecklistItem.model_validate(c) for c in plan["checklist"]],
        state=due.state if plan["active"] else "ok",
        triggers=due.triggers,
        open_work_order_id=open_wo,
    )


def list_plans(conn: Connection, tenant_id: UUID, query: PlanQuery) -> Page:
    ensure_machine_assets(conn, tenant_id)
    clauses = []
    if query.asset_id is not None:
        clauses.append(mp.c.asset_id == query.asset_id)
    if query.machine_id is not None:
        clauses.append(mp.c.asset_id.in_(select(ma.c.id).where(ma.c.tenant_id == tenant_id,
                                                                ma.c.machine_id == query.machine_id)))
    return Plans(conn, tenant_id).page(*clauses, limit=query.limit, cursor=query.cursor, search=query.q,
                                       search_columns=("name",))


def in_service(conn: Connection, tenant_id: UUID, asset: RowMapping) -> bool:
    """An active asset on an active machine, or on none (a mould on the shelf): only its plans fall
    due; a retired machine's plans make no orders and stay off the due list."""
    if asset["status"] != "active":
        return False
    machine_id = usage.machine_of(conn, tenant_id, asset)
    if machine_id is None:
        return True
    status = conn.execute(select(machines.c.status).where(machines.c.tenant_id == tenant_id,
                                                          machines.c.id == machine_id)).scalar()
    return status == "active"


def active_plans(conn: Connection, tenant_id: UUID) -> list[RowMapping]:
    return list(conn.execute(select(mp).where(mp.c.tenant_id == tenant_id, mp.c.active)
                             .order_by(mp.c.created_at)).mappings())
