"""Nonconformances: open (by hand, from an out-of-spec inspection or a rejection), edit, disposition, close.

An NC moves open → dispositioned → closed; every step leaves a row in its history. Closing the
disposition is signed (factoryos/signatures): the signature covers `nc_content`, the NC's
substance and the decision, so a later change to any of them shows the signature as no longer
valid. A closed NC is not edited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, insert, select, update

from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.listing import like_pattern
from factoryos.materials.lots import set_lot_status
from factoryos.nonconformances.common import newest_first, next_number, user_names
from factoryos.nonconformances.nc_models import (
    DispositionIn,
    NcEvent,
    NcIn,
    NcOut,
    NcPage,
    NcPatch,
    NcQuery,
    NcSummary,
)
from factoryos.nonconformances.sources import completed
from factoryos.plant.machines import require_machine
from factoryos.schema.jobs import jobs
from factoryos.schema.nonconformances import capa_nonconformances, nonconformance_events, nonconformances
from factoryos.schema.orders import products
from factoryos.schema.plant import machines
from factoryos.signatures.service import signatures_for

RECORD_TYPE = "nonconformance"
SIGNED_FIELDS = ("number", "machine_id", "product_id", "order_id", "lot_id", "quantity", "description",
                 "disposition", "disposition_note", "dispositioned_by")
EDITABLE = ("product_id", "order_id", "lot_id", "quantity", "description")

t = nonconformances


def nc_code(number: int) -> str:
    return f"NC-{number:04d}"


def nc_content(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    """What a closing signature signs: the NC's substance and its disposition."""
    return {"record": RECORD_TYPE, **{k: row[k] for k in SIGNED_FIELDS}}


def require_nc(conn: Connection, tenant_id: UUID, nc_id: UUID, *, for_update: bool = False) -> RowMapping:
    stmt = select(t).where(t.c.tenant_id == tenant_id, t.c.id == nc_id)
    row = conn.execute(stmt.with_for_update() if for_update else stmt).mappings().first()
    if row is None:
        raise NotFound(f"nonconformance {nc_id} not found", code="nonconformance_not_found")
    return row


def _check_refs(conn: Connection, tenant_id: UUID, values: dict[str, Any]) -> None:
    if values.get("product_id") is not None:
        found = conn.execute(select(products.c.id).where(products.c.tenant_id == tenant_id,
                                                         products.c.id == values["product_id"])).first()
        if found is None:
            raise ValidationFailed(f"no product {values['product_id']} in this company", code="unknown_product",
                                   field="product_id")
    if values.get("order_id") is not None:
        found = conn.execute(select(jobs.c.id).where(jobs.c.tenant_id == tenant_id,
                                                     jobs.c.id == values["order_id"])).first()
        if found is None:
            raise ValidationFailed(f"no order {values['order_id']} in this company", code="order_not_found",
                                   field="order_id")


def _event(conn: Connection, tenant_id: UUID, nc_id: UUID, kind: str, from_status: str | None, to_status: str,
           actor_id: UUID | None, details: dict[str, Any]) -> None:
    conn.execute(insert(nonconformance_events).values(
        tenant_id=tenant_id, nonconformance_id=nc_id, kind=kind, from_status=from_status, to_status=to_status,
        actor_id=actor_id, details=_jsonable(details)))


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, (UUID, Decimal, datetime)) else v for k, v in details.items()}


