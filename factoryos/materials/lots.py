"""Lots and serials: numbers generated from the company's pattern or entered; status set by quality.

`set_lot_status` is the entry point for the quality module's nonconformances: a quarantined or
blocked lot can no longer be issued or scanned at a machine.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, String, Uuid, and_, cast, column, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.listing import like_pattern
from factoryos.materials.items import item_row
from factoryos.materials.models import LotIn, LotOut, LotPage, LotQuery, LotStatus
from factoryos.materials.paging import next_cursor, offset_of
from factoryos.materials.quantities import plain
from factoryos.schema.materials import inventory_settings, items, lots, serials, stock

STATUSES: tuple[str, ...] = ("available", "quarantine", "blocked")
_TOKEN = re.compile(r"\{(yyyy|yy|mm|dd|item|seq(?::0?(\d))?)\}")


def check_pattern(pattern: str, field: str = "lot_pattern") -> None:
    rest = _TOKEN.sub("", pattern)
    if "{" in rest or "}" in rest:
        raise ValidationFailed("the pattern has an unknown {token}: use {yyyy} {yy} {mm} {dd} {item} {seq} {seq:04}",
                               code="lot_pattern_invalid", field=field)
    if "{seq" not in pattern:
        raise ValidationFailed("the pattern needs {seq} so that numbers differ", code="lot_pattern_invalid",
                               field=field)


def render_pattern(pattern: str, seq: int, day: date, item_number: str) -> str:
    def token(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("seq"):
            return str(seq).zfill(int(m.group(2) or 0))
        return {"yyyy": f"{day.year:04}", "yy": f"{day.year % 100:02}", "mm": f"{day.month:02}",
                "dd": f"{day.day:02}", "item": item_number}[name]
    return _TOKEN.sub(token, pattern)


def settings(conn: Connection, tenant_id: UUID, *, for_update: bool = False) -> Any:
    conn.execute(pg_insert(inventory_settings).values(tenant_id=tenant_id).on_conflict_do_nothing())
    stmt = select(inventory_settings).where(inventory_settings.c.tenant_id == tenant_id)
    return conn.execute(stmt.with_for_update() if for_update else stmt).mappings().one()


def set_pattern(conn: Connection, tenant_id: UUID, pattern: str) -> tuple[str, str]:
    check_pattern(pattern)
    before = settings(conn, tenant_id, for_update=True)["lot_pattern"]
    conn.execute(update(inventory_settings).where(inventory_settings.c.tenant_id == tenant_id)
                 .values(lot_pattern=pattern))
    return before, pattern


def next_number(conn: Connection, tenant_id: UUID, item: Any, now: datetime) -> str:
    """The next number of the company's pattern (the counter row is locked until commit)."""
    s = settings(conn, tenant_id, for_update=True)
    seq = s["lot_seq"]
    while True:  # skip numbers someone entered by hand
        seq += 1
        number = render_pattern(s["lot_pattern"], seq, now.date(), item["number"])[:60]
        if not conn.execute(select(lots.c.id).where(lots.c.tenant_id == tenant_id, lots.c.item_id == item["id"],
                                                    lots.c.number == number)).first():
            break
    conn.execute(update(inventory_settings).where(inventory_settings.c.tenant_id == tenant_id).values(lot_seq=seq))
    return number


