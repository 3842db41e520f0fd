"""Genealogy: every lot that went into a lot (backward), every lot made from it (forward).

One set-based query, whatever the size of the tree: a recursive walk over `lot_links` (indexed
both ways) finds the links level by level (`union`, not `union all`, keeps a lot reached twice by
one path once); the details of every distinct lot found (item, supplier, order, machine, the
operators who ran or loaded it) are joined once per lot and sent on the lot's first row only —
a recall lot used 2,000 times reaches ~8,700 lots by ~10,900 paths. The answer carries each
lot's details once (`details`) beside the light list of links (`nodes`), and is validated by
pydantic's core from plain dicts (faster than constructing ~20,000 models in Python); quantities
come without trailing zeros from PostgreSQL (`trim_scale`), not reformatted in Python.

Then the quality records touching the tree: inspections of the orders (or operations) that made
its lots, and nonconformances naming one of its lots or those orders. The quality tables are
read here (factoryos.schema), not the quality packages, which import materials themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Connection, Row, Text, Uuid, and_, any_, cast, literal, or_, select, text

from factoryos import collector
from factoryos.materials.lots import find_lot
from factoryos.materials.quantities import plain
from factoryos.materials.trace_models import Direction, TraceInspection, TraceNonconformance, TraceOut
from factoryos.schema.jobs import jobs
from factoryos.schema.materials import lots
from factoryos.schema.nonconformances import nonconformances as ncs
from factoryos.schema.plant import machines
from factoryos.schema.quality import inspection_plans, inspections

MAX_NODES = 50_000
MAX_LEVELS = 100
MAX_QUALITY = 5_000  # inspections, and nonconformances, listed per trace

# {frm} is the link column matching the current lot, {to} the one found (fixed per direction).
_TRACE = """
with recursive walk(lot_id, via_lot_id, level, quantity) as (
    select cast(:root as uuid), cast(null as uuid), 0, cast(null as numeric)
  union
    select l.{to}, w.lot_id, w.level + 1, trim_scale(l.quantity)
    from walk w
    join lot_links l on l.tenant_id = :t and l.{frm} = w.lot_id
    where w.level < :max_levels
), found as materialized (
    select k.*, row_number() over (partition by k.lot_id order by k.level, k.via_lot_id) = 1 as first
    from (select * from walk order by level, lot_id limit :max_nodes) k
), info as materialized (
    -- each lot once, however many paths reach it
    select lo.id, lo.number, lo.origin, lo.status, lo.supplier, lo.supplier_lot, lo.expires_on,
           trim_scale(lo.quantity) as quantity,
           lo.operation_id, lo.job_id, i.number as item_number, i.name as item_name, i.unit, j.job_number,
           m.code as machine_code
    from found d
    join lots lo on lo.tenant_id = :t and lo.id = d.lot_id
    join items i on i.tenant_id = :t and i.id = lo.item_id
    left join jobs j on j.tenant_id = :t and j.id = lo.job_id
    left join machines m on m.tenant_id = :t and m.id = lo.machine_id
    where d.first
), people as (
    -- who ran the operation that made the lot, and who loaded the lot at a machine
    select x.lot_id, array_agg(distinct coalesce(u.display_name, u.email)) as operators
    from (select f.id as lot_id, r.operator_id as user_id from info f
            join operation_runs r on r.tenant_id = :t and r.operation_id = f.operation_id
          union
          select d.lot_id, d.user_id from lot_loads d where d.tenant_id = :t and d.lot_id in (select id from info)
         ) x
    join users u on u.id = x.user_id
    group by x.lot_id
), loads as (
    -- the orders and machines a lot is loaded for: where it is used before any lot is made from it
    select d.lot_id, array_agg(distinct j.job_number) as load_orders, array_agg(distinct m.code) as load_machines
    from lot_loads d
    join order_operations op on op.tenant_id = :t and op.id = d.operation_id
    join jobs j on j.tenant_id = :t and j.id = op.job_id
    join machines m on m.tenant_id = :t and m.id = d.machine_id
    where d.tenant_id = :t and d.lot_id in (select id from info)
    group by d.lot_id
)
-- the details only on a lot's first row (null columns cost next to nothing on the wire)
select f.lot_id, f.via_lot_id, f.level, f.quantity, f.first,
       i.number, i.origin, i.status, i.supplier, i.supplier_lot, i.expires_on, i.quantity, i.item_number,
       i.item_name, i.job_number, i.machine_code, p.operators, i.job_id, i.operation_id, i.unit,
       ld.load_orders, ld.load_machines