def open_nc(conn: Connection, tenant_id: UUID, user_id: UUID | None, sent: NcIn) -> UUID:
    body = completed(conn, tenant_id, sent)
    assert body.machine_id is not None and body.quantity is not None and body.description is not None
    require_machine(conn, tenant_id, body.machine_id)
    _check_refs(conn, tenant_id, body.model_dump())
    number = next_number(conn, t, tenant_id)
    nc_id = conn.execute(insert(t).values(
        tenant_id=tenant_id, number=number, source=body.source, source_id=body.source_id,
        source_at=body.source_at,
        machine_id=body.machine_id, product_id=body.product_id, order_id=body.order_id, lot_id=body.lot_id,
        quantity=body.quantity, description=body.description, reported_by=user_id,
    ).returning(t.c.id)).scalar_one()
    details: dict[str, Any] = {"quantity": body.quantity, "description": body.description, "source": body.source}
    if body.quarantine_lot:
        if body.lot_id is None:
            raise ValidationFailed("name the lot to put in quarantine", code="lot_required", field="lot_id")
        set_lot_status(conn, tenant_id, body.lot_id, "quarantine", f"{nc_code(number)}: {body.description}")
        details["lot_status"] = "quarantine"
    _event(conn, tenant_id, nc_id, "opened", None, "open", user_id, details)
    return nc_id


def open_from_inspection(conn: Connection, tenant_id: UUID, *, inspection_id: UUID, user_id: UUID | None) -> UUID:
    """An NC for an out-of-specification inspection: machine, product, order, parts and what is wrong from it."""
    return open_nc(conn, tenant_id, user_id, NcIn(source="inspection", source_id=inspection_id))


def update_nc(conn: Connection, tenant_id: UUID, nc_id: UUID, user_id: UUID | None,
              body: NcPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    """Edit an NC that is not closed; (before, after) of the fields that changed."""
    row = require_nc(conn, tenant_id, nc_id, for_update=True)
    if row["status"] == "closed":
        raise Conflict(f"{nc_code(row['number'])} is closed: it is no longer edited", code="nonconformance_closed")
    sent = body.model_dump(exclude_unset=True, exclude={"reason"})
    for name in ("quantity", "description"):
        if name in sent and sent[name] is None:
            raise ValidationFailed(f"{name} cannot be cleared", code="null_not_allowed", field=name)
    _check_refs(conn, tenant_id, sent)
    changed = {k: v for k, v in sent.items() if row[k] != v}
    if not changed:
        return {}, {}
    conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.id == nc_id)
                 .values(**changed, updated_at=datetime.now(UTC)))
    before = _jsonable({k: row[k] for k in changed})
    after = _jsonable(changed)
    _event(conn, tenant_id, nc_id, "edited", row["status"], row["status"], user_id,
           {"before": before, "after": after, "reason": body.reason})
    return before, after