def create_lot(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: LotIn, now: datetime, *,
               origin: str | None = None, quantity: Decimal | None = None, production: dict[str, Any] | None = None
               ) -> Any:
    item = item_row(conn, tenant_id, body.item_id)
    if body.expires_on is not None and not item["has_expiry"]:
        raise ValidationFailed(f"{item['number']} has no expiry dates", code="lot_expiry_not_kept", field="expires_on")
    if body.serials and not item["serialized"]:
        raise ValidationFailed(f"{item['number']} is not serialized", code="lot_not_serialized", field="serials")
    if body.number is None:
        number, kind = next_number(conn, tenant_id, item, now), "generated"
    else:
        number, kind = body.number, "entered"
        if conn.execute(select(lots.c.id).where(lots.c.tenant_id == tenant_id, lots.c.item_id == item["id"],
                                                lots.c.number == number)).first():
            raise Conflict(f"{item['number']} has a lot {number}", code="lot_number_taken", field="number")
    row = conn.execute(insert(lots).values(
        tenant_id=tenant_id, item_id=item["id"], number=number, origin=origin or kind, supplier=body.supplier,
        supplier_lot=body.supplier_lot, expires_on=body.expires_on, quantity=quantity, created_by=user_id,
        **(production or {})).returning(lots)).mappings().one()
    add_serials(conn, tenant_id, item, row["id"], body.serials)
    return row


def add_serials(conn: Connection, tenant_id: UUID, item: Any, lot_id: UUID, numbers: list[str]) -> None:
    """The lot's serial numbers, each unique for the item."""
    if not numbers:
        return
    if len(set(numbers)) != len(numbers):
        raise ValidationFailed("a serial number is given twice", code="serial_duplicate", field="serials")
    taken = conn.execute(select(serials.c.serial).where(serials.c.tenant_id == tenant_id,
                                                        serials.c.item_id == item["id"],
                                                        serials.c.serial.in_(numbers))).scalars().first()
    if taken:
        raise Conflict(f"serial {taken} of {item['number']} exists", code="serial_taken", field="serials")
    conn.execute(insert(serials), [{"tenant_id": tenant_id, "lot_id": lot_id, "item_id": item["id"],
                                    "serial": s} for s in numbers])


def number_serials(conn: Connection, tenant_id: UUID, item: Any, lot: Any, count: int) -> None:
    """One serial per unit made, numbered within the lot (HSG-0007-0001 …), in one statement
    however many. Unique for the item because the lot number is, unless someone entered such a
    serial by hand: then refused (the caller's transaction undoes the lot)."""
    width = max(4, len(str(count)))
    made = conn.execute(pg_insert(serials).from_select(
        ["tenant_id", "lot_id", "item_id", "serial"],
        select(literal(tenant_id, Uuid), literal(lot["id"], Uuid), literal(item["id"], Uuid),
               func.concat(lot["number"][:59 - width], "-", func.lpad(cast(column("g"), String), width, "0")))
        .select_from(func.generate_series(1, count).alias("g"))).on_conflict_do_nothing().returning(serials.c.id))
    if len(made.all()) != count:
        raise Conflict(f"a serial numbered from lot {lot['number']} of {item['number']} exists already",
                       code="serial_taken", field="serials")


def lots_of_serial(conn: Connection, tenant_id: UUID, serial: str, gtin: str | None) -> list[Any]:
    """The lot holding a scanned serial (of the GTIN's item when the label names one); two when
    two items share the serial and no GTIN says which."""
    stmt = (select(lots, items.c.gtin, items.c.number.label("item_number"))
            .join(serials, and_(serials.c.tenant_id == lots.c.tenant_id, serials.c.lot_id == lots.c.id))
            .join(items, and_(items.c.tenant_id == lots.c.tenant_id, items.c.id == lots.c.item_id))
            .where(lots.c.tenant_id == tenant_id, serials.c.serial == serial))
    if gtin:
        stmt = stmt.where(items.c.gtin == gtin)
    return list(conn.execute(stmt.limit(2)).mappings())


def _select(tenant_id: UUID) -> Any:
    on_hand = (select(func.coalesce(func.sum(stock.c.quantity), 0)).where(
        stock.c.tenant_id == tenant_id, stock.c.lot_id == lots.c.id).scalar_subquery())
    return (select(lots, items.c.number.label("item_number"), items.c.name.label("item_name"),
                   on_hand.label("on_hand"))
            .join(items, and_(items.c.tenant_id == lots.c.tenant_id, items.c.id == lots.c.item_id))
            .where(lots.c.tenant_id == tenant_id))


