"""Items, locations, lots, stock movements, bills of materials and genealogy.

Revision ID: 0018_materials
Revises: 0017_maintenance

Stock is a balance per (item, lot, location) kept beside an append-only movement ledger: the
balance answers "how much is where" in one row, the ledger answers "how did it get there".
A site's root location (kind 'site') carries whether its stock may go negative. Genealogy is
one edge table (`lot_links`: output lot ← input lot) so a trace is one recursive query over two
indexes, not a walk through movements.
"""

import sqlalchemy as sa
from alembic import op

from factoryos.db.migrations.helpers_v1 import create_tenant_table, enable_tenant_rls

revision = "0018_materials"
down_revision = "0017_maintenance"
branch_labels = None
depends_on = None

TABLES = ("inventory_settings", "items", "item_units", "boms", "bom_lines", "locations", "lots", "serials",
          "stock", "lot_loads", "stock_movements", "lot_links")
MOVEMENT_KINDS = ("receipt", "transfer", "issue", "return", "scrap", "adjustment", "production_receipt")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _ts(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _fk(cols: list[str], table: str, ref: list[str], name: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(cols, [f"{table}.{c}" for c in ref], name=name, ondelete=ondelete)


def _tid(table: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint("tenant_id", "id", name=f"uq_{table}_tenant_id")


def upgrade() -> None:
    # One row per company: its lot number pattern and the counter the pattern's {seq} draws from.
    op.create_table(
        "inventory_settings",
        sa.Column("tenant_id", sa.Uuid, sa.ForeignKey("companies.tenant_id", ondelete="RESTRICT"), primary_key=True),
        sa.Column("lot_pattern", sa.String(80), nullable=False, server_default=sa.text("'L{yyyy}{mm}{dd}-{seq:04}'")),
        sa.Column("lot_seq", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    enable_tenant_rls(op, "inventory_settings")

    create_tenant_table(
        op, "items", _id(),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False, server_default=sa.text("'material'")),
        sa.Column("unit", sa.String(20), nullable=False, server_default=sa.text("'pcs'")),
        sa.Column("gtin", sa.String(14)),
        sa.Column("catalog_entry_id", sa.Uuid, sa.ForeignKey("catalog_entries.id", name="fk_items_catalog",
                                                               ondelete="SET NULL")),
        sa.Column("product_id", sa.Uuid),
        sa.Column("has_expiry", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("serialized", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _ts(),
        _fk(["tenant_id", "product_id"], "products", ["tenant_id", "id"], "fk_items_product", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_items_tenant_number"),
        sa.UniqueConstraint("tenant_id", "product_id", name="uq_items_tenant_product"),
        sa.UniqueConstraint("tenant_id", "gtin", name="uq_items_tenant_gtin"),
        _tid("items"),
        sa.CheckConstraint(_in("kind", ("material", "component", "product")), name="ck_items_kind"),
        sa.CheckConstraint("length(btrim(number)) > 0 and length(btrim(name)) > 0", name="ck_items_names"),
        sa.CheckConstraint("gtin is null or gtin ~ '^[0-9]{14}$'", name="ck_items_gtin"),
    )
    # Other units an item is counted in: 1 `unit` = `factor` of the item's base unit.
    create_tenant_table(
        op, "item_units", _id(),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("factor", sa.Numeric(18, 6), nullable=False),
        _fk(["tenant_id", "item_id"], "items", ["tenant_id", "id"], "fk_item_units_item", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "item_id", "unit", name="uq_item_units_unit"),
        sa.CheckConstraint("factor > 0", name="ck_item_units_factor"),
    )
    create_tenant_table(
        op, "boms", _id(),
        sa.Column("product_id", sa.Uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default=sa.text("'draft'")),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("released_by", sa.Uuid),
        _ts(),
        _fk(["tenant_id", "product_id"], "products", ["tenant_id", "id"], "fk_boms_product", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "product_id", "version", name="uq_boms_version"),
        _tid("boms"),
        sa.CheckConstraint(_in("status", ("draft", "released", "obsolete")), name="ck_boms_status"),
        sa.CheckConstraint("version > 0", name="ck_boms_version"),
    )
    create_tenant_table(
        op, "bom_lines", _id(),
        sa.Column("bom_id", sa.Uuid, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 6), nullable=False),
        sa.Column("scrap_percent", sa.Numeric(6, 3), nullable=False, server_default=sa.text("0")),
        _fk(["tenant_id", "bom_id"], "boms", ["tenant_id", "id"], "fk_bom_lines_bom", "CASCADE"),
        _fk(["tenant_id", "item_id"], "items", ["tenant_id", "id"], "fk_bom_lines_item"),
        sa.UniqueConstraint("tenant_id", "bom_id", "item_id", name="uq_bom_lines_item"),
        sa.CheckConstraint("quantity > 0", name="ck_bom_lines_quantity"),
        sa.CheckConstraint("scrap_percent >= 0 and scrap_percent < 100", name="ck_bom_lines_scrap"),
    )
    create_tenant_table(
        op, "locations", _id(),
        sa.Column("site_id", sa.Uuid, nullable=False),
        sa.Column("parent_id", sa.Uuid),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("machine_id", sa.Uuid),
        sa.Column("allow_negative", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _ts(),
        _fk(["tenant_id", "site_id"], "sites", ["tenant_id", "id"], "fk_locations_site", "CASCADE"),
        _fk(["tenant_id", "parent_id"], "locations", ["tenant_id", "id"], "fk_locations_parent"),
        _fk(["tenant_id", "machine_id"], "machines", ["tenant_id", "id"], "fk_locations_machine", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "site_id", "code", name="uq_locations_code"),
        sa.UniqueConstraint("tenant_id", "machine_id", name="uq_locations_machine"),
        _tid("locations"),
        sa.CheckConstraint(_in("kind", ("site", "warehouse", "bin", "line_side")), name="ck_locations_kind"),
        sa.CheckConstraint("(kind = 'site') = (parent_id is null)", name="ck_locations_root"),
        sa.CheckConstraint("(kind = 'line_side') = (machine_id is not null)", name="ck_locations_line_side"),
        sa.CheckConstraint("length(btrim(code)) > 0", name="ck_locations_code"),
    )
    op.execute("create unique index uq_locations_site_root on locations (tenant_id, site_id) where kind = 'site'")
    create_tenant_table(
        op, "lots", _id(),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("origin", sa.String(12), nullable=False),
        sa.Column("supplier", sa.String(200)),
        sa.Column("supplier_lot", sa.String(60)),
        sa.Column("expires_on", sa.Date),
        sa.Column("status", sa.String(12), nullable=False, server_default=sa.text("'available'")),
        sa.Column("status_reason", sa.String(500)),
        sa.Column("quantity", sa.Numeric(18, 6)),  # made or received at creation
        sa.Column("job_id", sa.Uuid),
        sa.Column("operation_id", sa.Uuid),
        sa.Column("machine_id", sa.Uuid),
        sa.Column("created_by", sa.Uuid),
        _ts(),
        _fk(["tenant_id", "item_id"], "items", ["tenant_id", "id"], "fk_lots_item"),
        _fk(["tenant_id", "operation_id"], "order_operations", ["tenant_id", "id"], "fk_lots_operation", "SET NULL"),
        sa.UniqueConstraint("tenant_id", "item_id", "number", name="uq_lots_number"),
        _tid("lots"),
        sa.CheckConstraint(_in("origin", ("generated", "entered", "production")), name="ck_lots_origin"),
        sa.CheckConstraint(_in("status", ("available", "quarantine", "blocked")), name="ck_lots_status"),
        sa.CheckConstraint("length(btrim(number)) > 0", name="ck_lots_number"),
    )
    op.create_index("ix_lots_number", "lots", ["tenant_id", "number"])
    create_tenant_table(
        op, "serials", _id(),
        sa.Column("lot_id", sa.Uuid, nullable=False),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("serial", sa.String(60), nullable=False),
        _ts(),
        _fk(["tenant_id", "lot_id"], "lots", ["tenant_id", "id"], "fk_serials_lot", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "item_id", "serial", name="uq_serials_serial"),
    )
    create_tenant_table(
        op, "stock", _id(),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("lot_id", sa.Uuid),
        sa.Column("location_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 6), nullable=False, server_default=sa.text("0")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        _fk(["tenant_id", "item_id"], "items", ["tenant_id", "id"], "fk_stock_item"),
        _fk(["tenant_id", "lot_id"], "lots", ["tenant_id", "id"], "fk_stock_lot"),
        _fk(["tenant_id", "location_id"], "locations", ["tenant_id", "id"], "fk_stock_location"),
    )
    op.execute("create unique index uq_stock_balance on stock (tenant_id, item_id, lot_id, location_id) "
               "nulls not distinct")
    op.create_index("ix_stock_lot", "stock", ["tenant_id", "lot_id"])
    # A lot loaded on a machine for an operation (scanned): consumption is booked from it.
    create_tenant_table(
        op, "lot_loads", _id(),
        sa.Column("operation_id", sa.Uuid, nullable=False),
        sa.Column("machine_id", sa.Uuid, nullable=False),
        sa.Column("lot_id", sa.Uuid, nullable=False),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("user_id", sa.Uuid),
        _ts("loaded_at"),
        _fk(["tenant_id", "operation_id"], "order_operations", ["tenant_id", "id"], "fk_lot_loads_operation",
            "CASCADE"),
        _fk(["tenant_id", "lot_id"], "lots", ["tenant_id", "id"], "fk_lot_loads_lot"),
    )
    op.create_index("ix_lot_loads_operation", "lot_loads", ["tenant_id", "operation_id"])
    op.create_index("ix_lot_loads_lot", "lot_loads", ["tenant_id", "lot_id"])
    create_tenant_table(
        op, "stock_movements",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("item_id", sa.Uuid, nullable=False),
        sa.Column("lot_id", sa.Uuid),
        sa.Column("from_location_id", sa.Uuid),
        sa.Column("to_location_id", sa.Uuid),
        sa.Column("quantity", sa.Numeric(18, 6), nullable=False),  # in the item's base unit
        sa.Column("entered_quantity", sa.Numeric(18, 6), nullable=False),
        sa.Column("entered_unit", sa.String(20), nullable=False),
        sa.Column("operation_id", sa.Uuid),
        sa.Column("job_id", sa.Uuid),
        sa.Column("machine_id", sa.Uuid),
        sa.Column("reason", sa.String(500)),
        sa.Column("went_negative", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("user_id", sa.Uuid),
        _ts("at"),
        _fk(["tenant_id", "item_id"], "items", ["tenant_id", "id"], "fk_stock_movements_item"),
        _fk(["tenant_id", "lot_id"], "lots", ["tenant_id", "id"], "fk_stock_movements_lot"),
        sa.CheckConstraint(_in("kind", MOVEMENT_KINDS), name="ck_stock_movements_kind"),
        sa.CheckConstraint("quantity <> 0", name="ck_stock_movements_quantity"),
        sa.CheckConstraint("from_location_id is not null or to_location_id is not null",
                           name="ck_stock_movements_where"),
        sa.CheckConstraint("kind <> 'adjustment' or reason is not null", name="ck_stock_movements_reason"),
    )
    op.create_index("ix_stock_movements_lot", "stock_movements", ["tenant_id", "lot_id", "id"])
    op.create_index("ix_stock_movements_operation", "stock_movements", ["tenant_id", "operation_id"])
    # Genealogy: the output lot was made from the input lot (quantity consumed) by an operation.
    create_tenant_table(
        op, "lot_links",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("output_lot_id", sa.Uuid, nullable=False),
        sa.Column("input_lot_id", sa.Uuid, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 6), nullable=False),
        sa.Column("operation_id", sa.Uuid),
        _ts(),
        _fk(["tenant_id", "output_lot_id"], "lots", ["tenant_id", "id"], "fk_lot_links_output", "CASCADE"),
        _fk(["tenant_id", "input_lot_id"], "lots", ["tenant_id", "id"], "fk_lot_links_input", "CASCADE"),
        sa.UniqueConstraint("tenant_id", "output_lot_id", "input_lot_id", name="uq_lot_links_pair"),
        sa.CheckConstraint("output_lot_id <> input_lot_id", name="ck_lot_links_self"),
    )
    op.create_index("ix_lot_links_input", "lot_links", ["tenant_id", "input_lot_id", "output_lot_id"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
