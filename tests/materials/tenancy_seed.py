"""One row per materials tenant table for the isolation matrix (tests/tenancy_seed.py).

Runs after the execution seeders: products, the order's operation and its machine exist.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text


def _sql(statement: str) -> Callable[[Connection, UUID, str], None]:
    def seed(conn: Connection, t: UUID, tag: str) -> None:
        conn.execute(text(statement), {"t": t, "tag": tag})
    return seed


MATERIALS_SEEDERS: dict[str, Callable[[Connection, UUID, str], None]] = {
    "inventory_settings": _sql("insert into inventory_settings (tenant_id) values (:t)"),
    "items": _sql("insert into items (tenant_id, number, name, unit) values (:t, 'RM-' || :tag, 'Steel ' || :tag, 'kg')"),
    "item_units": _sql("insert into item_units (tenant_id, item_id, unit, factor) "
                       "select :t, id, 't', 1000 from items where tenant_id = :t limit 1"),
    "boms": _sql("insert into boms (tenant_id, product_id, version) select :t, id, 1 from products "
                 "where tenant_id = :t limit 1"),
    "bom_lines": _sql("insert into bom_lines (tenant_id, bom_id, seq, item_id, quantity) "
                      "select :t, b.id, 10, i.id, 2 from boms b, items i where b.tenant_id = :t and i.tenant_id = :t "
                      "limit 1"),
    "locations": _sql("insert into locations (tenant_id, site_id, kind, code, name) "
                      "select :t, id, 'site', code, name from sites where tenant_id = :t limit 1"),
    "lots": _sql("insert into lots (tenant_id, item_id, number, origin, supplier) "
                 "select :t, id, 'L-' || :tag, 'entered', 'Acme' from items where tenant_id = :t limit 1"),
    "serials": _sql("insert into serials (tenant_id, lot_id, item_id, serial) "
                    "select :t, id, item_id, 'SN-' || :tag from lots where tenant_id = :t limit 1"),
    "stock": _sql("insert into stock (tenant_id, item_id, lot_id, location_id, quantity) "
                  "select :t, l.item_id, l.id, c.id, 5 from lots l, locations c where l.tenant_id = :t "
                  "and c.tenant_id = :t limit 1"),
    "lot_loads": _sql("insert into lot_loads (tenant_id, operation_id, machine_id, lot_id, item_id, code) "
                      "select :t, o.id, m.id, l.id, l.item_id, l.number from order_operations o, machines m, lots l "
                      "where o.tenant_id = :t and m.tenant_id = :t and l.tenant_id = :t limit 1"),
    "stock_movements": _sql("insert into stock_movements (tenant_id, kind, item_id, lot_id, to_location_id, quantity, "
                            "entered_quantity, entered_unit) select :t, 'receipt', l.item_id, l.id, c.id, 5, 5, 'kg' "
                            "from lots l, locations c where l.tenant_id = :t and c.tenant_id = :t limit 1"),
    "lot_links": _sql("with made as (insert into lots (tenant_id, item_id, number, origin) "
                      "select :t, id, 'F-' || :tag, 'production' from items where tenant_id = :t limit 1 returning id) "
                      "insert into lot_links (tenant_id, output_lot_id, input_lot_id, quantity) "
                      "select :t, made.id, l.id, 2 from made, lots l where l.tenant_id = :t "
                      "and l.number = 'L-' || :tag"),
}
