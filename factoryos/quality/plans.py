"""Inspection plans and their versions: create, edit a draft, make the next version, release.

A released version is frozen: its content is what the release signature signed, and its
inspections were made against it. Changing a plan means a new draft (a copy of the latest
version), released in turn; the version it replaces becomes superseded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, insert, select, update

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.identity.permissions import ROLES
from factoryos.listing import like_pattern
from factoryos.quality.plan_models import (
    CharacteristicIn,
    CharacteristicOut,
    PlanIn,
    PlanOut,
    PlanPage,
    PlanQuery,
    VersionContent,
    VersionIn,
    VersionOut,
    VersionSummary,
)
from factoryos.schema.identity import users
from factoryos.schema.orders import products, routing_operations
from factoryos.schema.plant import machines
from factoryos.schema.quality import inspection_characteristics as chars
from factoryos.schema.quality import inspection_plan_versions as versions
from factoryos.schema.quality import inspection_plans as plans
from factoryos.signatures.models import SignatureOut
from factoryos.signatures.service import signatures_for

RECORD_TYPE = "inspection_plan_version"


# -- checks ------------------------------------------------------------------------------------


def _check_characteristic(c: CharacteristicIn, field: str) -> None:
    if c.kind == "measured":
        if c.lsl is None and c.usl is None:
            raise ValidationFailed("a measured characteristic needs a lower or an upper limit (or both)",
                                   code="limits_required", field=f"{field}.usl")
        if c.lsl is not None and c.usl is not None and c.lsl >= c.usl:
            raise ValidationFailed(f"the lower limit {c.lsl} must be below the upper limit {c.usl}",
                                   code="invalid_limits", field=f"{field}.lsl")
        if c.min_value is not None and c.max_value is not None and c.min_value >= c.max_value:
            raise ValidationFailed("the physical minimum must be below the physical maximum",
                                   code="invalid_physical_limits", field=f"{field}.min_value")
        for name in ("nominal", "lsl", "usl"):
            value = getattr(c, name)
            if value is None:
                continue
            if (c.min_value is not None and value < c.min_value) or (c.max_value is not None and value > c.max_value):
                raise ValidationFailed(f"{name} {value} lies outside the physical limits",
                                       code="invalid_physical_limits", field=f"{field}.{name}")
        if c.defects:
            raise ValidationFailed("defects belong to attribute characteristics", code="invalid_defects",
                                   field=f"{field}.defects")
    else:
        if any(getattr(c, n) is not None for n in ("nominal", "lsl", "usl", "min_value", "max_value")):
            raise ValidationFailed("an attribute characteristic is pass/fail: it has no limits",
                                   code="invalid_limits", field=f"{field}.lsl")
        if c.sample_size != 1:
            raise ValidationFailed("an attribute characteristic records one result", code="invalid_sample_size",
                                   field=f"{field}.sample_size")
        if len({d.casefold() for d in c.defects}) != len(c.defects):
            raise ValidationFailed("a defect is listed twice", code="invalid_defects", field=f"{field}.defects")


def _check_version(body: VersionContent, prefix: str = "") -> None:
    names = [c.name.casefold() for c in body.characteristics]
    for i, c in enumerate(body.characteristics):
        _check_characteristic(c, f"{prefix}characteristics[{i}]")
        if names.index(c.name.casefold()) != i:
            raise ValidationFailed(f"the characteristic {c.name!r} is listed twice", code="duplicate_characteristic",
                                   field=f"{prefix}characteristics[{i}].name")
    unknown = [r for r in body.record_roles if r not in ROLES]
    if unknown:
        raise ValidationFailed(f"unknown role(s): {', '.join(unknown)}", code="invalid_role",
                               field=f"{prefix}record_roles", extra={"known": sorted(ROLES)})


def _check_scope(conn: Connection, tenant_id: UUID, body: PlanIn) -> None:
    if body.product_id is None and body.machine_id is None:
        raise ValidationFailed("a plan is for a product, a machine, or both", code="plan_scope_required",
                               field="product_id")
    if body.product_id is not None:
        found = conn.execute(select(products.c.id).where(products.c.tenant_id == tenant_id,
                                                         products.c.id == body.product_id)).first()
        if found is None:
            raise ValidationFailed(f"product {body.product_id} not found", code="unknown_product", field="product_id")
    if body.routing_operation_id is not None:
        op_row = conn.execute(select(routing_operations.c.product_id).where(
            routing_operations.c.tenant_id == tenant_id,
            routing_operations.c.id == body.routing_operation_id)).first()
        if op_row is None or op_row.product_id != body.product_id:
            raise ValidationFailed("that operation is not in the product's routing", code="operation_mismatch",
                                   field="routing_operation_id")
    if body.machine_id is not None:
        found = conn.execute(select(machines.c.id).where(machines.c.tenant_id == tenant_id,
                                                         machines.c.id == body.machine_id)).first()
        if found is None:
            raise ValidationFailed(f"machine {body.machine_id} not found", code="unknown_machine", field="machine_id")


# -- writing -------------------------------------------------------------------------------------


def _version_values(body: VersionContent) -> dict[str, Any]:
    return {"first_article": body.first_article, "every_parts": body.every_parts,
            "every_minutes": body.every_minutes, "per_shift": body.per_shift,
            "grace_minutes": body.grace_minutes, "second_person": body.second_person, "record_roles": sorted(set(body.record_roles)), "notes": body.notes}


def _write_characteristics(conn: Connection, tenant_id: UUID, version_id: UUID, body: VersionContent,
                           lineage: dict[str, UUID]) -> None:
    """Insert the version's characteristics; one named as in the version before keeps its lineage."""
    rows = []
    for i, c in enumerate(body.characteristics, start=1):
        rows.append({"tenant_id": tenant_id, "version_id": version_id, "seq": i * 10,
                     "lineage_id": lineage.get(c.name.casefold(), uuid.uuid4()), **c.model_dump()})
    conn.execute(insert(chars), rows)


