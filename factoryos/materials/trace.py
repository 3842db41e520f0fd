"""Genealogy: every lot that went into a lot (backward), every lot made from it (forward).

One recursive query over `lot_links` (indexed both ways) finds the lots level by level; the
lots' item, supplier, order, machine and the operators who ran or loaded it are joined once
on the result. `union` (not `union all`) keeps a lot reached twice by one path only once.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, text

from factoryos.materials.lots import find_lot
from factoryos.materials.quantities import plain
from factoryos.materials.trace_models import Direction, TraceNode, TraceOut

MAX_NODES = 50_000
MAX_LEVELS = 100

# :edge_from is the column matching the current lot, :edge_to the one found (fixed per direction).
_TRACE = """
with recursive walk(lot_id, via_lot_id, level, quantity) as (
    select cast(:root as uuid), cast(null as uuid), 0, cast(null as numeric)
  union
    select l.{to}, w.lot_id, w.level + 1, l.quantity
    from walk w
    join lot_links l on l.tenant_id = :t and l.{frm} = w.lot_id
    where w.level < :max_levels
), found as materialized (
    select * from walk order by level, lot_id limit :max_nodes
), info as materialized (
    -- each lot once, however many paths reach it
    select lo.id, lo.number, lo.origin, lo.status, lo.supplier, lo.supplier_lot, lo.expires_on, lo.quantity,
           lo.operation_id, i.number as item_number, i.name as item_name, j.job_number, m.code as machine_code
    from (select distinct lot_id from found) d
    join lots lo on lo.tenant_id = :t and lo.id = d.lot_id
    join items i on i.tenant_id = :t and i.id = lo.item_id
    left join jobs j on j.tenant_id = :t and j.id = lo.job_id
    left join machines m on m.tenant_id = :t and m.id = lo.machine_id
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
)
select f.lot_id, f.via_lot_id, f.level, f.quantity,
       i.number as lot_number, i.origin, i.status, i.supplier, i.supplier_lot, i.expires_on,
       i.quantity as lot_quantity, i.item_number, i.item_name, i.job_number as order_number, i.machine_code,
       p.operators
from found f
join info i on i.id = f.lot_id
left join people p on p.lot_id = f.lot_id
order by f.level, i.item_number, i.number
"""
SQL: dict[str, str] = {
    "backward": _TRACE.format(frm="output_lot_id", to="input_lot_id"),
    "forward": _TRACE.format(frm="input_lot_id", to="output_lot_id"),
}


def trace(conn: Connection, tenant_id: UUID, lot: str, direction: Direction) -> TraceOut:
    root = find_lot(conn, tenant_id, lot, field="lot")
    rows = list(conn.execute(text(SQL[direction]), {"t": tenant_id, "root": root.id, "max_levels": MAX_LEVELS,
                                                    "max_nodes": MAX_NODES + 1}).mappings())
    truncated = len(rows) > MAX_NODES
    # Rows come typed from PostgreSQL: constructed, not validated (validation was most of a large trace's time).
    nodes = [TraceNode.model_construct(**(dict(r) | {
        "operators": r["operators"] or [], "quantity": plain(r["quantity"]), "lot_quantity": plain(r["lot_quantity"]),
    })) for r in rows[:MAX_NODES]]

    def distinct(values: list[str | None]) -> list[str]:
        return sorted({v for v in values if v})

    return TraceOut(
        direction=direction, lot_id=root.id, lot_number=root.number, nodes=nodes,
        levels=max((n.level for n in nodes), default=0), lots=len({n.lot_id for n in nodes}),
        suppliers=distinct([n.supplier for n in nodes]), orders=distinct([n.order_number for n in nodes]),
        machines=distinct([n.machine_code for n in nodes]),
        operators=distinct([o for n in nodes for o in n.operators]), truncated=truncated)