def disposition_nc(conn: Connection, tenant_id: UUID, nc_id: UUID, user_id: UUID | None,
                   body: DispositionIn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decide what happens to the parts (again, while not closed); (before, after)."""
    row = require_nc(conn, tenant_id, nc_id, for_update=True)
    if row["status"] == "closed":
        raise Conflict(f"{nc_code(row['number'])} is closed: its disposition stands", code="nonconformance_closed")
    now = datetime.now(UTC)
    values = {"status": "dispositioned", "disposition": body.disposition, "disposition_note": body.note or None,
              "dispositioned_by": user_id, "dispositioned_at": now}
    conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.id == nc_id).values(**values, updated_at=now))
    before = _jsonable({k: row[k] for k in ("status", "disposition", "disposition_note", "dispositioned_by")})
    after = _jsonable({k: values[k] for k in ("status", "disposition", "disposition_note", "dispositioned_by")})
    _event(conn, tenant_id, nc_id, "dispositioned", row["status"], "dispositioned", user_id,
           {"disposition": body.disposition, "note": body.note})
    return before, after


def check_closable(row: RowMapping) -> None:
    if row["status"] == "closed":
        raise Conflict(f"{nc_code(row['number'])} is already closed", code="nonconformance_closed")
    if row["status"] != "dispositioned":
        raise Conflict(f"{nc_code(row['number'])} has no disposition yet: decide one first",
                       code="nonconformance_not_dispositioned")


def close_nc(conn: Connection, tenant_id: UUID, row: RowMapping, user_id: UUID, signature_id: UUID) -> None:
    now = datetime.now(UTC)
    conn.execute(update(t).where(t.c.tenant_id == tenant_id, t.c.id == row["id"])
                 .values(status="closed", closed_by=user_id, closed_at=now, updated_at=now))
    _event(conn, tenant_id, row["id"], "closed", row["status"], "closed", user_id,
           {"signature_id": signature_id})


# -- read ------------------------------------------------------------------------------------


def _labels(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> tuple[dict, dict, dict, dict]:
    def ids(name: str) -> set[UUID]:
        return {r[name] for r in rows if r[name] is not None}

    mcodes = {r.id: r.code for r in conn.execute(select(machines.c.id, machines.c.code).where(
        machines.c.tenant_id == tenant_id, machines.c.id.in_(ids("machine_id"))))} if ids("machine_id") else {}
    pnums = {r.id: r.number for r in conn.execute(select(products.c.id, products.c.number).where(
        products.c.tenant_id == tenant_id, products.c.id.in_(ids("product_id"))))} if ids("product_id") else {}
    onums = {r.id: r.job_number for r in conn.execute(select(jobs.c.id, jobs.c.job_number).where(
        jobs.c.tenant_id == tenant_id, jobs.c.id.in_(ids("order_id"))))} if ids("order_id") else {}
    names = user_names(conn, [r[k] for r in rows for k in ("dispositioned_by", "closed_by", "reported_by")])
    return mcodes, pnums, onums, names


def summaries(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> list[NcSummary]:
    mcodes, pnums, onums, names = _labels(conn, tenant_id, rows)
    return [NcSummary(
        **{k: r[k] for k in NcSummary.model_fields if k in r},
        code=nc_code(r["number"]), machine_code=mcodes.get(r["machine_id"]), product_number=pnums.get(r["product_id"]),
        order_number=onums.get(r["order_id"]), dispositioned_by_name=names.get(r["dispositioned_by"]),
        closed_by_name=names.get(r["closed_by"]), reported_by_name=names.get(r["reported_by"]),
    ) for r in rows]


def get_nc(conn: Connection, tenant_id: UUID, nc_id: UUID) -> NcOut:
    row = require_nc(conn, tenant_id, nc_id)
    events = list(conn.execute(select(nonconformance_events).where(
        nonconformance_events.c.tenant_id == tenant_id, nonconformance_events.c.nonconformance_id == nc_id)
        .order_by(nonconformance_events.c.at, nonconformance_events.c.id)).mappings())
    names = user_names(conn, [e["actor_id"] for e in events])
    history = [NcEvent(kind=e["kind"], from_status=e["from_status"], to_status=e["to_status"], details=e["details"],
                       actor_id=e["actor_id"], actor_name=names.get(e["actor_id"]), at=e["at"]) for e in events]
    capa_ids = list(conn.execute(select(capa_nonconformances.c.capa_id).where(
        capa_nonconformances.c.tenant_id == tenant_id, capa_nonconformances.c.nonconformance_id == nc_id)).scalars())
    return NcOut(**summaries(conn, tenant_id, [row])[0].model_dump(), history=history,
                 signatures=signatures_for(conn, tenant_id, RECORD_TYPE, nc_id, nc_content(row)), capa_ids=capa_ids)


def list_ncs(conn: Connection, tenant_id: UUID, query: NcQuery) -> NcPage:
    """Newest first, filtered; `q` searches the description."""
    where: list[Any] = [t.c.tenant_id == tenant_id]
    for name in ("status", "machine_id", "product_id", "order_id", "lot_id", "disposition"):
        if getattr(query, name) is not None:
            where.append(t.c[name] == getattr(query, name))
    if query.q:
        where.append(t.c.description.ilike(like_pattern(query.q), escape="\\"))
    rows, cursor = newest_first(conn, t, where, query.cursor, query.limit)
    return NcPage(items=summaries(conn, tenant_id, rows), next_cursor=cursor)
