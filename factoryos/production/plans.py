"""Production plans: a machine's target and job for one shift instance (one plan per pair)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, RowMapping, func, select

from factoryos.catalog.entries import require_entry
from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.machines import require_machine
from factoryos.plant.operators import require_operators
from factoryos.plant.patching import changes
from factoryos.production.booking import Booking, book
from factoryos.production.entry_models import PlanIn, PlanPatch, PlanQuery
from factoryos.production.limits import check_quantity
from factoryos.production.shifts import kpi_instance, require_instance
from factoryos.schema.plant import machines
from factoryos.schema.production import production_plans as pp


class Plans(TenantRepository[RowMapping]):
    table = pp
    entity = "plan"


def _check_target(b: Booking, target: int) -> None:
    check_quantity(target, b.shift.length - b.shift.break_time, b.machine, "target_quantity")


def create_plan(conn: Connection, tenant_id: UUID, user_id: UUID | None, data: PlanIn) -> RowMapping:
    b = book(conn, tenant_id, data.machine_id, data, None, require_ref=True)
    _check_target(b, data.target_quantity)
    if data.material_id is not None:
        require_entry(conn, data.material_id, "material", field="material_id")
    require_operators(conn, tenant_id, b.site["id"], data.operator_ids, "operator_ids")
    twice = Conflict(
        f"machine {b.machine['code']} already has a plan for shift {b.shift.name} on {b.shift.local_date.isoformat()}",
        code="machine_already_planned", field="machine_id")
    existing = conn.execute(select(pp.c.id).where(pp.c.tenant_id == tenant_id, pp.c.machine_id == b.machine["id"],
                                                  pp.c.shift_instance_id == b.instance["id"])).scalar()
    if existing is not None:
        twice.extra["conflicting_id"] = str(existing)
        raise twice
    with constraint_errors(conn, {"uq_production_plans_machine_shift": twice}):
        return Plans(conn, tenant_id).insert(
            machine_id=b.machine["id"], shift_instance_id=b.instance["id"], target_quantity=data.target_quantity,
            job_ref=data.job_ref, product_ref=data.product_ref, material_id=data.material_id,
            operator_ids=sorted(set(data.operator_ids)), created_by=user_id,
        )


def update_plan(conn: Connection, tenant_id: UUID, plan_id: UUID, patch: PlanPatch) -> tuple[RowMapping, RowMapping]:
    repo = Plans(conn, tenant_id)
    before = repo.require(plan_id, for_update=True)
    values = changes(patch, nullable=("job_ref", "product_ref", "material_id"))
    if not values:
        return before, before
    machine = require_machine(conn, tenant_id, before["machine_id"])
    instance = require_instance(conn, tenant_id, before["shift_instance_id"])
    if "target_quantity" in values:
        shift = kpi_instance(instance)
        check_quantity(values["target_quantity"], shift.length - shift.break_time, machine, "target_quantity")
    if values.get("material_id") is not None:
        require_entry(conn, values["material_id"], "material", field="material_id")
    if "operator_ids" in values:
        require_operators(conn, tenant_id, machine["site_id"], values["operator_ids"], "operator_ids")
        values["operator_ids"] = sorted(set(values["operator_ids"]))
    values["updated_at"] = func.now()
    after = repo.update(plan_id, **values)
    assert after is not None
    return before, after


def delete_plan(conn: Connection, tenant_id: UUID, plan_id: UUID) -> RowMapping:
    repo = Plans(conn, tenant_id)
    before = repo.require(plan_id, for_update=True)
    repo.delete(plan_id)
    return before


def list_plans(conn: Connection, tenant_id: UUID, query: PlanQuery) -> Page:
    clauses = [pp.c[name] == getattr(query, name)
               for name in ("machine_id", "shift_instance_id") if getattr(query, name) is not None]
    if query.site_id is not None:
        clauses.append(pp.c.machine_id.in_(
            select(machines.c.id).where(machines.c.tenant_id == tenant_id, machines.c.site_id == query.site_id)))
    return Plans(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("job_ref", "product_ref")
    )
