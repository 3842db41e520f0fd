"""Locations: site → warehouse → bin, and each machine's line-side location.

Each site has one root location (kind 'site'), made on first need: it holds the site's stock
policy (`allow_negative`) and is the parent of warehouses and line sides.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.materials.models import LocationIn, LocationOut
from factoryos.schema.materials import locations
from factoryos.schema.plant import machines, sites

_PARENT_KIND = {"warehouse": "site", "line_side": "site", "bin": "warehouse"}


def site_root(conn: Connection, tenant_id: UUID, site_id: UUID, field: str = "site_id") -> Any:
    site = conn.execute(select(sites).where(sites.c.tenant_id == tenant_id, sites.c.id == site_id)).mappings().first()
    if site is None:
        raise NotFound(f"site {site_id} not found", code="site_not_found", field=field)
    conn.execute(pg_insert(locations).values(
        tenant_id=tenant_id, site_id=site_id, kind="site", code=site["code"], name=site["name"])
        .on_conflict_do_nothing())
    return conn.execute(select(locations).where(locations.c.tenant_id == tenant_id, locations.c.site_id == site_id,
                                                locations.c.kind == "site")).mappings().one()


def location_row(conn: Connection, tenant_id: UUID, location_id: UUID, field: str = "location_id") -> Any:
    row = conn.execute(select(locations).where(locations.c.tenant_id == tenant_id, locations.c.id == location_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"location {location_id} not found", code="location_not_found", field=field)
    return row


def line_side(conn: Connection, tenant_id: UUID, machine_id: UUID) -> Any:
    """The machine's line-side location, made on first need (code: the machine's code)."""
    row = conn.execute(select(locations).where(locations.c.tenant_id == tenant_id,
                                               locations.c.machine_id == machine_id)).mappings().first()
    if row is not None:
        return row
    machine = conn.execute(select(machines).where(machines.c.tenant_id == tenant_id, machines.c.id == machine_id)
                           ).mappings().one()
    root = site_root(conn, tenant_id, machine["site_id"])
    location_code = f"LS-{machine['code']}"[:40]
    return conn.execute(pg_insert(locations).values(
        tenant_id=tenant_id, site_id=machine["site_id"], parent_id=root["id"], kind="line_side",
        code=location_code, name=f"Line side {machine['name']}"[:200], machine_id=machine_id)
        .returning(locations)).mappings().one()


def create_location(conn: Connection, tenant_id: UUID, body: LocationIn) -> LocationOut:
    root = site_root(conn, tenant_id, body.site_id)
    parent = root
    if body.kind == "bin":
        if body.parent_id is None:
            raise ValidationFailed("a bin belongs to a warehouse", code="location_parent_required", field="parent_id")
        parent = location_row(conn, tenant_id, body.parent_id, "parent_id")
    elif body.parent_id is not None and body.parent_id != root["id"]:
        parent = location_row(conn, tenant_id, body.parent_id, "parent_id")
    if parent["kind"] != _PARENT_KIND[body.kind] or parent["site_id"] != body.site_id:
        raise ValidationFailed(f"a {body.kind.replace('_', ' ')} cannot sit in a {parent['kind'].replace('_', ' ')}"
                               f"{'' if parent['site_id'] == body.site_id else ' of another site'}",
                               code="location_parent_invalid", field="parent_id")
    if (body.kind == "line_side") != (body.machine_id is not None):
        raise ValidationFailed("a line-side location names its machine, and only it does",
                               code="location_machine_invalid", field="machine_id")
    if body.machine_id is not None:
        m = conn.execute(select(machines.c.site_id).where(machines.c.tenant_id == tenant_id,
                                                          machines.c.id == body.machine_id)).first()
        if m is None or m[0] != body.site_id:
            raise ValidationFailed("no machine of this site has this id", code="machine_not_found", field="machine_id")
        if conn.execute(select(locations.c.code).where(locations.c.tenant_id == tenant_id,
                                                       locations.c.machine_id == body.machine_id)).first():
            raise Conflict("this machine has its line-side location", code="location_machine_taken",
                           field="machine_id")
    if conn.execute(select(locations.c.id).where(locations.c.tenant_id == tenant_id,
                                                 locations.c.site_id == body.site_id,
                                                 locations.c.code == body.code)).first():
        raise Conflict(f"this site has a location {body.code}", code="location_code_taken", field="code")
    row = conn.execute(pg_insert(locations).values(
        tenant_id=tenant_id, site_id=body.site_id, parent_id=parent["id"], kind=body.kind, code=body.code,
        name=body.name or body.code, machine_id=body.machine_id).returning(locations)).mappings().one()
    return LocationOut.model_validate(dict(row))


def list_locations(conn: Connection, tenant_id: UUID, site_id: UUID | None) -> list[LocationOut]:
    stmt = select(locations).where(locations.c.tenant_id == tenant_id)
    if site_id is not None:
        stmt = stmt.where(locations.c.site_id == site_id)
    return [LocationOut.model_validate(dict(r)) for r in
            conn.execute(stmt.order_by(locations.c.site_id, locations.c.code)).mappings()]


def set_negative_policy(conn: Connection, tenant_id: UUID, site_id: UUID, allow: bool) -> tuple[bool, LocationOut]:
    root = site_root(conn, tenant_id, site_id)
    row = conn.execute(update(locations).where(locations.c.tenant_id == tenant_id, locations.c.id == root["id"])
                       .values(allow_negative=allow).returning(locations)).mappings().one()
    return root["allow_negative"], LocationOut.model_validate(dict(row))


def allows_negative(conn: Connection, tenant_id: UUID, site_id: UUID) -> bool:
    return bool(conn.execute(select(locations.c.allow_negative).where(
        locations.c.tenant_id == tenant_id, locations.c.site_id == site_id, locations.c.kind == "site")).scalar())
