"""Items, units, bills of materials, locations, lots and serials, stock and its ledger, genealogy."""

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Integer, Numeric, String, Table, Uuid, text

from factoryos.schema.base import metadata
from factoryos.schema.columns import id_column, timestamp


def _tenant() -> Column:
    return Column("tenant_id", Uuid, nullable=False)


inventory_settings = Table(
    "inventory_settings",
    metadata,
    Column("tenant_id", Uuid, primary_key=True),
    Column("lot_pattern", String(80), nullable=False, server_default=text("'L{yyyy}{mm}{dd}-{seq:04}'")),
    Column("lot_seq", BigInteger, nullable=False, server_default=text("0")),
)

items = Table(
    "items",
    metadata,
    id_column(),
    _tenant(),
    Column("number", String(60), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(12), nullable=False, server_default=text("'material'")),
    Column("unit", String(20), nullable=False, server_default=text("'pcs'")),
    Column("gtin", String(14)),
    Column("catalog_entry_id", Uuid),
    Column("product_id", Uuid),  # the product this item is, when production makes it
    Column("has_expiry", Boolean, nullable=False, server_default=text("false")),
    Column("serialized", Boolean, nullable=False, server_default=text("false")),
    timestamp("created_at", nullable=False, default=True),
)

item_units = Table(
    "item_units",
    metadata,
    id_column(),
    _tenant(),
    Column("item_id", Uuid, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("factor", Numeric(18, 6), nullable=False),  # 1 unit = factor × the item's base unit
)

boms = Table(
    "boms",
    metadata,
    id_column(),
    _tenant(),
    Column("product_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(10), nullable=False, server_default=text("'draft'")),
    Column("released_at", DateTime(timezone=True)),
    Column("released_by", Uuid),
    timestamp("created_at", nullable=False, default=True),
)

bom_lines = Table(
    "bom_lines",
    metadata,
    id_column(),
    _tenant(),
    Column("bom_id", Uuid, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("quantity", Numeric(18, 6), nullable=False),  # per unit of the product, in the item's base unit
    Column("scrap_percent", Numeric(6, 3), nullable=False, server_default=text("0")),
)

locations = Table(
    "locations",
    metadata,
    id_column(),
    _tenant(),
    Column("site_id", Uuid, nullable=False),
    Column("parent_id", Uuid),
    Column("kind", String(10), nullable=False),
    Column("code", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("machine_id", Uuid),
    Column("allow_negative", Boolean, nullable=False, server_default=text("false")),  # read on the site root
    timestamp("created_at", nullable=False, default=True),
)

lots = Table(
    "lots",
    metadata,
    id_column(),
    _tenant(),
    Column("item_id", Uuid, nullable=False),
    Column("number", String(60), nullable=False),
    Column("origin", String(12), nullable=False),
    Column("supplier", String(200)),
    Column("supplier_lot", String(60)),
    Column("expires_on", Date),
    Column("status", String(12), nullable=False, server_default=text("'available'")),
    Column("status_reason", String(500)),
    Column("quantity", Numeric(18, 6)),
    Column("job_id", Uuid),
    Column("operation_id", Uuid),
    Column("machine_id", Uuid),
    Column("created_by", Uuid),
    timestamp("created_at", nullable=False, default=True),
)

serials = Table(
    "serials",
    metadata,
    id_column(),
    _tenant(),
    Column("lot_id", Uuid, nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("serial", String(60), nullable=False),
    timestamp("created_at", nullable=False, default=True),
)

stock = Table(
    "stock",
    metadata,
    id_column(),
    _tenant(),
    Column("item_id", Uuid, nullable=False),
    Column("lot_id", Uuid),
    Column("location_id", Uuid, nullable=False),
    Column("quantity", Numeric(18, 6), nullable=False, server_default=text("0")),
    timestamp("updated_at", nullable=False, default=True),
)

lot_loads = Table(
    "lot_loads",
    metadata,
    id_column(),
    _tenant(),
    Column("operation_id", Uuid, nullable=False),
    Column("machine_id", Uuid, nullable=False),
    Column("lot_id", Uuid, nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("code", String(200), nullable=False),
    Column("user_id", Uuid),
    timestamp("loaded_at", nullable=False, default=True),
)

stock_movements = Table(
    "stock_movements",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _tenant(),
    Column("kind", String(20), nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("lot_id", Uuid),
    Column("from_location_id", Uuid),
    Column("to_location_id", Uuid),
    Column("quantity", Numeric(18, 6), nullable=False),
    Column("entered_quantity", Numeric(18, 6), nullable=False),
    Column("entered_unit", String(20), nullable=False),
    Column("operation_id", Uuid),
    Column("job_id", Uuid),
    Column("machine_id", Uuid),
    Column("reason", String(500)),
    Column("went_negative", Boolean, nullable=False, server_default=text("false")),
    Column("user_id", Uuid),
    timestamp("at", nullable=False, default=True),
)

lot_links = Table(
    "lot_links",
    metadata,
    Column("id", BigInteger, primary_key=True),
    _tenant(),
    Column("output_lot_id", Uuid, nullable=False),
    Column("input_lot_id", Uuid, nullable=False),
    Column("quantity", Numeric(18, 6), nullable=False),
    Column("operation_id", Uuid),
    timestamp("created_at", nullable=False, default=True),
)
