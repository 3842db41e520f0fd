"""Bills of materials: versioned per product; a released version never changes.

A product's next version starts as a draft (a copy of the lines given); releasing it makes the
version before it obsolete. A line naming an item that is itself a product (items.product_id)
descends into that product's BOM: a chain coming back to the product is a cycle, refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, delete, func, insert, select, text, update

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.materials.models import BomIn, BomLineOut, BomOut
from factoryos.materials.quantities import plain
from factoryos.schema.materials import bom_lines, boms, items
from factoryos.schema.orders import products

# Every product reachable downwards from the given items through BOMs (latest non-obsolete version).
_DESCENDANTS = text("""
with recursive down(product_id, path) as (
    select i.product_id, array[i.product_id]
    from items i where i.tenant_id = :t and i.id = any(:item_ids) and i.product_id is not null
  union all
    select ci.product_id, d.path || ci.product_id
    from down d
    join boms b on b.tenant_id = :t and b.product_id = d.product_id and b.status <> 'obsolete'
    join bom_lines l on l.tenant_id = :t and l.bom_id = b.id
    join items ci on ci.tenant_id = :t and ci.id = l.item_id and ci.product_id is not null
    where not ci.product_id = any(d.path)
)
select product_id, path from down
""")


def _product(conn: Connection, tenant_id: UUID, product_id: UUID) -> Any:
    row = conn.execute(select(products).where(products.c.tenant_id == tenant_id, products.c.id == product_id)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"product {product_id} not found", code="product_not_found")
    return row


def _bom_out(conn: Connection, tenant_id: UUID, bom: Any) -> BomOut:
    lines = conn.execute(
        select(bom_lines.c.seq, bom_lines.c.item_id, bom_lines.c.quantity, bom_lines.c.scrap_percent,
               items.c.number.label("item_number"), items.c.name.label("item_name"), items.c.unit)
        .join(items, and_(items.c.tenant_id == bom_lines.c.tenant_id, items.c.id == bom_lines.c.item_id))
        .where(bom_lines.c.tenant_id == tenant_id, bom_lines.c.bom_id == bom["id"]).order_by(bom_lines.c.seq)
    ).mappings()
    return BomOut(id=bom["id"], product_id=bom["product_id"], version=bom["version"], status=bom["status"],
                  released_at=bom["released_at"],
                  lines=[BomLineOut.model_validate(dict(r) | {"quantity": plain(r["quantity"]),
                                                              "scrap_percent": plain(r["scrap_percent"])})
                         for r in lines])


def list_boms(conn: Connection, tenant_id: UUID, product_id: UUID) -> list[BomOut]:
    _product(conn, tenant_id, product_id)
    rows = conn.execute(select(boms).where(boms.c.tenant_id == tenant_id, boms.c.product_id == product_id)
                        .order_by(boms.c.version.desc())).mappings()
    return [_bom_out(conn, tenant_id, r) for r in rows]


def get_bom(conn: Connection, tenant_id: UUID, bom_id: UUID) -> BomOut:
    row = conn.execute(select(boms).where(boms.c.tenant_id == tenant_id, boms.c.id == bom_id)).mappings().first()
    if row is None:
        raise NotFound(f"bill of materials {bom_id} not found", code="bom_not_found")
    return _bom_out(conn, tenant_id, row)


def released_bom(conn: Connection, tenant_id: UUID, product_id: UUID) -> BomOut | None:
    """The version in force: the released one (at most one is released at a time)."""
    row = conn.execute(select(boms).where(boms.c.tenant_id == tenant_id, boms.c.product_id == product_id,
                                          boms.c.status == "released")).mappings().first()
    return _bom_out(conn, tenant_id, row) if row else None


def _check_lines(conn: Connection, tenant_id: UUID, product: Any, body: BomIn) -> None:
    ids = [line.item_id for line in body.lines]
    found = {r["id"]: r for r in conn.execute(select(items).where(items.c.tenant_id == tenant_id,
                                                                  items.c.id.in_(ids))).mappings()}
    for i, line in enumerate(body.lines):
        if line.item_id not in found:
            raise ValidationFailed("no such item", code="item_not_found", field=f"lines.{i}.item_id")
        if ids.index(line.item_id) != i:
            raise ValidationFailed(f"{found[line.item_id]['number']} is on the list twice", code="bom_line_duplicate",
                                   field=f"lines.{i}.item_id")
        if found[line.item_id]["product_id"] == product["id"]:
            raise ValidationFailed(f"{product['number']} cannot contain itself", code="bom_cycle",
                                   field=f"lines.{i}.item_id")
    for row in conn.execute(_DESCENDANTS, {"t": tenant_id, "item_ids": ids}).mappings():
        if row["product_id"] == product["id"]:
            numbers = dict(conn.execute(select(products.c.id, products.c.number).where(
                products.c.tenant_id == tenant_id, products.c.id.in_(row["path"]))).all())
            chain = " → ".join([product["number"], *(numbers[p] for p in row["path"])])
            first = ids.index(next(i for i in ids if found[i]["product_id"] == row["path"][0]))
            raise ValidationFailed(f"a cycle: {chain}", code="bom_cycle", field=f"lines.{first}.item_id")


def create_draft(conn: Connection, tenant_id: UUID, product_id: UUID, body: BomIn) -> BomOut:
    """A new version as a draft; an existing draft of the product is replaced instead."""
    product = _product(conn, tenant_id, product_id)
    conn.execute(text("select pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"bom:{tenant_id}:{product_id}"})
    _check_lines(conn, tenant_id, product, body)
    draft = conn.execute(select(boms).where(boms.c.tenant_id == tenant_id, boms.c.product_id == product_id,
                                            boms.c.status == "draft")).mappings().first()
    if draft is None:
        version = conn.execute(select(func.coalesce(func.max(boms.c.version), 0) + 1).where(
            boms.c.tenant_id == tenant_id, boms.c.product_id == product_id)).scalar_one()
        draft = conn.execute(insert(boms).values(tenant_id=tenant_id, product_id=product_id, version=version)
                             .returning(boms)).mappings().one()
    else:
        conn.execute(delete(bom_lines).where(bom_lines.c.tenant_id == tenant_id, bom_lines.c.bom_id == draft["id"]))
    conn.execute(insert(bom_lines), [
        {"tenant_id": tenant_id, "bom_id": draft["id"], "seq": (i + 1) * 10, "item_id": line.item_id,
         "quantity": line.quantity, "scrap_percent": line.scrap_percent} for i, line in enumerate(body.lines)])
    return _bom_out(conn, tenant_id, draft)


def release(conn: Connection, tenant_id: UUID, bom_id: UUID, user_id: UUID | None, now: datetime) -> tuple[BomOut, list[UUID]]:
    """Release a draft; the version released before it becomes obsolete (returned for the audit)."""
    row = conn.execute(select(boms).where(boms.c.tenant_id == tenant_id, boms.c.id == bom_id).with_for_update()
                       ).mappings().first()
    if row is None:
        raise NotFound(f"bill of materials {bom_id} not found", code="bom_not_found")
    if row["status"] != "draft":
        raise Conflict(f"version {row['version']} is {row['status']}: released versions never change",
                       code="bom_not_draft")
    obsolete = list(conn.execute(update(boms).where(boms.c.tenant_id == tenant_id,
                                                    boms.c.product_id == row["product_id"],
                                                    boms.c.status == "released")
                                 .values(status="obsolete").returning(boms.c.id)).scalars())
    after = conn.execute(update(boms).where(boms.c.tenant_id == tenant_id, boms.c.id == bom_id)
                         .values(status="released", released_at=now, released_by=user_id).returning(boms)
                         ).mappings().one()
    return _bom_out(conn, tenant_id, after), obsolete


def require_draft(conn: Connection, tenant_id: UUID, bom_id: UUID) -> Any:
    row = conn.execute(select(boms).where(boms.c.tenant_id == tenant_id, boms.c.id == bom_id)).mappings().first()
    if row is None:
        raise NotFound(f"bill of materials {bom_id} not found", code="bom_not_found")
    if row["status"] != "draft":
        raise Conflict(f"version {row['version']} is {row['status']}: released versions never change",
                       code="bom_not_draft")
    return row


def delete_draft(conn: Connection, tenant_id: UUID, bom_id: UUID) -> BomOut:
    row = require_draft(conn, tenant_id, bom_id)
    before = _bom_out(conn, tenant_id, row)
    conn.execute(delete(boms).where(boms.c.tenant_id == tenant_id, boms.c.id == bom_id))
    return before
