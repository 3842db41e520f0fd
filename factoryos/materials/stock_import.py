"""Opening stock from CSV/XLSX: a preview with per-row errors, then all or nothing (or the valid rows).

The file is read as the product import reads it (the job import's reader, header re-chosen by
these column names). Each valid row becomes a receipt movement (reason "opening stock") of the
item into the location, into the lot named (made when new, with its supplier and expiry).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from factoryos.errors import ValidationFailed
from factoryos.jobs import cells
from factoryos.jobs.limits import MAX_LISTED_ERRORS
from factoryos.jobs.models import ImportOutcome, RowError
from factoryos.materials.items import to_base
from factoryos.materials.lots import create_lot
from factoryos.materials.models import LotIn
from factoryos.materials.stock import Posting, post
from factoryos.orders.product_import import _columns, _lookup, _read, _refuse_errors, _Row, number_cell
from factoryos.orders.product_models import ProductImportIn
from factoryos.schema.materials import item_units, items, locations, lots

STOCK_ALIASES: dict[str, tuple[str, ...]] = {
    "item": ("item", "item number", "material", "material number", "part", "part number", "article", "sku",
             "artikel", "artikelnummer", "sachnummer"),
    "lot": ("lot", "lot number", "batch", "batch number", "charge", "chargennummer", "los"),
    "location": ("location", "bin", "warehouse", "storage location", "lagerort", "lagerplatz"),
    "quantity": ("quantity", "qty", "on hand", "stock", "menge", "bestand"),
    "unit": ("unit", "uom", "einheit"),
    "supplier": ("supplier", "vendor", "lieferant"),
    "supplier_lot": ("supplier lot", "vendor lot", "supplier batch", "lieferantencharge"),
    "expires_on": ("expiry", "expires", "expiry date", "expiration", "best before", "use by", "mhd", "verfallsdatum"),
}
STOCK_REQUIRED = ("item", "location", "quantity")
_STOCK_LOOKUP = _lookup(STOCK_ALIASES)


class StockImportRow(BaseModel):
    row: int
    valid: bool
    action: Literal["receive", "receive_new_lot"] | None = Field(
        description="receive: into an existing lot (or none); receive_new_lot: the lot is made; null when invalid.")
    item: str | None
    lot: str | None
    location: str | None
    quantity: Decimal | None


class StockImportOut(ImportOutcome):
    received: int = Field(description="Receipts booked (0 in a preview).")
    lots_created: int
    rows: list[StockImportRow]


def _expiry(value: Any) -> Any:
    if cells.text(value) is None and not isinstance(value, datetime):
        return None
    return cells.due_date(value, None)


def import_stock(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: ProductImportIn,
                 max_body_bytes: int, now: datetime) -> StockImportOut:
    sheet, mapping = _read(body, max_body_bytes, _STOCK_LOOKUP, STOCK_REQUIRED, (), "Item, Lot, Location, Quantity")
    item_rows = {r["number"]: r for r in conn.execute(select(items).where(items.c.tenant_id == tenant_id)).mappings()}
    units = {(r["item_id"], r["unit"]) for r in conn.execute(
        select(item_units.c.item_id, item_units.c.unit).where(item_units.c.tenant_id == tenant_id)).mappings()}
    places: dict[str, list[Any]] = {}
    for r in conn.execute(select(locations).where(locations.c.tenant_id == tenant_id,
                                                  locations.c.kind != "site")).mappings():
        places.setdefault(r["code"], []).append(r)
    known_lots: dict[tuple[UUID, str], Any] = {(r["item_id"], r["number"]): r for r in conn.execute(
        select(lots).where(lots.c.tenant_id == tenant_id)).mappings()}
    rows: list[StockImportRow] = []
    errors: list[RowError] = []
    plan: list[dict[str, Any]] = []
    for number, raw in sheet.rows:
        row = _Row(number, raw, mapping)
        for name, limit in (("item", 60), ("lot", 60), ("location", 40), ("unit", 20), ("supplier", 200),
                            ("supplier_lot", 60)):
            row.attempt(name, partial(cells.bounded, label=name.replace("_", " "), limit=limit))
        row.attempt("quantity", partial(number_cell, label="quantity"))
        row.attempt("expires_on", _expiry)
        p = row.parsed
        for name in STOCK_REQUIRED:
            if name in p and p[name] is None:
                row.problem(name, "required", f"{name} is missing")
        item = item_rows.get(p.get("item") or "")
        if p.get("item") and item is None:
            row.problem("item", "item_not_found", f"no item {p['item']}: add it first")
        where = places.get(p.get("location") or "", [])
        if p.get("location") and not where:
            row.problem("location", "location_not_found", f"no location {p['location']}")
        elif len(where) > 1:
            row.problem("location", "location_ambiguous", f"location {p['location']} exists in several sites")
        if p.get("quantity") is not None and p["quantity"] <= 0:
            row.problem("quantity", "quantity_invalid", "quantity must be above zero")
        if item is not None:
            if p.get("unit") and p["unit"] != item["unit"] and (item["id"], p["unit"]) not in units:
                row.problem("unit", "unit_unknown", f"{item['number']} is not counted in {p['unit']}")
            if not p.get("lot") and (item["has_expiry"] or item["serialized"]):
                row.problem("lot", "lot_required", f"{item['number']} is kept by lot: name the lot")
            if p.get("expires_on") and not item["has_expiry"]:
                row.problem("expires_on", "lot_expiry_not_kept", f"{item['number']} has no expiry dates")
        action = None
        if not row.errors and item is not None:
            lot = known_lots.get((item["id"], p["lot"])) if p.get("lot") else None
            action = "receive_new_lot" if p.get("lot") and lot is None else "receive"
            plan.append({**p, "item": item, "lot": lot, "where": where[0], "lot_number": p.get("lot")})
            if action == "receive_new_lot":
                known_lots[(item["id"], p["lot"])] = {"planned": True}  # a second row of the lot receives into it
        rows.append(StockImportRow(row=number, valid=not row.errors, action=action, item=p.get("item"),
                                   lot=p.get("lot"), location=p.get("location"), quantity=p.get("quantity")))
        errors.extend(row.errors)
    invalid = sum(1 for r in rows if not r.valid)
    out = StockImportOut(
        dry_run=body.dry_run, import_id=None, file_name=body.file_name, format=sheet.format,
        delimiter=sheet.delimiter, header_row=sheet.header_row, columns=_columns(mapping), total_rows=len(rows),
        valid_rows=len(rows) - invalid, invalid_rows=invalid, skipped=0, errors=errors[:MAX_LISTED_ERRORS],
        error_count=len(errors), received=0, lots_created=0, rows=rows)
    if body.dry_run:
        return out
    if invalid and not body.skip_invalid:
        raise _refuse_errors(invalid, len(rows), errors)
    if not plan:
        raise ValidationFailed("the file has no valid stock rows to import", code="nothing_to_import", field="content")
    created = 0
    made: dict[tuple[UUID, str], Any] = {}
    for step in plan:
        item, lot = step["item"], step["lot"]
        if step["lot_number"] and (lot is None or "planned" in lot):  # new, or new in an earlier row
            lot = made.get((item["id"], step["lot_number"]))
            if lot is None:
                lot = create_lot(conn, tenant_id, user_id, LotIn(
                    item_id=item["id"], number=step["lot_number"], supplier=step.get("supplier"),
                    supplier_lot=step.get("supplier_lot"), expires_on=step.get("expires_on")), now)
                made[(item["id"], step["lot_number"])] = lot
                created += 1
        base = to_base(conn, tenant_id, item, step["quantity"], step.get("unit"))
        post(conn, tenant_id, user_id, Posting("receipt", item, lot, base, step["quantity"],
                                               step.get("unit") or item["unit"], to_location=step["where"],
                                               reason="opening stock"), now)
    return out.model_copy(update={"import_id": uuid.uuid4(), "received": len(plan), "lots_created": created,
                                  "skipped": invalid})

