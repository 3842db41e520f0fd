"""Jobs: manufacturing orders, imported from the ERP or entered here, one number per company."""

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Table, Text, Uuid, func, text

from factoryos.schema.base import metadata

jobs = Table(
    "jobs",
    metadata,
    Column("id", Uuid, primary_key=True, server_default=text("gen_random_uuid()")),
    Column("tenant_id", Uuid, ForeignKey("companies.tenant_id"), nullable=False),
    Column("job_number", String(60), nullable=False),
    Column("product", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("customer", String(200)),
    Column("site_id", Uuid),
    Column("machine_id", Uuid),
    Column("status", String(12), nullable=False, server_default=text("'planned'")),
    Column("product_id", Uuid),
    Column("notes", Text),
    Column("import_id", Uuid),
    Column("created_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
