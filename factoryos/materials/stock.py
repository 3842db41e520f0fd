"""Stock balances and the movement ledger: every change of a balance is one movement row.

A movement takes from one balance and/or puts into another (item, lot, location) in the same
statement as its ledger row. A balance may go below zero only where the site allows it; the
movement is then flagged `went_negative` and the balance shows as negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.errors import Conflict, ValidationFailed
from factoryos.materials.items import item_row, to_base
from factoryos.materials.locations import allows_negative, location_row
from factoryos.materials.models import (
    MovementIn,
    MovementOut,
    MovementPage,
    MovementQuery,
    StockOut,
    StockPage,
    StockQuery,
)
from factoryos.materials.paging import next_cursor, offset_of
from factoryos.materials.quantities import plain
from factoryos.schema.materials import items, locations, lots, stock, stock_movements
from factoryos.schema.orders import order_operations

# Which side(s) each kind needs: (from, to).
_SIDES: dict[str, tuple[bool, bool]] = {
    "receipt": (False, True), "transfer": (True, True), "issue": (True, False), "return": (False, True),
    "scrap": (True, False), "production_receipt": (False, True),
}
# Kinds that put a lot into use: refused for a lot that is not available or is past its expiry.
_USES = {"issue"}


@dataclass(frozen=True)
class Posting:
    kind: str
    item: Any
    lot: Any | None
    quantity: Decimal  # base unit; an adjustment's sign says which way
    entered_quantity: Decimal
    entered_unit: str
    from_location: Any | None = None
    to_location: Any | None = None
    operation_id: UUID | None = None
    job_id: UUID | None = None
    machine_id: UUID | None = None
    reason: str | None = None


def _change_balance(conn: Connection, tenant_id: UUID, item_id: UUID, lot_id: UUID | None, location: Any,
                    delta: Decimal, field: str, label: str) -> bool:
    """Add `delta` to a balance; returns whether it is now below zero (refused unless the site allows)."""
    new = conn.execute(pg_insert(stock).values(tenant_id=tenant_id, item_id=item_id, lot_id=lot_id,
                                               location_id=location["id"], quantity=delta)
                       .on_conflict_do_update(index_elements=["tenant_id", "item_id", "lot_id", "location_id"],
                                              set_={"quantity": stock.c.quantity + delta, "updated_at": func.now()})
                       .returning(stock.c.quantity)).scalar_one()
    if new >= 0:
        return False
    if not allows_negative(conn, tenant_id, location["site_id"]):
        have = new - delta
        raise Conflict(f"only {have.normalize():f} of {label} at {location['code']}: "
                       f"{(-delta).normalize():f} asked", code="insufficient_stock", field=field,
                       extra={"available": str(plain(have))})
    return True


def post(conn: Connection, tenant_id: UUID, user_id: UUID | None, p: Posting, now: datetime | None = None) -> MovementOut:
    label = p.item["number"] + (f" lot {p.lot['number']}" if p.lot is not None else "")
    negative = False
    lot_id = p.lot["id"] if p.lot is not None else None
    if p.from_location is not None:
        negative |= _change_balance(conn, tenant_id, p.item["id"], lot_id, p.from_location, -p.quantity,
                                    "quantity", label)
    if p.to_location is not None:
        negative |= _change_balance(conn, tenant_id, p.item["id"], lot_id, p.to_location, p.quantity,
                                    "quantity", label)
    row = conn.execute(insert(stock_movements).values(
        tenant_id=tenant_id, kind=p.kind, item_id=p.item["id"], lot_id=lot_id,
        from_location_id=p.from_location["id"] if p.from_location is not None else None,
        to_location_id=p.to_location["id"] if p.to_location is not None else None,
        quantity=p.quantity, entered_quantity=p.entered_quantity, entered_unit=p.entered_unit,
        operation_id=p.operation_id, job_id=p.job_id, machine_id=p.machine_id, reason=p.reason,
        went_negative=negative, user_id=user_id, **({"at": now} if now else {}))
        .returning(stock_movements)).mappings().one()
    return movement_out(row)


def movement_out(row: Any) -> MovementOut:
    return MovementOut.model_validate(dict(row) | {"quantity": plain(row["quantity"]),
                                                   "entered_quantity": plain(row["entered_quantity"])})


def check_usable(lot: Any, today: date, field: str = "lot_id") -> None:
    """A lot that may go into production: available and not past its expiry date."""
    if lot["status"] != "available":
        why = f" ({lot['status_reason']})" if lot.get("status_reason") else ""
        if lot["status"] == "blocked":
            raise Conflict(f"lot {lot['number']} is blocked{why}", code="lot_blocked", field=field)
        raise Conflict(f"lot {lot['number']} is in quarantine{why}", code="lot_quarantine", field=field)
    if lot["expires_on"] is not None and lot["expires_on"] < today:
        raise Conflict(f"lot {lot['number']} expired on {lot['expires_on'].isoformat()}", code="lot_expired",
                       field=field)


def _operation(conn: Connection, tenant_id: UUID, operation_id: UUID) -> Any:
    row = conn.execute(select(order_operations.c.id, order_operations.c.job_id, order_operations.c.machine_id)
                       .where(order_operations.c.tenant_id == tenant_id, order_operations.c.id == operation_id)
                       ).mappings().first()
    if row is None:
        raise ValidationFailed("no order operation has this id", code="operation_not_found", field="operation_id")
    return row


def record_movement(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: MovementIn, now: datetime
                    ) -> MovementOut:
    """A movement entered by hand (or by a scanner at the stores)."""
    item = item_row(conn, tenant_id, body.item_id)
    lot = None
    if body.lot_id is not None:
        lot = conn.execute(select(lots).where(lots.c.tenant_id == tenant_id, lots.c.id == body.lot_id)
                           ).mappings().first()
        if lot is None:
            raise ValidationFailed("no lot has this id", code="lot_not_found", field="lot_id")
        if lot["item_id"] != item["id"]:
            raise ValidationFailed(f"lot {lot['number']} is not of {item['number']}", code="lot_wrong_item",
                                   field="lot_id")
    if body.kind == "adjustment":
        if body.quantity == 0:
            raise ValidationFailed("an adjustment changes the balance", code="quantity_invalid", field="quantity")
        if not body.reason:
            raise ValidationFailed("say why the stock is adjusted", code="reason_required", field="reason")
        where = body.to_location_id or body.from_location_id
        if where is None:
            raise ValidationFailed("an adjustment names its location", code="location_required",
                                   field="to_location_id")
        sides = (False, True)
    else:
        if body.quantity <= 0:
            raise ValidationFailed("the quantity is above zero", code="quantity_invalid", field="quantity")
        sides = _SIDES[body.kind]
        if body.kind == "scrap" and not body.reason:
            raise ValidationFailed("say why it is scrapped", code="reason_required", field="reason")
    for needed, given, name in ((sides[0], body.from_location_id, "from_location_id"),
                                (sides[1], body.to_location_id, "to_location_id")):
        if needed and given is None and body.kind != "adjustment":
            raise ValidationFailed(f"a {body.kind} names {name.split('_')[0]} where", code="location_required",
                                   field=name)
        if not needed and given is not None and body.kind != "adjustment":
            raise ValidationFailed(f"a {body.kind} has no {name.split('_')[0]} location", code="location_unexpected",
                                   field=name)
    if lot is None and (item["serialized"] or item["has_expiry"]):
        raise ValidationFailed(f"{item['number']} is kept by lot: name the lot", code="lot_required",
                                   field="lot_id")
    if body.kind in _USES and lot is not None:
        check_usable(lot, now.date())
    operation = None
    if body.kind in ("issue", "return"):
        if body.operation_id is None:
            raise ValidationFailed(f"an {body.kind} is for an order operation", code="operation_required",
                                   field="operation_id")
        operation = _operation(conn, tenant_id, body.operation_id)
    elif body.operation_id is not None:
        raise ValidationFailed("only issues and returns name an operation", code="operation_unexpected",
                               field="operation_id")
    base = to_base(conn, tenant_id, item, abs(body.quantity), body.unit) * (-1 if body.quantity < 0 else 1)
    if body.kind == "adjustment":
        loc = location_row(conn, tenant_id, body.to_location_id or body.from_location_id,  # type: ignore[arg-type]
                           "to_location_id" if body.to_location_id else "from_location_id")
        return post(conn, tenant_id, user_id, Posting(
            "adjustment", item, lot, base, body.quantity, body.unit or item["unit"], to_location=loc,
            reason=body.reason))
    frm = location_row(conn, tenant_id, body.from_location_id, "from_location_id") if body.from_location_id else None
    to = location_row(conn, tenant_id, body.to_location_id, "to_location_id") if body.to_location_id else None
    if frm is not None and to is not None and frm["id"] == to["id"]:
        raise ValidationFailed("from and to are the same location", code="location_same", field="to_location_id")
    return post(conn, tenant_id, user_id, Posting(
        body.kind, item, lot, base, body.quantity, body.unit or item["unit"], from_location=frm, to_location=to,
        operation_id=operation["id"] if operation else None, job_id=operation["job_id"] if operation else None,
        machine_id=operation["machine_id"] if operation else None, reason=body.reason))


def list_movements(conn: Connection, tenant_id: UUID, query: MovementQuery) -> MovementPage:
    stmt = select(stock_movements).where(stock_movements.c.tenant_id == tenant_id)
    for name in ("item_id", "lot_id", "operation_id", "kind"):
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(stock_movements.c[name] == value)
    offset = offset_of(query.cursor)
    rows = list(conn.execute(stmt.order_by(stock_movements.c.id.desc()).offset(offset).limit(query.limit + 1))
                .mappings())
    return MovementPage(items=[movement_out(r) for r in rows[: query.limit]],
                        next_cursor=next_cursor(offset, query.limit, len(rows)))


def list_stock(conn: Connection, tenant_id: UUID, query: StockQuery) -> StockPage:
    stmt = (select(stock.c.item_id, items.c.number.label("item_number"), stock.c.lot_id,
                   lots.c.number.label("lot_number"), lots.c.status.label("lot_status"), stock.c.location_id,
                   locations.c.code.label("location_code"), stock.c.quantity)
            .join(items, and_(items.c.tenant_id == stock.c.tenant_id, items.c.id == stock.c.item_id))
            .join(locations, and_(locations.c.tenant_id == stock.c.tenant_id, locations.c.id == stock.c.location_id))
            .outerjoin(lots, and_(lots.c.tenant_id == stock.c.tenant_id, lots.c.id == stock.c.lot_id))
            .where(stock.c.tenant_id == tenant_id, stock.c.quantity != 0))
    for name in ("item_id", "lot_id", "location_id"):
        value = getattr(query, name)
        if value is not None:
            stmt = stmt.where(stock.c[name] == value)
    if query.site_id is not None:
        stmt = stmt.where(locations.c.site_id == query.site_id)
    offset = offset_of(query.cursor)
    rows = list(conn.execute(stmt.order_by(items.c.number, lots.c.number, locations.c.code).offset(offset)
                             .limit(query.limit + 1)).mappings())
    return StockPage(items=[StockOut.model_validate(dict(r) | {"quantity": plain(r["quantity"]),
                                                               "negative": r["quantity"] < 0})
                            for r in rows[: query.limit]],
                     next_cursor=next_cursor(offset, query.limit, len(rows)))


def lot_balances(conn: Connection, tenant_id: UUID, lot_id: UUID) -> list[Any]:
    """Where a lot is, most first: consumption takes from the line side, then the fullest location."""
    return list(conn.execute(
        select(stock.c.quantity, locations).join(locations, and_(locations.c.tenant_id == stock.c.tenant_id,
                                                                 locations.c.id == stock.c.location_id))
        .where(stock.c.tenant_id == tenant_id, stock.c.lot_id == lot_id, stock.c.quantity > 0)
        .order_by(stock.c.quantity.desc())).mappings())

