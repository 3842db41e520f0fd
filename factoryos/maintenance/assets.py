"""Assets: each machine's own (made on first use, its name and model read from the machine and
its catalog entry), sub-assets under it, movable moulds and tools mounted on machines."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.maintenance import usage
from factoryos.maintenance.models import AssetIn, AssetOut, AssetPatch, AssetQuery, Document, Usage
from factoryos.plant.machines import require_machine
from factoryos.schema.catalog import catalog_entries as ce
from factoryos.schema.maintenance import maintenance_assets as ma
from factoryos.schema.maintenance import maintenance_mountings as mm
from factoryos.schema.plant import machines


class Assets(TenantRepository):
    table = ma
    entity = "asset"


_ENSURE = text("""
insert into maintenance_assets (tenant_id, kind, machine_id)
select m.tenant_id, 'machine', m.id from machines m
where m.tenant_id = :tenant and (cast(:machine as uuid) is null or m.id = cast(:machine as uuid))
on conflict (tenant_id, machine_id) where machine_id is not null do nothing
""")


def ensure_machine_assets(conn: Connection, tenant_id: UUID, machine_id: UUID | None = None) -> None:
    """Every machine is an asset: its row is made here, once (concurrent callers are harmless)."""
    conn.execute(_ENSURE, {"tenant": tenant_id, "machine": machine_id})


def machine_asset(conn: Connection, tenant_id: UUID, machine_id: UUID, field: str = "machine_id") -> RowMapping:
    require_machine(conn, tenant_id, machine_id, field=field)
    ensure_machine_assets(conn, tenant_id, machine_id)
    return conn.execute(select(ma).where(ma.c.tenant_id == tenant_id, ma.c.machine_id == machine_id)).mappings().one()


def require_asset(conn: Connection, tenant_id: UUID, asset_id: UUID, *, field: str | None = "asset_id",
                  active: bool = False, for_update: bool = False) -> RowMapping:
    row = Assets(conn, tenant_id).get(asset_id, for_update=for_update)
    if row is None:
        if field is None:
            raise NotFound(f"asset {asset_id} not found", code="asset_not_found")
        raise ValidationFailed(f"asset {asset_id} not found", code="asset_not_found", field=field)
    if active and row["status"] != "active":
        raise ValidationFailed(f"asset {display_name(conn, tenant_id, row)} is retired", code="asset_retired",
                               field=field or "asset_id")
    return row


def _machine_facts(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping:
    return conn.execute(
        select(machines.c.name, machines.c.code, machines.c.status, ce.c.manufacturer, ce.c.name.label("model"))
        .select_from(machines.outerjoin(ce, ce.c.id == machines.c.catalog_model_id))
        .where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
    ).mappings().one()


def display_name(conn: Connection, tenant_id: UUID, asset: RowMapping) -> str:
    if asset["machine_id"] is not None:
        m = _machine_facts(conn, tenant_id, asset["machine_id"])
        return f"{m['code']} {m['name']}"
    return f"{asset['code']} {asset['name']}" if asset["code"] else asset["name"]


def asset_out(conn: Connection, tenant_id: UUID, row: RowMapping, now: datetime) -> AssetOut:
    spans = usage.asset_spans(conn, tenant_id, row)
    totals = usage.totals(conn, tenant_id, row, now, spans)
    mounted = next((s.machine_id for s in reversed(spans) if s.end is None), None)
    values: dict[str, Any] = dict(row)
    if row["machine_id"] is not None:
        facts = _machine_facts(conn, tenant_id, row["machine_id"])
        values |= {"name": facts["name"], "code": facts["code"],
                   "manufacturer": row["manufacturer"] or facts["manufacturer"], "model": row["model"] or facts["model"],
                   "status": "retired" if facts["status"] != "active" else row["status"]}
    return AssetOut(
        **{k: values[k] for k in ("id", "kind", "name", "code", "machine_id", "parent_id", "movable", "manufacturer",
                                  "model", "serial", "installed_on", "status", "created_at")},
        documents=[Document.model_validate(d) for d in row["documents"]],
        mounted_on=mounted,
        usage=Usage(run_hours=round(totals.run_hours, 3), cycles=totals.cycles),
    )


def list_assets(conn: Connection, tenant_id: UUID, query: AssetQuery) -> Page:
    ensure_machine_assets(conn, tenant_id)
    clauses = []
    if query.kind is not None:
        clauses.append(ma.c.kind == query.kind)
    if query.machine_id is not None:
        parent = select(ma.c.id).where(ma.c.tenant_id == tenant_id, ma.c.machine_id == query.machine_id)
        mounted = select(mm.c.asset_id).where(mm.c.tenant_id == tenant_id, mm.c.machine_id == query.machine_id,
                                               mm.c.unmounted_at.is_(None))
        clauses.append(or_(ma.c.machine_id == query.machine_id, ma.c.parent_id.in_(parent), ma.c.id.in_(mounted)))
    return Assets(conn, tenant_id).page(*clauses, limit=query.limit, cursor=query.cursor, search=query.q,
                                        search_columns=("name", "code", "serial"))


def create_asset(conn: Connection, tenant_id: UUID, body: AssetIn) -> RowMapping:
    if body.parent_id is not None:
        if body.movable:
            raise ValidationFailed("a movable asset is mounted on machines, it has no parent", code="asset_movable_parent",
                                   field="parent_id")
        require_asset(conn, tenant_id, body.parent_id, field="parent_id", active=True)
    values = body.model_dump()
    values["documents"] = [d.model_dump() for d in body.documents]
    try:
        with conn.begin_nested():
            return Assets(conn, tenant_id).insert(**values)
    except IntegrityError:
        raise Conflict(f"an asset with code {body.code!r} already exists", code="asset_code_taken",
                       field="code") from None


def update_asset(conn: Connection, tenant_id: UUID, asset_id: UUID, body: AssetPatch) -> tuple[RowMapping, RowMapping]:
    before = require_asset(conn, tenant_id, asset_id, field=None, for_update=True)
    values = body.model_dump(exclude_unset=True)
    if "documents" in values:
        values["documents"] = [d.model_dump() for d in body.documents or []]
    if before["kind"] == "machine" and values.get("name") is not None:
        raise ValidationFailed("a machine's asset takes its name from the machine", code="asset_machine_name",
                               field="name")
    if not values:
        return before, before
    after = Assets(conn, tenant_id).update(asset_id, **values, updated_at=func.now())
    assert after is not None
    return before, after


def mount(conn: Connection, tenant_id: UUID, user_id: UUID | None, asset_id: UUID, machine_id: UUID | None,
          now: datetime, at: datetime | None = None) -> tuple[UUID | None, UUID | None]:
    """Take a movable asset off its machine and, with `machine_id`, mount it on that one: (from, to)."""
    asset = require_asset(conn, tenant_id, asset_id, field=None, for_update=True)
    at = at or now
    if not asset["movable"]:
        raise ValidationFailed("only a movable asset (a mould, a tool) is mounted", code="asset_not_movable",
                               field="machine_id")
    if machine_id is not None:
        if asset["status"] != "active":
            raise ValidationFailed("the asset is retired", code="asset_retired", field="machine_id")
        require_machine(conn, tenant_id, machine_id, active=True)
    current = conn.execute(select(mm).where(mm.c.tenant_id == tenant_id, mm.c.asset_id == asset_id,
                                            mm.c.unmounted_at.is_(None))).mappings().first()
    if current is not None and current["machine_id"] == machine_id:
        raise Conflict("the asset is already mounted on that machine", code="asset_already_mounted", field="machine_id")
    if current is None and machine_id is None:
        raise Conflict("the asset is not mounted", code="asset_not_mounted", field="machine_id")
    latest = conn.execute(select(func.max(func.coalesce(mm.c.unmounted_at, mm.c.mounted_at))).where(
        mm.c.tenant_id == tenant_id, mm.c.asset_id == asset_id)).scalar()
    if at > now or (latest is not None and at <= latest):
        raise ValidationFailed("the change must be after the asset's last one and not in the future",
                               code="mount_time_invalid", field="at")
    if current is not None:
        conn.execute(update(mm).where(and_(mm.c.tenant_id == tenant_id, mm.c.id == current["id"]))
                     .values(unmounted_at=at))
    if machine_id is not None:
        conn.execute(mm.insert().values(tenant_id=tenant_id, asset_id=asset_id, machine_id=machine_id,
                                        mounted_at=at, created_by=user_id))
    return (current["machine_id"] if current is not None else None), machine_id