from found f
join info o on o.id = f.lot_id
left join info i on f.first and i.id = f.lot_id
left join people p on f.first and p.lot_id = f.lot_id
left join loads ld on f.first and ld.lot_id = f.lot_id
order by f.level, o.item_number, o.number
"""
SQL: dict[str, str] = {
    "backward": _TRACE.format(frm="output_lot_id", to="input_lot_id"),
    "forward": _TRACE.format(frm="input_lot_id", to="output_lot_id"),
}


def fetch(conn: Connection, tenant_id: UUID, root_id: UUID, direction: Direction) -> Sequence[Row[Any]]:
    """The tree's rows (the benchmark times this alone)."""
    return conn.execute(text(SQL[direction]), {"t": tenant_id, "root": root_id, "max_levels": MAX_LEVELS,
                                               "max_nodes": MAX_NODES + 1}).all()


def _uuids(values: Iterable[UUID]) -> Any:
    """An array parameter sent as one text literal: psycopg's list dumper checks each element
    with a regular expression (~150 ms for the 8,700 lots of a recall), the server parses it in
    a few."""
    return cast(literal("{" + ",".join(map(str, values)) + "}", Text), ARRAY(Uuid))


def _inspections(conn: Connection, tenant_id: UUID, by_job: dict[UUID, list[UUID]],
                 by_operation: dict[UUID, list[UUID]]) -> list[TraceInspection]:
    if not by_job and not by_operation:
        return []
    rows = conn.execute(
        select(inspections.c.id, inspections.c.job_id, inspections.c.operation_id, inspections.c.result,
               inspections.c.out_of_spec, inspections.c.recorded_at, inspection_plans.c.name.label("plan_name"),
               jobs.c.job_number, machines.c.code.label("machine_code"))
        .join(inspection_plans, and_(inspection_plans.c.tenant_id == inspections.c.tenant_id,
                                     inspection_plans.c.id == inspections.c.plan_id))
        .join(machines, and_(machines.c.tenant_id == inspections.c.tenant_id, machines.c.id == inspections.c.machine_id))
        .outerjoin(jobs, and_(jobs.c.tenant_id == inspections.c.tenant_id, jobs.c.id == inspections.c.job_id))
        .where(inspections.c.tenant_id == tenant_id,
               or_(inspections.c.job_id == any_(_uuids(by_job)),
                   inspections.c.operation_id == any_(_uuids(by_operation))))
        .order_by(inspections.c.recorded_at, inspections.c.id).limit(MAX_QUALITY)).mappings()
    out = []
    for r in rows:
        touched = dict.fromkeys(by_job.get(r["job_id"], []) + by_operation.get(r["operation_id"], []))
        out.append(TraceInspection(
            id=r["id"], lot_ids=list(touched), plan_name=r["plan_name"], order_number=r["job_number"],
            machine_code=r["machine_code"], result=r["result"], out_of_spec=r["out_of_spec"],
            recorded_at=r["recorded_at"]))
    return out


