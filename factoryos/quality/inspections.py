"""Inspections recorded at the terminal: checks, out-of-specification flags, list and detail.

An inspection is recorded against the plan's released version: one result per
characteristic. A value outside the characteristic's physical limits is a typing or gauge
error and refused; a value outside the specification limits is recorded and flagged.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, insert, select

from factoryos.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from factoryos.quality.due import machine_scope, trigger_for
from factoryos.quality.inspection_models import (
    InspectionIn,
    InspectionOut,
    InspectionPage,
    InspectionQuery,
    InspectionSummary,
    ResultOut,
)
from factoryos.quality.plans import _offset
from factoryos.schema.identity import users
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import products
from factoryos.schema.plant import machines
from factoryos.schema.quality import inspection_characteristics as chars
from factoryos.schema.quality import inspection_plan_versions as versions
from factoryos.schema.quality import inspection_plans as plans
from factoryos.schema.quality import inspection_results as results
from factoryos.schema.quality import inspections

ALWAYS_RECORD = frozenset({"owner", "admin"})


def fmt(value: Decimal | float | None, decimals: int) -> str:
    return "—" if value is None else f"{Decimal(str(value)):.{decimals}f}"


def measured_message(c: RowMapping | dict[str, Any], values: list[Decimal]) -> str | None:
    """Operator words for values out of specification, e.g. 'above the upper limit 10.05 mm by 0.02'."""
    unit = f" {c['unit']}" if c["unit"] else ""
    d = c["decimals"]
    high = [v for v in values if c["usl"] is not None and v > c["usl"]]
    low = [v for v in values if c["lsl"] is not None and v < c["lsl"]]
    parts = []
    if high:
        worst = max(high)
        parts.append(f"{fmt(worst, d)} is above the upper limit {fmt(c['usl'], d)}{unit} "
                     f"by {fmt(worst - c['usl'], d)}")
    if low:
        worst = min(low)
        parts.append(f"{fmt(worst, d)} is below the lower limit {fmt(c['lsl'], d)}{unit} "
                     f"by {fmt(c['lsl'] - worst, d)}")
    return "; ".join(parts) or None


def check_physical(c: RowMapping | dict[str, Any], value: Decimal, field: str) -> None:
    unit = f" {c['unit']}" if c["unit"] else ""
    if c["min_value"] is not None and value < c["min_value"]:
        raise ValidationFailed(f"{c['name']}: {value} cannot be right — it may not be below "
                               f"{fmt(c['min_value'], c['decimals'])}{unit}",
                               code="value_outside_physical_limits", field=field)
    if c["max_value"] is not None and value > c["max_value"]:
        raise ValidationFailed(f"{c['name']}: {value} cannot be right — it may not be above "
                               f"{fmt(c['max_value'], c['decimals'])}{unit}",
                               code="value_outside_physical_limits", field=field)


def _released(conn: Connection, tenant_id: UUID, plan_id: UUID) -> tuple[RowMapping, RowMapping]:
    plan = conn.execute(select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)).mappings().first()
    if plan is None:
        raise ValidationFailed(f"inspection plan {plan_id} not found", code="inspection_plan_not_found",
                               field="plan_id")
    version = conn.execute(select(versions).where(versions.c.tenant_id == tenant_id, versions.c.plan_id == plan_id,
                                                  versions.c.status == "released")).mappings().first()
    if version is None:
        raise Conflict(f"plan {plan['name']!r} has no released version yet", code="plan_not_released",
                       field="plan_id")
    return plan, version


def _machine(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping:
    row = conn.execute(select(machines).where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
                       ).mappings().first()
    if row is None:
        raise ValidationFailed(f"machine {machine_id} not found", code="unknown_machine", field="machine_id")
    return row


def _results(body: InspectionIn, characteristics: list[RowMapping]) -> list[dict[str, Any]]:
    """Check each result against its characteristic; the rows to insert (with out-of-spec flags)."""
    by_id = {c["id"]: c for c in characteristics}
    seen: set[UUID] = set()
    rows = []
    for i, r in enumerate(body.results):
        field = f"results[{i}]"
        c = by_id.get(r.characteristic_id)
        if c is None:
            raise ValidationFailed("this characteristic is not in the plan's released version",
                                   code="characteristic_not_in_plan", field=f"{field}.characteristic_id")
        if r.characteristic_id in seen:
            raise ValidationFailed(f"{c['name']} is given twice", code="duplicate_characteristic",
                                   field=f"{field}.characteristic_id")
        seen.add(r.characteristic_id)
        if c["kind"] == "measured":
            if r.values is None or r.passed is not None or r.defect is not None:
                raise ValidationFailed(f"{c['name']} is measured: give its values", code="values_required",
                                       field=f"{field}.values")
            if len(r.values) != c["sample_size"]:
                raise ValidationFailed(f"{c['name']}: measure {c['sample_size']} part(s), got {len(r.values)}",
                                       code="sample_size_mismatch", field=f"{field}.values")
            for j, v in enumerate(r.values):
                check_physical(c, v, f"{field}.values[{j}]")
            message = measured_message(c, list(r.values))
            rows.append({"characteristic_id": c["id"], "lineage_id": c["lineage_id"], "values": list(r.values),
                         "passed": None, "defect": None, "out_of_spec": message is not None})
        else:
            if r.passed is None or r.values is not None:
                raise ValidationFailed(f"{c['name']} is pass/fail: give passed", code="passed_required",
                                       field=f"{field}.passed")
            defect = r.defect.strip() if r.defect else None
            if r.passed and defect:
                raise ValidationFailed("a part that passed has no defect", code="invalid_defect",
                                       field=f"{field}.defect")
            if not r.passed and c["defects"]:
                known = {d.casefold(): d for d in c["defects"]}
                if defect is None or defect.casefold() not in known:
                    raise ValidationFailed(f"{c['name']}: choose the defect from the list",
                                           code="invalid_defect", field=f"{field}.defect",
                                           extra={"defects": c["defects"]})
                defect = known[defect.casefold()]
            rows.append({"characteristic_id": c["id"], "lineage_id": c["lineage_id"], "values": None,
                         "passed": r.passed, "defect": defect, "out_of_spec": not r.passed})
    missing = [c["name"] for c in characteristics if c["id"] not in seen]
    if missing:
        raise ValidationFailed(f"results missing for: {', '.join(missing)}", code="result_missing", field="results",
                               extra={"missing": missing})
    return rows


def record(conn: Connection, tenant_id: UUID, user_id: UUID | None, role: str, body: InspectionIn,
           now: datetime) -> UUID:
    machine = _machine(conn, tenant_id, body.machine_id)
    plan, version = _released(conn, tenant_id, body.plan_id)
    if plan["machine_id"] is not None and plan["machine_id"] != machine["id"]:
        raise ValidationFailed(f"plan {plan['name']!r} is for another machine", code="plan_other_machine",
                               field="plan_id")
    roles = version["record_roles"]
    if roles and role not in roles and role not in ALWAYS_RECORD:
        raise PermissionDenied(f"plan {plan['name']!r} is recorded by: {', '.join(roles)}",
                               code="inspection_role_not_allowed", field="plan_id", extra={"roles": roles})
    characteristics = list(conn.execute(select(chars).where(chars.c.tenant_id == tenant_id,
                                                            chars.c.version_id == version["id"])
                                        .order_by(chars.c.seq)).mappings())
    rows = _results(body, characteristics)
    running = machine_scope(conn, tenant_id, machine["id"]).run
    # The order and operation it was made during, when they are of the plan's product.
    of_run = running is not None and (plan["product_id"] is None or running["product_id"] == plan["product_id"])
    run: dict[str, Any] = dict(running) if running is not None and of_run else {}
    trigger = body.trigger or trigger_for(conn, tenant_id, machine, plan["id"], now)
    bad = sum(1 for r in rows if r["out_of_spec"])
    inspection_id = conn.execute(insert(inspections).values(
        tenant_id=tenant_id, plan_id=plan["id"], version_id=version["id"], machine_id=machine["id"],
        product_id=plan["product_id"] or run.get("product_id"), job_id=run.get("job_id"),
        operation_id=run.get("operation_id"),
        trigger=trigger, recorded_at=now, recorded_by=user_id, result="fail" if bad else "pass", out_of_spec=bad,
        notes=body.notes,
    ).returning(inspections.c.id)).scalar_one()
    conn.execute(insert(results), [r | {"tenant_id": tenant_id, "inspection_id": inspection_id} for r in rows])
    return inspection_id


# -- reading -------------------------------------------------------------------------------------


def _select(tenant_id: UUID):
    return (
        select(inspections, plans.c.name.label("plan_name"), versions.c.version, machines.c.code.label("machine_code"),
               products.c.number.label("product_number"), jobs.c.job_number,
               users.c.display_name.label("recorded_by_name"))
        .select_from(
            inspections
            .join(plans, and_(plans.c.tenant_id == inspections.c.tenant_id, plans.c.id == inspections.c.plan_id))
            .join(versions, and_(versions.c.tenant_id == inspections.c.tenant_id,
                                 versions.c.id == inspections.c.version_id))
            .join(machines, and_(machines.c.tenant_id == inspections.c.tenant_id,
                                 machines.c.id == inspections.c.machine_id))
            .outerjoin(products, and_(products.c.tenant_id == inspections.c.tenant_id,
                                      products.c.id == inspections.c.product_id))
            .outerjoin(jobs, and_(jobs.c.tenant_id == inspections.c.tenant_id, jobs.c.id == inspections.c.job_id))
            .outerjoin(users, users.c.id == inspections.c.recorded_by)
        )
        .where(inspections.c.tenant_id == tenant_id)
    )


def _result_out(r: RowMapping) -> ResultOut:
    values = list(r["values"]) if r["values"] is not None else None
    mean = rng = None
    if values:
        mean = sum(values) / len(values)
        rng = max(values) - min(values)
    message = None
    if r["out_of_spec"]:
        message = measured_message(r, values) if values else f"failed: {r['defect'] or 'no defect named'}"
    return ResultOut.model_validate(dict(r) | {"values": values, "mean": mean, "range": rng, "message": message})


def get_inspection(conn: Connection, tenant_id: UUID, inspection_id: UUID) -> InspectionOut:
    row = conn.execute(_select(tenant_id).where(inspections.c.id == inspection_id)).mappings().first()
    if row is None:
        raise NotFound(f"inspection {inspection_id} not found", code="inspection_not_found")
    rs = conn.execute(
        select(results, chars.c.seq, chars.c.name, chars.c.kind, chars.c.unit, chars.c.decimals, chars.c.nominal,
               chars.c.lsl, chars.c.usl)
        .select_from(results.join(chars, and_(chars.c.tenant_id == results.c.tenant_id,
                                              chars.c.id == results.c.characteristic_id)))
        .where(results.c.tenant_id == tenant_id, results.c.inspection_id == inspection_id)
        .order_by(chars.c.seq)).mappings()
    return InspectionOut.model_validate(dict(row) | {"results": [_result_out(r) for r in rs]})


def list_inspections(conn: Connection, tenant_id: UUID, query: InspectionQuery) -> InspectionPage:
    stmt = _select(tenant_id)
    i = inspections.c
    for col, value in ((i.machine_id, query.machine_id), (i.plan_id, query.plan_id),
                       (i.product_id, query.product_id), (i.result, query.result)):
        if value is not None:
            stmt = stmt.where(col == value)
    if query.from_ is not None:
        stmt = stmt.where(i.recorded_at >= _aware(query.from_, "from"))
    if query.to is not None:
        stmt = stmt.where(i.recorded_at < _aware(query.to, "to"))
    if query.q:
        from factoryos.listing import like_pattern

        stmt = stmt.where(plans.c.name.ilike(like_pattern(query.q), escape="\\"))
    offset = _offset(query.cursor)
    rows = list(conn.execute(stmt.order_by(i.recorded_at.desc(), i.id).offset(offset).limit(query.limit + 1))
                .mappings())
    more = len(rows) > query.limit
    return InspectionPage(items=[InspectionSummary.model_validate(dict(r)) for r in rows[:query.limit]],
                          next_cursor=str(offset + query.limit) if more else None)


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone, e.g. 2026-09-01T06:00:00+02:00", code="naive_datetime",
                               field=field)
    return value


def audit_after(out: InspectionOut) -> dict[str, Any]:
    return out.model_dump(mode="json", exclude={"results"}) | {"results": [
        {"characteristic": r.name, "values": [str(v) for v in r.values] if r.values is not None else None,
         "passed": r.passed, "defect": r.defect, "out_of_spec": r.out_of_spec} for r in out.results]}