def _out(conn: Connection, tenant_id: UUID, row: Any) -> LotOut:
    numbers = list(conn.execute(select(serials.c.serial).where(serials.c.tenant_id == tenant_id,
                                                               serials.c.lot_id == row["id"])
                                .order_by(serials.c.serial)).scalars())
    q = row["quantity"]
    return LotOut.model_validate(dict(row) | {"serials": numbers, "on_hand": plain(row["on_hand"]),
                                              "quantity": plain(q)})


def get_lot(conn: Connection, tenant_id: UUID, lot_id: UUID, field: str = "lot_id") -> LotOut:
    row = conn.execute(_select(tenant_id).where(lots.c.id == lot_id)).mappings().first()
    if row is None:
        raise NotFound(f"lot {lot_id} not found", code="lot_not_found", field=field)
    return _out(conn, tenant_id, row)


def find_lot(conn: Connection, tenant_id: UUID, number: str, field: str = "lot") -> LotOut:
    """A lot by its number (or id as text); several items' lots of one number: ambiguous."""
    try:
        return get_lot(conn, tenant_id, UUID(number), field)
    except ValueError:
        pass
    rows = list(conn.execute(_select(tenant_id).where(lots.c.number == number).limit(2)).mappings())
    if not rows:
        raise NotFound(f"no lot {number}", code="lot_not_found", field=field)
    if len(rows) > 1:
        raise ValidationFailed(f"lot {number} exists for several items: scan the GS1 label or give the lot's id",
                               code="lot_ambiguous", field=field)
    return _out(conn, tenant_id, rows[0])


def list_lots(conn: Connection, tenant_id: UUID, query: LotQuery) -> LotPage:
    stmt = _select(tenant_id)
    if query.item_id:
        stmt = stmt.where(lots.c.item_id == query.item_id)
    if query.status:
        stmt = stmt.where(lots.c.status == query.status)
    if query.number:
        stmt = stmt.where(lots.c.number == query.number)
    if query.job_id:
        stmt = stmt.where(lots.c.job_id == query.job_id)
    if query.q:
        pattern = like_pattern(query.q)
        stmt = stmt.where(lots.c.number.ilike(pattern, escape="\\") | lots.c.supplier_lot.ilike(pattern, escape="\\"))
    offset = offset_of(query.cursor)
    rows = list(conn.execute(stmt.order_by(lots.c.created_at.desc(), lots.c.id).offset(offset)
                             .limit(query.limit + 1)).mappings())
    return LotPage(items=[_out(conn, tenant_id, r) for r in rows[: query.limit]],
                   next_cursor=next_cursor(offset, query.limit, len(rows)))


def set_lot_status(conn: Connection, tenant_id: UUID, lot_id: UUID, status: LotStatus | str, reason: str
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set a lot available, in quarantine or blocked, with the reason; returns (before, after) for the audit.

    The caller audits (one row per request): e.g. the NC that quarantined it names this lot.
    """
    if status not in STATUSES:
        raise ValidationFailed(f"a lot is {', '.join(STATUSES)}", code="lot_status_invalid", field="status")
    if not reason or not reason.strip():
        raise ValidationFailed("say why the lot's status changes", code="reason_required", field="reason")
    row = conn.execute(select(lots.c.status, lots.c.status_reason).where(lots.c.tenant_id == tenant_id,
                                                                         lots.c.id == lot_id).with_for_update()
                       ).mappings().first()
    if row is None:
        raise NotFound(f"lot {lot_id} not found", code="lot_not_found", field="lot_id")
    conn.execute(update(lots).where(lots.c.tenant_id == tenant_id, lots.c.id == lot_id)
                 .values(status=status, status_reason=reason.strip()[:500]))
    return dict(row), {"status": status, "status_reason": reason.strip()[:500]}