def _nonconformances(conn: Connection, tenant_id: UUID, lot_ids: set[UUID], by_job: dict[UUID, list[UUID]]
                     ) -> list[TraceNonconformance]:
    rows = conn.execute(
        select(ncs.c.id, ncs.c.number, ncs.c.lot_id, ncs.c.order_id, ncs.c.status, ncs.c.disposition,
               ncs.c.quantity, ncs.c.description, ncs.c.created_at, lots.c.number.label("lot_number"),
               jobs.c.job_number, machines.c.code.label("machine_code"))
        .join(machines, and_(machines.c.tenant_id == ncs.c.tenant_id, machines.c.id == ncs.c.machine_id))
        .outerjoin(lots, and_(lots.c.tenant_id == ncs.c.tenant_id, lots.c.id == ncs.c.lot_id))
        .outerjoin(jobs, and_(jobs.c.tenant_id == ncs.c.tenant_id, jobs.c.id == ncs.c.order_id))
        .where(ncs.c.tenant_id == tenant_id,
               or_(ncs.c.lot_id == any_(_uuids(lot_ids)), ncs.c.order_id == any_(_uuids(by_job))))
        .order_by(ncs.c.created_at, ncs.c.id).limit(MAX_QUALITY)).mappings()
    out = []
    for r in rows:
        touched = dict.fromkeys(([r["lot_id"]] if r["lot_id"] in lot_ids else []) + by_job.get(r["order_id"], []))
        # As nonconformances.service.nc_code says it (not imported: that package imports this one).
        number = f"NC-{r['number']:04d}"
        out.append(TraceNonconformance(
            id=r["id"], code=number, lot_ids=list(touched), lot_number=r["lot_number"],
            order_number=r["job_number"], machine_code=r["machine_code"], status=r["status"],
            disposition=r["disposition"], quantity=plain(r["quantity"]), description=r["description"],
            created_at=r["created_at"]))
    return out


def trace(conn: Connection, tenant_id: UUID, lot: str, direction: Direction) -> TraceOut:
    root = find_lot(conn, tenant_id, lot, field="lot")
    with collector.paused():
        return _trace(conn, tenant_id, root.id, root.number, direction)


def _trace(conn: Connection, tenant_id: UUID, root_id: UUID, root_number: str, direction: Direction) -> TraceOut:
    rows = fetch(conn, tenant_id, root_id, direction)
    truncated = len(rows) > MAX_NODES
    nodes: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    by_job: dict[UUID, list[UUID]] = defaultdict(list)
    by_operation: dict[UUID, list[UUID]] = defaultdict(list)
    used_in: set[str] = set()  # orders and machines lots are loaded for (in use, maybe nothing made yet)
    used_at: set[str] = set()
    for row in rows[:MAX_NODES]:
        (lot_id, via, level, link_qty, first, number, origin, status, supplier, supplier_lot, expires_on, quantity,
         item_number, item_name, order_number, machine_code, operators, job_id, operation_id, unit,
         load_orders, load_machines) = tuple(row)
        nodes.append({"lot_id": lot_id, "via_lot_id": via, "level": level, "quantity": link_qty})
        if not first:
            continue
        details.append({
            "lot_id": lot_id, "lot_number": number, "origin": origin, "status": status, "item_number": item_number,
            "item_name": item_name, "unit": unit, "supplier": supplier, "supplier_lot": supplier_lot, "expires_on": expires_on,
            "lot_quantity": quantity, "order_number": order_number, "machine_code": machine_code,
            "operators": operators or []})
        used_in.update(load_orders or ())
        used_at.update(load_machines or ())
        if job_id is not None:
            by_job[job_id].append(lot_id)
        if operation_id is not None:
            by_operation[operation_id].append(lot_id)

    def distinct(key: str, more: Iterable[str] = ()) -> list[str]:
        return sorted({d[key] for d in details if d[key]} | set(more))

    return TraceOut(
        direction=direction, lot_id=root_id, lot_number=root_number, nodes=nodes,
        details=details,  # in the order the tree first reaches them
        inspections=_inspections(conn, tenant_id, by_job, by_operation),
        nonconformances=_nonconformances(conn, tenant_id, {d["lot_id"] for d in details}, by_job),
        levels=max((n["level"] for n in nodes), default=0), lots=len(details),
        suppliers=distinct("supplier"), orders=distinct("order_number", used_in),
        machines=distinct("machine_code", used_at),
        operators=sorted({o for d in details for o in d["operators"]}), truncated=truncated)
