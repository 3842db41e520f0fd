"""Items (materials, components, products made here) and the units each is counted in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, insert, or_, select

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.listing import like_pattern
from factoryos.materials.models import ItemIn, ItemOut, ItemPage, ItemQuery, UnitIn
from factoryos.materials.paging import next_cursor, offset_of
from factoryos.materials.quantities import plain
from factoryos.schema.catalog import catalog_entries
from factoryos.schema.materials import item_units, items
from factoryos.schema.orders import products


def _gtin14(gtin: str | None) -> str | None:
    """GTIN-8/12/13 are stored left-padded to 14 digits, as a GS1 scan's AI 01 carries them."""
    return gtin.zfill(14) if gtin else None


def _units(conn: Connection, tenant_id: UUID, item_ids: list[UUID]) -> dict[UUID, list[UnitIn]]:
    out: dict[UUID, list[UnitIn]] = {i: [] for i in item_ids}
    if item_ids:
        rows = conn.execute(select(item_units).where(item_units.c.tenant_id == tenant_id,
                                                     item_units.c.item_id.in_(item_ids))
                            .order_by(item_units.c.unit)).mappings()
        for r in rows:
            out[r["item_id"]].append(UnitIn(unit=r["unit"], factor=plain(r["factor"])))
    return out


def _out(row: Any, units: list[UnitIn]) -> ItemOut:
    return ItemOut.model_validate(dict(row) | {"units": units})


def get_item(conn: Connection, tenant_id: UUID, item_id: UUID, field: str = "item_id") -> ItemOut:
    row = conn.execute(select(items).where(items.c.tenant_id == tenant_id, items.c.id == item_id)).mappings().first()
    if row is None:
        raise NotFound(f"item {item_id} not found", code="item_not_found", field=field)
    return _out(row, _units(conn, tenant_id, [item_id])[item_id])


def item_for_product(conn: Connection, tenant_id: UUID, product_id: UUID) -> Any:
    """The item a product is stocked as; made on first need from the product's number and name."""
    row = conn.execute(select(items).where(items.c.tenant_id == tenant_id, items.c.product_id == product_id)
                       ).mappings().first()
    if row is not None:
        return row
    product = conn.execute(select(products).where(products.c.tenant_id == tenant_id, products.c.id == product_id)
                           ).mappings().one()
    return conn.execute(insert(items).values(
        tenant_id=tenant_id, number=product["number"], name=product["name"], kind="product", unit=product["unit"],
        product_id=product_id).returning(items)).mappings().one()


def list_items(conn: Connection, tenant_id: UUID, query: ItemQuery) -> ItemPage:
    stmt = select(items).where(items.c.tenant_id == tenant_id)
    if query.kind:
        stmt = stmt.where(items.c.kind == query.kind)
    if query.q:
        pattern = like_pattern(query.q)
        stmt = stmt.where(or_(items.c.number.ilike(pattern, escape="\\"), items.c.name.ilike(pattern, escape="\\")))
    offset = offset_of(query.cursor)
    rows = list(conn.execute(stmt.order_by(items.c.number).offset(offset).limit(query.limit + 1)).mappings())
    page = rows[: query.limit]
    units = _units(conn, tenant_id, [r["id"] for r in page])
    return ItemPage(items=[_out(r, units[r["id"]]) for r in page],
                    next_cursor=next_cursor(offset, query.limit, len(rows)))


def create_item(conn: Connection, tenant_id: UUID, body: ItemIn) -> ItemOut:
    if conn.execute(select(items.c.id).where(items.c.tenant_id == tenant_id, items.c.number == body.number)).first():
        raise Conflict(f"an item numbered {body.number} exists", code="item_number_taken", field="number")
    gtin = _gtin14(body.gtin)
    if gtin and conn.execute(select(items.c.number).where(items.c.tenant_id == tenant_id, items.c.gtin == gtin)).first():
        raise Conflict(f"another item has GTIN {gtin}", code="item_gtin_taken", field="gtin")
    if body.catalog_entry_id is not None:
        entry = conn.execute(select(catalog_entries.c.kind).where(catalog_entries.c.id == body.catalog_entry_id)).first()
        if entry is None or entry[0] != "material":
            raise ValidationFailed("no material of the catalog has this id", code="catalog_entry_not_found",
                                   field="catalog_entry_id")
    if body.product_id is not None:
        if not conn.execute(select(products.c.id).where(products.c.tenant_id == tenant_id,
                                                        products.c.id == body.product_id)).first():
            raise ValidationFailed("no such product", code="product_not_found", field="product_id")
        if conn.execute(select(items.c.id).where(items.c.tenant_id == tenant_id,
                                                 items.c.product_id == body.product_id)).first():
            raise Conflict("this product already has an item", code="item_product_taken", field="product_id")
    seen: set[str] = set()
    for i, u in enumerate(body.units):
        if u.unit == body.unit or u.unit in seen:
            raise ValidationFailed(f"unit {u.unit} is given twice", code="unit_duplicate", field=f"units.{i}.unit")
        seen.add(u.unit)
    row = conn.execute(insert(items).values(
        tenant_id=tenant_id, **body.model_dump(exclude={"units", "gtin"}), gtin=gtin).returning(items)).mappings().one()
    if body.units:
        conn.execute(insert(item_units), [{"tenant_id": tenant_id, "item_id": row["id"], "unit": u.unit,
                                           "factor": u.factor} for u in body.units])
    return get_item(conn, tenant_id, row["id"])


def set_units(conn: Connection, tenant_id: UUID, item_id: UUID, units: list[UnitIn]) -> tuple[ItemOut, ItemOut]:
    before = get_item(conn, tenant_id, item_id)
    for i, u in enumerate(units):
        if u.unit == before.unit or [x.unit for x in units].count(u.unit) > 1:
            raise ValidationFailed(f"unit {u.unit} is given twice", code="unit_duplicate", field=f"units.{i}.unit")
    conn.execute(delete(item_units).where(item_units.c.tenant_id == tenant_id, item_units.c.item_id == item_id))
    if units:
        conn.execute(insert(item_units), [{"tenant_id": tenant_id, "item_id": item_id, "unit": u.unit,
                                           "factor": u.factor} for u in units])
    return before, get_item(conn, tenant_id, item_id)


def to_base(conn: Connection, tenant_id: UUID, item: Any, quantity: Decimal, unit: str | None,
            field: str = "unit") -> Decimal:
    """A quantity in `unit` as the item's base unit."""
    if unit is None or unit == item["unit"]:
        return quantity
    factor = conn.execute(select(item_units.c.factor).where(
        item_units.c.tenant_id == tenant_id, item_units.c.item_id == item["id"], item_units.c.unit == unit)).scalar()
    if factor is None:
        raise ValidationFailed(f"{item['number']} is not counted in {unit} (its unit is {item['unit']})",
                               code="unit_unknown", field=field)
    return quantity * factor


def item_row(conn: Connection, tenant_id: UUID, item_id: UUID, field: str = "item_id") -> Any:
    row = conn.execute(select(items).where(items.c.tenant_id == tenant_id, items.c.id == item_id)).mappings().first()
    if row is None:
        raise NotFound(f"item {item_id} not found", code="item_not_found", field=field)
    return row


