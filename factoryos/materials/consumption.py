"""Material at the machine: a scanned lot is checked and consumed by the running operation;
the operation's output becomes a finished lot linked to every lot it consumed.

Consumption is either booked when scanned (a quantity given) or backflushed when the finished
lot is made: BOM quantity per unit × made × (1 + scrap allowance), less what was issued to the
operation already, taken from the lots loaded for the item in the order they were scanned.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, case, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.materials.boms import released_bom
from factoryos.materials.gs1 import ScanRead, parse_scan
from factoryos.materials.items import item_for_product, to_base
from factoryos.materials.locations import allows_negative, line_side, location_row
from factoryos.materials.lots import create_lot, get_lot, lots_of_serial, number_serials
from factoryos.materials.models import LotIn, MovementOut
from factoryos.materials.quantities import plain
from factoryos.materials.scan_models import ConsumedOut, OutputIn, OutputOut, ScanIn, ScanOut
from factoryos.materials.stock import Posting, check_usable, lot_balances, post
from factoryos.orders.progress import operation_counts
from factoryos.orders.runs import open_run, require_machine
from factoryos.schema.jobs import jobs
from factoryos.schema.materials import items, lot_links, lot_loads, lots, stock_movements
from factoryos.schema.orders import order_operations


def _lot_from_scan(conn: Connection, tenant_id: UUID, read: ScanRead) -> Any:
    if not read.lot and read.serial:
        # A serialized part's label (01 GTIN, 21 serial) names no lot: the serial says which.
        found = lots_of_serial(conn, tenant_id, read.serial, read.gtin)
        if not found:
            raise NotFound(f"serial {read.serial} was never made or received", code="lot_not_found", field="code")
        if len(found) > 1:
            raise ValidationFailed(f"serial {read.serial} exists for several items: scan the GS1 label",
                                   code="lot_ambiguous", field="code")
        return found[0]
    if not read.lot:
        raise ValidationFailed(f"no lot number in {read.read}", code="scan_no_lot", field="code")
    rows = list(conn.execute(select(lots, items.c.gtin, items.c.number.label("item_number"))
                             .join(items, and_(items.c.tenant_id == lots.c.tenant_id, items.c.id == lots.c.item_id))
                             .where(lots.c.tenant_id == tenant_id, lots.c.number == read.lot).limit(20)).mappings())
    if not rows:
        raise NotFound(f"lot {read.lot} was never received", code="lot_not_found", field="code")
    if read.gtin:
        matching = [r for r in rows if r["gtin"] == read.gtin]
        if not matching:
            raise Conflict(f"lot {read.lot} is {rows[0]['item_number']}, the label says GTIN {read.gtin}",
                           code="lot_wrong_item", field="code")
        rows = matching
    if len(rows) > 1:
        raise ValidationFailed(f"lot {read.lot} exists for several items: scan the GS1 label",
                               code="lot_ambiguous", field="code")
    return rows[0]


def _issue_from(conn: Connection, tenant_id: UUID, user_id: UUID | None, item: Any, lot: Any, quantity: Decimal,
                entered: tuple[Decimal, str], operation: Any, machine_id: UUID, now: datetime) -> list[MovementOut]:
    """Issue from where the lot is: the machine's line side first, then the fullest location; what
    none of them holds comes from the first (refused there unless its site allows negative stock)."""
    here = line_side(conn, tenant_id, machine_id)
    places = sorted(lot_balances(conn, tenant_id, lot["id"]), key=lambda r: (r["id"] != here["id"], -r["quantity"]))
    total = sum((p["quantity"] for p in places), Decimal(0))
    if quantity > total and not allows_negative(conn, tenant_id, here["site_id"]):
        raise Conflict(f"only {plain(total)} {item['unit']} of {item['number']} lot {lot['number']} in stock: "
                       f"{plain(quantity)} asked", code="insufficient_stock", field="quantity",
                       extra={"available": str(plain(total))})
    out: list[MovementOut] = []
    left = quantity
    for place in places:
        take = min(left, place["quantity"])
        if take <= 0:
            continue
        shown_qty, shown_unit = entered if take == quantity else (take, item["unit"])
        out.append(post(conn, tenant_id, user_id, Posting(
            "issue", item, lot, take, shown_qty, shown_unit,
            from_location=place, operation_id=operation["id"], job_id=operation["job_id"], machine_id=machine_id),
            now))
        left -= take
    if left > 0:
        where = places[0] if places else here
        out.append(post(conn, tenant_id, user_id, Posting(
            "issue", item, lot, left, left, item["unit"], from_location=where, operation_id=operation["id"],
            job_id=operation["job_id"], machine_id=machine_id), now))
    return out


def scan_at_machine(conn: Connection, tenant_id: UUID, user_id: UUID | None, machine_id: UUID, body: ScanIn,
                    now: datetime) -> ScanOut:
    machine = require_machine(conn, tenant_id, machine_id)
    read = parse_scan(body.code)
    run = open_run(conn, tenant_id, machine_id)
    if run is None:
        raise Conflict(f"nothing runs on {machine['code']}: start the order first", code="no_operation_running",
                       field="code")
    operation = conn.execute(select(order_operations).where(order_operations.c.tenant_id == tenant_id,
                                                            order_operations.c.id == run["operation_id"])
                             ).mappings().one()
    order = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == operation["job_id"])
                         ).mappings().one()
    lot = _lot_from_scan(conn, tenant_id, read)
    item = conn.execute(select(items).where(items.c.tenant_id == tenant_id, items.c.id == lot["item_id"])
                        ).mappings().one()
    if order["product_id"] is None:
        raise Conflict(f"order {order['job_number']} names no product: no bill of materials to check",
                       code="bom_missing", field="code")
    bom = released_bom(conn, tenant_id, order["product_id"])
    if bom is None:
        raise Conflict(f"order {order['job_number']}'s product has no released bill of materials",
                       code="bom_missing", field="code")
    if item["id"] not in {line.item_id for line in bom.lines}:
        wanted = ", ".join(line.item_number for line in bom.lines)
        raise Conflict(f"{item['number']} is not on the bill of materials of {order['job_number']} ({wanted})",
                       code="lot_not_on_bom", field="code")
    check_usable(lot, now.date(), field="code")
    if read.expiry is not None and read.expiry < now.date():
        raise Conflict(f"the label says lot {lot['number']} expired on {read.expiry.isoformat()}",
                       code="lot_expired", field="code")
    load = conn.execute(insert(lot_loads).values(
        tenant_id=tenant_id, operation_id=operation["id"], machine_id=machine_id, lot_id=lot["id"],
        item_id=item["id"], code=read.read[:200], user_id=user_id, loaded_at=now).returning(lot_loads.c.id)
    ).scalar_one()
    movements: list[MovementOut] = []
    if body.quantity is not None:
        base = to_base(conn, tenant_id, item, body.quantity, body.unit)
        movements = _issue_from(conn, tenant_id, user_id, item, lot, base, (body.quantity, body.unit or item["unit"]),
                                operation, machine_id, now)
        message = f"{body.quantity.normalize():f} {body.unit or item['unit']} of {item['number']} lot {lot['number']} used"
    else:
        message = f"{item['number']} lot {lot['number']} loaded for {order['job_number']}"
    return ScanOut(read=read, lot=get_lot(conn, tenant_id, lot["id"]), operation_id=operation["id"],
                   order_number=order["job_number"], load_id=load, movements=movements, message=message)


def order_operation_ids(conn: Connection, tenant_id: UUID, job_id: UUID) -> list[UUID]:
    return list(conn.execute(select(order_operations.c.id).where(order_operations.c.tenant_id == tenant_id,
                                                                 order_operations.c.job_id == job_id)).scalars())


def _issued(conn: Connection, tenant_id: UUID, operation_ids: list[UUID]) -> list[Any]:
    """Net quantity issued to the operations per (item, lot): issues less returns."""
    signed = case((stock_movements.c.kind == "return", -stock_movements.c.quantity), else_=stock_movements.c.quantity)
    return list(conn.execute(
        select(stock_movements.c.item_id, stock_movements.c.lot_id, func.sum(signed).label("quantity"))
        .where(stock_movements.c.tenant_id == tenant_id, stock_movements.c.operation_id.in_(operation_ids),
               stock_movements.c.kind.in_(("issue", "return")))
        .group_by(stock_movements.c.item_id, stock_movements.c.lot_id)).mappings())


def made_before(conn: Connection, tenant_id: UUID, job_id: UUID) -> Decimal:
    """What the order has already put in finished lots."""
    return Decimal(conn.execute(select(func.coalesce(func.sum(stock_movements.c.quantity), 0)).where(
        stock_movements.c.tenant_id == tenant_id, stock_movements.c.job_id == job_id,
        stock_movements.c.kind == "production_receipt")).scalar_one())


def produce_output(conn: Connection, tenant_id: UUID, user_id: UUID | None, operation_id: UUID, body: OutputIn,
                   now: datetime) -> OutputOut:
    operation = conn.execute(select(order_operations).where(order_operations.c.tenant_id == tenant_id,
                                                            order_operations.c.id == operation_id)
                             .with_for_update()).mappings().first()
    if operation is None:
        raise NotFound(f"operation {operation_id} not found", code="operation_not_found")
    order = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == operation["job_id"])
                         ).mappings().one()
    if order["product_id"] is None:
        raise Conflict(f"order {order['job_number']} names no product to make a lot of", code="bom_missing")
    machine_id = operation["machine_id"]
    if machine_id is None:
        raise Conflict("the operation has not run on a machine", code="operation_not_run")
    product_item = item_for_product(conn, tenant_id, order["product_id"])
    made = made_before(conn, tenant_id, order["id"])
    quantity = body.quantity
    if quantity is None:
        good = operation_counts(conn, tenant_id, [operation_id])[operation_id][0]
        quantity = Decimal(good) - made
        if quantity <= 0:
            raise Conflict(f"{good} good parts counted, {made.normalize():f} already in lots: "
                           "nothing left to put in a lot", code="output_nothing_made", field="quantity")
    # The order's lot holds what any of its operations consumed (an earlier operation's scans too).
    operation_ids = order_operation_ids(conn, tenant_id, order["id"])
    where = (location_row(conn, tenant_id, body.location_id) if body.location_id
             else line_side(conn, tenant_id, machine_id))
    # Backflush what the BOM says the lot consumed, from the lots scanned for it.
    backflushed: list[MovementOut] = []
    missing: list[str] = []
    bom = released_bom(conn, tenant_id, order["product_id"])
    issued: dict[UUID, Decimal] = {}
    for r in _issued(conn, tenant_id, operation_ids):
        issued[r["item_id"]] = issued.get(r["item_id"], Decimal(0)) + r["quantity"]
    for line in bom.lines if bom else []:
        need = line.quantity * (made + quantity) * (1 + line.scrap_percent / 100) - issued.get(line.item_id, 0)
        loaded = list(conn.execute(select(lot_loads.c.lot_id).where(
            lot_loads.c.tenant_id == tenant_id, lot_loads.c.operation_id.in_(operation_ids),
            lot_loads.c.item_id == line.item_id).group_by(lot_loads.c.lot_id)
            .order_by(func.min(lot_loads.c.loaded_at))).scalars())
        if not loaded:
            if line.item_id not in issued:
                missing.append(line.item_number)
            continue
        item = conn.execute(select(items).where(items.c.tenant_id == tenant_id, items.c.id == line.item_id)
                            ).mappings().one()
        for i, lot_id in enumerate(loaded):
            if need <= 0:
                break
            lot = conn.execute(select(lots).where(lots.c.tenant_id == tenant_id, lots.c.id == lot_id)).mappings().one()
            have = sum((b["quantity"] for b in lot_balances(conn, tenant_id, lot_id)), Decimal(0))
            take = need if i == len(loaded) - 1 else min(need, have)
            if take > 0:
                backflushed += _issue_from(conn, tenant_id, user_id, item, lot, take, (take, item["unit"]),
                                           operation, machine_id, now)
                need -= take
    if body.serials and product_item["serialized"] and len(body.serials) != quantity:
        raise ValidationFailed(f"{len(body.serials)} serial number(s) for {plain(quantity)} made: one per unit",
                               code="quantity_invalid", field="serials")
    lot_row = create_lot(conn, tenant_id, user_id, LotIn(item_id=product_item["id"], number=body.number,
                                                         serials=body.serials), now,
                         origin="production", quantity=quantity,
                         production={"job_id": order["id"], "operation_id": operation_id, "machine_id": machine_id})
    if product_item["serialized"] and not body.serials and quantity == quantity.to_integral_value():
        # A serialized product: one serial per unit made, numbered within its lot.
        number_serials(conn, tenant_id, product_item, lot_row, int(quantity))
    receipt = post(conn, tenant_id, user_id, Posting(
        "production_receipt", product_item, lot_row, quantity, quantity, product_item["unit"], to_location=where,
        operation_id=operation_id, job_id=order["id"], machine_id=machine_id), now)
    consumed = [r for r in _issued(conn, tenant_id, operation_ids) if r["lot_id"] is not None and r["quantity"] > 0]
    if consumed:
        conn.execute(pg_insert(lot_links).values([
            {"tenant_id": tenant_id, "output_lot_id": lot_row["id"], "input_lot_id": r["lot_id"],
             "quantity": r["quantity"], "operation_id": operation_id} for r in consumed]).on_conflict_do_nothing())
    names = {r["id"]: r for r in conn.execute(
        select(lots.c.id, lots.c.number, items.c.number.label("item_number"))
        .join(items, and_(items.c.tenant_id == lots.c.tenant_id, items.c.id == lots.c.item_id))
        .where(lots.c.tenant_id == tenant_id, lots.c.id.in_([r["lot_id"] for r in consumed]))).mappings()}
    return OutputOut(
        lot=get_lot(conn, tenant_id, lot_row["id"]), receipt=receipt, backflushed=backflushed, missing=missing,
        consumed=[ConsumedOut(lot_id=r["lot_id"], lot_number=names[r["lot_id"]]["number"],
                              item_number=names[r["lot_id"]]["item_number"], quantity=plain(r["quantity"]))
                  for r in consumed])