def _lineage(conn: Connection, tenant_id: UUID, version_id: UUID | None) -> dict[str, UUID]:
    if version_id is None:
        return {}
    rows = conn.execute(select(chars.c.name, chars.c.lineage_id).where(chars.c.tenant_id == tenant_id,
                                                                       chars.c.version_id == version_id))
    return {r.name.casefold(): r.lineage_id for r in rows}


def create_plan(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: PlanIn) -> UUID:
    _check_scope(conn, tenant_id, body)
    _check_version(body.version, "version.")
    plan_id = conn.execute(insert(plans).values(
        tenant_id=tenant_id, name=body.name, product_id=body.product_id,
        routing_operation_id=body.routing_operation_id, machine_id=body.machine_id, created_by=user_id,
    ).returning(plans.c.id)).scalar_one()
    version_id = conn.execute(insert(versions).values(
        tenant_id=tenant_id, plan_id=plan_id, version=1, created_by=user_id, **_version_values(body.version),
    ).returning(versions.c.id)).scalar_one()
    _write_characteristics(conn, tenant_id, version_id, body.version, {})
    return plan_id


def _plan_row(conn: Connection, tenant_id: UUID, plan_id: UUID, *, lock: bool = False) -> RowMapping:
    stmt = select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()
    if row is None:
        raise NotFound(f"inspection plan {plan_id} not found", code="inspection_plan_not_found")
    return row


def _version_row(conn: Connection, tenant_id: UUID, plan_id: UUID, version: int) -> RowMapping:
    row = conn.execute(select(versions).where(versions.c.tenant_id == tenant_id, versions.c.plan_id == plan_id,
                                              versions.c.version == version)).mappings().first()
    if row is None:
        raise NotFound(f"version {version} of inspection plan {plan_id} not found",
                       code="inspection_plan_version_not_found")
    return row


def _refuse_released(row: RowMapping) -> None:
    if row["status"] != "draft":
        raise Conflict(f"version {row['version']} is {row['status']}: it cannot change; make a new version",
                       code="plan_released", field="version")


def update_draft(conn: Connection, tenant_id: UUID, plan_id: UUID, version: int,
                 body: VersionIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replace a draft's content; (before, after) for the audit."""
    _plan_row(conn, tenant_id, plan_id, lock=True)
    row = _version_row(conn, tenant_id, plan_id, version)
    _refuse_released(row)
    _check_version(body)
    before = version_content(conn, tenant_id, row["id"])
    lineage = _lineage(conn, tenant_id, row["id"]) | _previous_lineage(conn, tenant_id, plan_id, version)
    conn.execute(chars.delete().where(chars.c.tenant_id == tenant_id, chars.c.version_id == row["id"]))
    conn.execute(update(versions).where(versions.c.tenant_id == tenant_id, versions.c.id == row["id"])
                 .values(updated_at=func.now(), **_version_values(body)))
    _write_characteristics(conn, tenant_id, row["id"], body, lineage)
    return before, version_content(conn, tenant_id, row["id"])


def _previous_lineage(conn: Connection, tenant_id: UUID, plan_id: UUID, version: int) -> dict[str, UUID]:
    prev = conn.execute(select(versions.c.id).where(versions.c.tenant_id == tenant_id, versions.c.plan_id == plan_id,
                                                    versions.c.version < version)
                        .order_by(versions.c.version.desc()).limit(1)).scalar()
    return _lineage(conn, tenant_id, prev)


def new_version(conn: Connection, tenant_id: UUID, user_id: UUID | None, plan_id: UUID,
                body: VersionContent | None) -> int:
    """The next version, a draft: `body`, or a copy of the latest version."""
    _plan_row(conn, tenant_id, plan_id, lock=True)
    latest = conn.execute(select(versions).where(versions.c.tenant_id == tenant_id, versions.c.plan_id == plan_id)
                          .order_by(versions.c.version.desc()).limit(1)).mappings().one()
    if latest["status"] == "draft":
        raise Conflict(f"version {latest['version']} is still a draft: edit it", code="plan_draft_exists",
                       field="version")
    if body is None:
        body = VersionContent.model_validate(_content_as_input(version_content(conn, tenant_id, latest["id"])))
    else:
        _check_version(body, "content.")
    number = latest["version"] + 1
    version_id = conn.execute(insert(versions).values(
        tenant_id=tenant_id, plan_id=plan_id, version=number, created_by=user_id, **_version_values(body),
    ).returning(versions.c.id)).scalar_one()
    _write_characteristics(conn, tenant_id, version_id, body, _lineage(conn, tenant_id, latest["id"]))
    return number


def draft_to_release(conn: Connection, tenant_id: UUID, plan_id: UUID, version: int) -> RowMapping:
    """The draft about to be released (the plan locked): refused when it is not a draft."""
    _plan_row(conn, tenant_id, plan_id, lock=True)
    row = _version_row(conn, tenant_id, plan_id, version)
    _refuse_released(row)
    return row


def release(conn: Connection, tenant_id: UUID, user_id: UUID | None, row: RowMapping, now: datetime,
            signature_id: UUID, signed_hash: str) -> tuple[RowMapping, RowMapping | None]:
    """Release the draft `row` (from draft_to_release); the released one before it is superseded.
    (released, superseded)."""
    plan_id = row["plan_id"]
    old = conn.execute(update(versions).where(versions.c.tenant_id == tenant_id, versions.c.plan_id == plan_id,
                                              versions.c.status == "released")
                       .values(status="superseded", superseded_at=now).returning(versions)).mappings().first()
    done = conn.execute(update(versions).where(versions.c.tenant_id == tenant_id, versions.c.id == row["id"])
                        .values(status="released", released_at=now, released_by=user_id, signature_id=signature_id,
                                content_hash=signed_hash).returning(versions)).mappings().one()
    return done, old


# -- content and hashing -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, UUID):
        return str(value)
    return value


def version_content(conn: Connection, tenant_id: UUID, version_id: UUID) -> dict[str, Any]:
    """A version's canonical content (what a release signs): plain JSON types, fixed key order."""
    v = conn.execute(select(versions).where(versions.c.tenant_id == tenant_id, versions.c.id == version_id)
                     ).mappings().one()
    plan = conn.execute(select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == v["plan_id"])
                        ).mappings().one()
    rows = conn.execute(select(chars).where(chars.c.tenant_id == tenant_id, chars.c.version_id == version_id)
                        .order_by(chars.c.seq)).mappings()
    fields = ("name", "kind", "nominal", "lsl", "usl", "unit", "decimals", "min_value", "max_value", "sample_size",
              "defects")
    return {
        "plan_id": str(plan["id"]), "plan": plan["name"], "product_id": _plain(plan["product_id"]),
        "routing_operation_id": _plain(plan["routing_operation_id"]), "machine_id": _plain(plan["machine_id"]),
        "version": v["version"],
        **{k: v[k] for k in ("first_article", "every_parts", "every_minutes", "per_shift", "grace_minutes",
                             "second_person", "record_roles", "notes")},
        "characteristics": [{k: _plain(r[k]) for k in fields} for r in rows],
    }


def _content_as_input(content: dict[str, Any]) -> dict[str, Any]:
    keep = ("first_article", "every_parts", "every_minutes", "per_shift", "grace_minutes", "second_person",
            "record_roles", "notes")
    return {k: content[k] for k in keep} | {"characteristics": content["characteristics"]}


# -- reading -------------------------------------------------------------------------------------


def _plan_select(tenant_id: UUID):
    return (
        select(plans, products.c.number.label("product_number"), products.c.name.label("product_name"),
               routing_operations.c.name.label("operation_name"), machines.c.code.label("machine_code"))
        .select_from(
            plans.outerjoin(products, and_(products.c.tenant_id == plans.c.tenant_id,
                                           products.c.id == plans.c.product_id))
            .outerjoin(routing_operations, and_(routing_operations.c.tenant_id == plans.c.tenant_id,
                                                routing_operations.c.id == plans.c.routing_operation_id))
            .outerjoin(machines, and_(machines.c.tenant_id == plans.c.tenant_id, machines.c.id == plans.c.machine_id))
        )
        .where(plans.c.tenant_id == tenant_id)
    )


def _plan_out(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> list[PlanOut]:
    ids = [r["id"] for r in rows]
    by_plan: dict[UUID, list[VersionSummary]] = {i: [] for i in ids}
    if ids:
        for v in conn.execute(select(versions).where(versions.c.tenant_id == tenant_id, versions.c.plan_id.in_(ids))
                              .order_by(versions.c.version)).mappings():
            by_plan[v["plan_id"]].append(VersionSummary.model_validate(dict(v)))
    out = []
    for r in rows:
        vs = by_plan[r["id"]]
        out.append(PlanOut.model_validate(dict(r) | {
            "versions": vs,
            "released_version": next((v.version for v in vs if v.status == "released"), None),
            "draft_version": next((v.version for v in vs if v.status == "draft"), None),
        }))
    return out


def get_plan(conn: Connection, tenant_id: UUID, plan_id: UUID) -> PlanOut:
    row = conn.execute(_plan_select(tenant_id).where(plans.c.id == plan_id)).mappings().first()
    if row is None:
        raise NotFound(f"inspection plan {plan_id} not found", code="inspection_plan_not_found")
    return _plan_out(conn, tenant_id, [row])[0]


def list_plans(conn: Connection, tenant_id: UUID, query: PlanQuery) -> PlanPage:
    stmt = _plan_select(tenant_id)
    if query.product_id is not None:
        stmt = stmt.where(plans.c.product_id == query.product_id)
    if query.machine_id is not None:
        stmt = stmt.where(plans.c.machine_id == query.machine_id)
    if query.q:
        stmt = stmt.where(plans.c.name.ilike(like_pattern(query.q), escape="\\"))
    offset = _offset(query.cursor)
    rows = list(conn.execute(stmt.order_by(plans.c.name, plans.c.id).offset(offset).limit(query.limit + 1))
                .mappings())
    more = len(rows) > query.limit
    return PlanPage(items=_plan_out(conn, tenant_id, rows[:query.limit]),
                    next_cursor=str(offset + query.limit) if more else None)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise ValidationFailed("cursor is not one this list gave", code="invalid_cursor", field="cursor")
    return int(cursor)


def get_version(conn: Connection, tenant_id: UUID, plan_id: UUID, version: int) -> VersionOut:
    _plan_row(conn, tenant_id, plan_id)
    v = _version_row(conn, tenant_id, plan_id, version)
    signed = signatures_for(conn, tenant_id, RECORD_TYPE, v["id"], version_content(conn, tenant_id, v["id"]))
    return version_out(conn, tenant_id, v, signed)


def version_out(conn: Connection, tenant_id: UUID, v: RowMapping, signatures: list[SignatureOut]) -> VersionOut:
    rows = conn.execute(select(chars).where(chars.c.tenant_id == tenant_id, chars.c.version_id == v["id"])
                        .order_by(chars.c.seq)).mappings()
    name = None
    if v["released_by"] is not None:
        name = conn.execute(select(users.c.display_name).where(users.c.id == v["released_by"])).scalar()
    return VersionOut.model_validate(dict(v) | {
        "released_by_name": name, "signatures": signatures,
        "characteristics": [CharacteristicOut.model_validate(dict(r)) for r in rows],
    })


def version_by_id(conn: Connection, tenant_id: UUID, version_id: UUID) -> RowMapping:
    return conn.execute(select(versions).where(versions.c.tenant_id == tenant_id, versions.c.id == version_id)
                        ).mappings().one()
